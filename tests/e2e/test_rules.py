"""Schedules, daily limits, search terms and safe search, through the real proxy.

One proxy (module fixture) over a household whose profiles each exercise one rule, told apart
by source address. It also listens in upstream mode, chained to a capture proxy, to show that
safe search is rewritten before the request leaves (what an upstream sees). The engines' real
names are routed to the local HTTPS origin (`route=`), so a search reaches an origin that
echoes what it received.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from . import logdb
from .h2client import H2Request, exchange
from .harness import E2E, RunningProxy, free_port, wait_until
from .household import Household
from .origins import Origin, start_capture_proxy
from .scenarios import HELP_LINE, assert_block_page, assert_reached_origin, page_words, says

pytestmark = pytest.mark.e2e

ENGINES_ROUTED = (
    "google.com", "google.co.uk", "google.de", "bing.com", "duckduckgo.com", "yahoo.com",
    "youtube.com",
)  # fmt: skip
SOURCES = {
    "night": "127.0.0.1",  # a window active now: everything blocked but its allow
    "quiet": "127.0.0.2",  # a window active now: games blocked
    "day": "127.0.0.3",  # two windows, neither active now
    "gamer": "127.0.0.4",  # limits: games 1m
    "searcher": "127.0.0.5",  # search_terms: [adult, self_harm]
    "safe": "127.0.0.6",  # safe_search: strict
    "plain": "127.0.0.7",  # neither: engines are passed through
}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ADULT_SEARCH = "free porn"
SELF_HARM_SEARCH = "how to hurt myself"
INNOCENT_SEARCH = "kittens playing"


def hhmm(t: datetime) -> str:
    return t.strftime("%H:%M")


def windows_around(now: datetime) -> dict[str, dict[str, Any]]:
    """Windows computed from the clock: active ones cover now ± 2 h on every day; the
    inactive ones start in 3 h, or cover now on days that are neither today nor yesterday
    (a window crossing midnight is in force the morning after its day)."""
    around = {"from": hhmm(now - timedelta(hours=2)), "to": hhmm(now + timedelta(hours=2))}
    not_now = {"from": hhmm(now + timedelta(hours=3)), "to": hhmm(now + timedelta(hours=5))}
    other_days = [DAYS[(now.weekday() + k) % 7] for k in range(1, 6)]  # not today, yesterday
    return {
        "active": {"days": list(DAYS), **around},
        "later": {"days": list(DAYS), **not_now},
        "other_days": {"days": other_days, **around},
    }


def write_rules_household(hh: Household, now: datetime) -> None:
    w = windows_around(now)
    hh.write_settings()
    hh.write_list("games", ["games.test"])
    hh.write_list("adult", ["adult.test"])
    hh.write_list("education", ["khan.test"])
    hh.write_terms("adult", ["porn"])
    hh.write_terms("self_harm", ["how to hurt myself", "allow: help"])

    def profile(pid: str, **extra: Any) -> None:
        hh.write_profile(
            pid, {"name": pid.title(), "devices": [{"address": SOURCES[pid]}], **extra}
        )

    profile(
        "night",
        schedule={"lights-out": {**w["active"], "block": "everything", "allow": ["khan.test"]}},
    )
    profile("quiet", schedule={"no-games": {**w["active"], "block": ["games"]}})
    profile(
        "day",
        schedule={
            "later": {**w["later"], "block": "everything"},
            "weekend": {**w["other_days"], "block": "everything"},
        },
    )
    profile("gamer", limits={"games": "1m"})
    profile("searcher", search_terms=["adult", "self_harm"])
    profile("safe", safe_search="strict")
    profile("plain")
    hh.write_profile("guest", {"name": "Guest"})


@dataclass
class Rules:
    proxy: RunningProxy
    household: Household
    capture: Origin
    upstream_port: int
    started: datetime


@pytest.fixture(scope="module")
def rules(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rules]:
    hh = Household(tmp_path_factory.mktemp("rules-household"))
    started = datetime.now()
    write_rules_household(hh, started)
    capture = start_capture_proxy()
    port, upstream_port = free_port(), free_port()
    modes = [f"regular@{port}", f"upstream:http://127.0.0.1:{capture.port}@{upstream_port}"]
    try:
        with e2e.vaccine(hh, port=port, modes=modes, route=(".test", *ENGINES_ROUTED)) as proxy:
            yield Rules(proxy, hh, capture, upstream_port, started)
    finally:
        capture.close()


def client_of(rules: Rules, profile: str, *, upstream: bool = False) -> Any:
    port = rules.upstream_port if upstream else None
    return rules.proxy.client(source=SOURCES[profile], port=port)


# -- (a) schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "host", "blocked"),
    [
        pytest.param("night", "allowed.test", True, id="active-everything-blocks-any-site"),
        pytest.param("night", "games.test", True, id="active-everything-blocks-a-category"),
        pytest.param("night", "khan.test", False, id="active-window-allow"),
        pytest.param("night", "www.khan.test", False, id="active-window-allow-subdomain"),
        pytest.param("quiet", "games.test", True, id="active-categories-blocks-listed"),
        pytest.param("quiet", "allowed.test", False, id="active-categories-spares-others"),
        pytest.param("day", "allowed.test", False, id="inactive-windows"),
        pytest.param("day", "games.test", False, id="inactive-windows-category"),
    ],
)
def test_schedule_window(rules: Rules, profile: str, host: str, blocked: bool) -> None:
    r = client_of(rules, profile).get(f"http://{host}/page")
    if blocked:
        assert_block_page(r, host)
        everything = profile == "night"
        assert says(r.text, "schedule_everything" if everything else "schedule_categories"), r.text
    else:
        assert_reached_origin(r, host)


def test_schedule_blocks_https_with_the_page(rules: Rules) -> None:
    r = client_of(rules, "night").https("allowed.test:443", path="/page")
    assert r.issuer == "proxy" and r.response is not None, r
    assert_block_page(r.response, "allowed.test")
    assert says(r.response.text, "schedule_everything"), r.response.text


def test_the_quiet_time_page_says_which_window_and_when_it_ends(rules: Rules) -> None:
    ends = windows_around(rules.started)["active"]["to"]
    night = page_words(client_of(rules, "night").get("http://allowed.test/").text)
    assert f"Lights-out: the internet is back at {ends}." in night
    quiet = page_words(client_of(rules, "quiet").get("http://games.test/").text)
    assert f"No-games: sites with games are closed until {ends}." in quiet


@pytest.mark.parametrize(
    ("profile", "url", "action", "detail"),
    [
        pytest.param(
            "night",
            "http://allowed.test/",
            "block",
            "schedule.lights-out: everything",
            id="everything",
        ),  # fmt: skip
        pytest.param(
            "quiet", "http://games.test/", "block", "schedule.no-games: games", id="categories"
        ),  # fmt: skip
        pytest.param("day", "http://allowed.test/", "allow", None, id="inactive"),
    ],
)
def test_explain_names_the_window(
    rules: Rules, profile: str, url: str, action: str, detail: str | None
) -> None:
    hh = rules.household
    done = rules.proxy.e2e.cli(
        hh, "explain", url, "--profile", profile,
        "--policies", str(hh.policies), "--lists", str(hh.lists), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["action"] == action, out
    if detail is None:
        assert out["rule"] != "schedule", out
    else:
        assert (out["rule"], out["detail"]) == ("schedule", detail), out


# -- (b) daily limits ------------------------------------------------------------------------


def test_a_used_up_limit_blocks_with_times_up(rules: Rules) -> None:
    db = rules.household.db
    gamer = client_of(rules, "gamer")
    assert logdb.category_minutes(db, "gamer", "games") == 0
    assert_reached_origin(gamer.get("http://games.test/level-1"), "games.test")
    # The minute just used is counted once the writer has committed it (every 0.5 s).
    wait_until(
        lambda: logdb.category_minutes(db, "gamer", "games") >= 1,
        what="one active minute of games in the log",
    )
    # The proxy's own copy of today's minutes is refreshed just after that commit (it "may
    # lag by a flush", proxy/store/writer.py). A decision sent now is committed after that
    # refresh, so once it is in the log the proxy knows the minute is used. Other sites are
    # not games: still allowed.
    assert_reached_origin(gamer.get("http://allowed.test/"), "allowed.test")
    wait_until(
        lambda: logdb.counts_by_action(db, "gamer").get("allowed", 0) >= 2,
        what="a later decision in the log",
    )
    r = gamer.get("http://games.test/level-2")
    assert_block_page(r, "games.test")
    assert says(r.text, "limits"), r.text
    # Over HTTPS too: the games host, passed through before, is now decrypted for the page.
    tls = gamer.https("www.games.test:443", path="/level-3")
    assert tls.issuer == "proxy" and tls.response is not None, tls
    assert_block_page(tls.response, "games.test")
    assert says(tls.response.text, "limits"), tls.response.text
    wait_until(
        lambda: logdb.rows(
            db, "SELECT 1 FROM decisions WHERE profile = 'gamer' AND rule = 'limits'"
        ),
        what="the limits block in the log",
    )


# -- (c) search terms ------------------------------------------------------------------------

#: engine → (HTTPS target, path with the search in it)
SEARCHES: dict[str, tuple[str, Callable[[str], str]]] = {
    "google": ("www.google.com:443", lambda q: f"/search?q={quote_plus(q)}"),
    "bing": ("www.bing.com:443", lambda q: f"/search?q={quote_plus(q)}"),
    "duckduckgo": ("duckduckgo.com:443", lambda q: f"/?q={quote_plus(q)}"),
    "yahoo": ("search.yahoo.com:443", lambda q: f"/search?p={quote_plus(q)}"),
    "youtube": ("www.youtube.com:443", lambda q: f"/results?search_query={quote_plus(q)}"),
}


@pytest.mark.parametrize("engine", list(SEARCHES))
def test_a_listed_search_is_blocked_an_innocent_one_reaches_the_engine(
    rules: Rules, engine: str
) -> None:
    target, path = SEARCHES[engine]
    searcher = client_of(rules, "searcher")
    blocked = searcher.https(target, path=path(ADULT_SEARCH))
    assert blocked.issuer == "proxy" and blocked.response is not None, blocked
    assert blocked.response.status == 403 and not blocked.response.from_origin, blocked
    assert says(blocked.response.text, "search_terms"), blocked.response.text
    assert "porn" not in blocked.response.text  # the page never repeats the search
    innocent = searcher.https(target, path=path(INNOCENT_SEARCH))
    assert innocent.issuer == "proxy" and innocent.response is not None, innocent
    echo = assert_reached_origin(innocent.response)
    assert echo["path"] == path(INNOCENT_SEARCH)  # untouched: no safe_search in this profile


@pytest.mark.parametrize(
    ("target", "path", "body", "content_type"),
    [
        pytest.param("www.google.co.uk:443", "/search?q=free+porn", b"", "", id="google-country"),
        pytest.param("www.google.de:443", "/search?q=FREE+P0RN", b"", "", id="google-leet-case"),
        pytest.param("html.duckduckgo.com:443", "/html/", b"q=free+porn",
                     "application/x-www-form-urlencoded", id="duckduckgo-html-form-post"),
        pytest.param("www.youtube.com:443", "/youtubei/v1/search", b'{"query": "free porn"}',
                     "application/json", id="youtube-app-json-post"),
        pytest.param("uk.search.yahoo.com:443", "/search;_ylt=x?p=free%20porn", b"", "",
                     id="yahoo-country-matrix-params"),
    ],
)  # fmt: skip
def test_a_listed_search_is_blocked_wherever_the_engine_carries_it(
    rules: Rules, target: str, path: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else None
    r = client_of(rules, "searcher").https(
        target, path=path, method="POST" if body else "GET", headers=headers, body=body
    )
    assert r.issuer == "proxy" and r.response is not None, r
    assert r.response.status == 403 and not r.response.from_origin, r
    assert says(r.response.text, "search_terms"), r.response.text


def test_search_terms_on_http2_streams(rules: Rules) -> None:
    client = client_of(rules, "searcher")
    with client.tunnel("www.google.com:443", alpn=["h2"]) as (tls, issuer):
        assert issuer == "proxy"
        innocent, listed = exchange(
            tls,
            [
                H2Request("www.google.com", "/search?q=kittens+playing"),
                H2Request("www.google.com", "/search?q=free+porn"),
            ],
        )
    assert innocent.response is not None and listed.response is not None, (innocent, listed)
    assert assert_reached_origin(innocent.response)["path"] == "/search?q=kittens+playing"
    assert listed.response.status == 403 and not listed.response.from_origin, listed
    assert says(listed.response.text, "search_terms"), listed.response.text


def test_a_self_harm_search_page_shows_the_help_line(rules: Rules) -> None:
    target, path = SEARCHES["google"]
    r = client_of(rules, "searcher").https(target, path=path(SELF_HARM_SEARCH))
    assert r.response is not None and r.response.status == 403, r
    assert not r.response.from_origin
    assert HELP_LINE in page_words(r.response.text)
    assert says(r.response.text, "search_self_harm"), r.response.text
    page = html.unescape(r.response.text)
    assert SELF_HARM_SEARCH not in page and "myself" not in page  # never the search itself


def test_a_search_asking_for_help_gets_through(rules: Rules) -> None:
    target, path = SEARCHES["google"]
    r = client_of(rules, "searcher").https(target, path=path(SELF_HARM_SEARCH + " help"))
    assert r.response is not None, r
    assert_reached_origin(r.response)


def test_the_log_names_the_category_never_the_words(rules: Rules) -> None:
    db = rules.household.db
    searcher = client_of(rules, "searcher")
    for query in (ADULT_SEARCH, SELF_HARM_SEARCH):
        target, path = SEARCHES["bing"]
        r = searcher.https(target, path=path(query))
        assert r.response is not None and r.response.status == 403, r
    sql = (
        "SELECT DISTINCT site, category FROM decisions "
        "WHERE profile = 'searcher' AND rule = 'search_terms' AND action = 'blocked'"
    )

    def both() -> set[tuple[str, str]]:
        found = {(site, category) for site, category in logdb.rows(db, sql)}
        return found if {c for _, c in found} >= {"adult", "self_harm"} else set()

    found = wait_until(both, what="both search-term blocks in the log")
    assert ("bing.com", "self_harm") in found and ("bing.com", "adult") in found, found
    words = ["porn", "hurt", "myself", "kittens", quote_plus(SELF_HARM_SEARCH)]
    assert logdb.leaks(words, logdb.log_files(db), rules.proxy.process.output()) == []


# -- (d) safe search, seen by the origin -----------------------------------------------------


def query_of(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


def google(echo: dict[str, Any]) -> None:
    q = query_of(echo["path"])
    assert q.get("safe") == ["active"] and q.get("q") == ["cats"], echo["path"]


def bing(echo: dict[str, Any]) -> None:
    assert query_of(echo["path"]).get("adlt") == ["strict"], echo["path"]
    assert "ADLT=STRICT" in echo["headers"].get("cookie", ""), echo["headers"]


def duckduckgo(echo: dict[str, Any]) -> None:
    assert query_of(echo["path"]).get("kp") == ["1"], echo["path"]


def yahoo(echo: dict[str, Any]) -> None:
    assert query_of(echo["path"]).get("vm") == ["r"], echo["path"]


def youtube(echo: dict[str, Any]) -> None:
    assert echo["headers"].get("youtube-restrict") == "Strict", echo["headers"]


#: engine → (target, path a child sends, what the engine must receive)
SAFE: dict[str, tuple[str, str, Callable[[dict[str, Any]], None]]] = {
    "google": ("www.google.com:443", "/search?q=cats&safe=off", google),
    "bing": ("www.bing.com:443", "/search?q=cats&adlt=off", bing),
    "duckduckgo": ("duckduckgo.com:443", "/?q=cats&kp=-2", duckduckgo),
    "yahoo": ("search.yahoo.com:443", "/search?p=cats", yahoo),
    "youtube": ("www.youtube.com:443", "/results?search_query=cats", youtube),
}


@pytest.mark.parametrize("engine", list(SAFE))
def test_safe_search_is_forced_at_the_engine(rules: Rules, engine: str) -> None:
    target, path, check = SAFE[engine]
    r = client_of(rules, "safe").https(target, path=path)
    assert r.issuer == "proxy" and r.response is not None, r
    check(assert_reached_origin(r.response))


def test_safe_search_on_a_country_domain(rules: Rules) -> None:
    r = client_of(rules, "safe").https("www.google.de:443", path="/search?q=cats")
    assert r.issuer == "proxy" and r.response is not None, r
    google(assert_reached_origin(r.response))


@pytest.mark.parametrize("engine", ["google", "youtube"])
def test_safe_search_on_http2_streams(rules: Rules, engine: str) -> None:
    target, path, check = SAFE[engine]
    client = client_of(rules, "safe")
    with client.tunnel(target, alpn=["h2"]) as (tls, issuer):
        assert issuer == "proxy"
        [result] = exchange(tls, [H2Request(target.removesuffix(":443"), path)])
    assert result.response is not None, result
    check(assert_reached_origin(result.response))


@pytest.mark.parametrize("engine", list(SAFE))
def test_without_safe_search_the_engine_is_passed_through_untouched(
    rules: Rules, engine: str
) -> None:
    target, path, check = SAFE[engine]
    r = client_of(rules, "plain").https(target, path=path)
    assert r.issuer == "origin" and r.response is not None, r
    echo = assert_reached_origin(r.response)
    assert echo["path"] == path
    assert "youtube-restrict" not in echo["headers"]
    with pytest.raises(AssertionError):
        check(echo)


# -- (e) safe search seen by an upstream proxy ----------------------------------------------


@pytest.mark.parametrize("engine", list(SAFE))
def test_safe_search_is_rewritten_before_an_upstream_proxy(rules: Rules, engine: str) -> None:
    target, path, check = SAFE[engine]
    url = f"http://{target.removesuffix(':443')}{path}"
    r = client_of(rules, "safe", upstream=True).get(url)
    assert r.status == 200 and r.headers.get("x-e2e-origin") == "capture", r
    echo = r.json()
    assert echo["path"].startswith(url.split("?", 1)[0]), echo  # absolute form: a proxy hop
    check(echo)


def test_a_blocked_request_never_reaches_the_upstream_proxy(rules: Rules) -> None:
    r = client_of(rules, "night", upstream=True).get("http://allowed.test/secret-upstream")
    assert_block_page(r, "allowed.test")
    assert not any("secret-upstream" in e["path"] for e in rules.capture.seen)
