"""The decision log, written by the real proxy and read back as a parent's tools read it.

One proxy run (module fixture) carries a known mix of traffic from four profiles, then stops
with SIGTERM (which flushes the log). The tests then check what was recorded: the counts per
action equal what was sent; no path, query, header, body, search word or password reached any
file or the console; `vaccine report --json` tells a parent the right story and no URL. A
second pair of runs kills the proxy with SIGKILL under load and starts it again on the same
file (PRODUCT.md, "What is recorded"; docs/report-json.md).
"""

from __future__ import annotations

import http.client
import json
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import logdb
from .client import Client
from .harness import E2E, READY, RunningProxy, wait_until
from .household import Household
from .scenarios import assert_block_page, assert_reached_origin

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:10]
#: A marker in every path and query sent: none may reach the log, the report or the console.
PATH_MARK = f"pathmark{RUN}"
QUERY_MARK = f"querymark{RUN}"
LOGIN_USER = "diary-tablet"

SOURCES = {
    "counted": "127.0.0.1",  # CA installed, inspect: needed, safe search + search terms
    "noca": "127.0.0.2",  # ca_installed: false: blocked at CONNECT / ClientHello
    "private": "127.0.0.3",  # parents_see: categories
    "secret": "127.0.0.6",  # the privacy traffic (also by proxy login)
}


def token(name: str) -> str:
    """A unique, greppable secret; nothing else in the run can contain it by chance."""
    return f"tok{name}{uuid.uuid4().hex}"


SECRETS = {
    name: token(name)
    for name in (
        "httppath", "httpquery", "httpcookie", "httpauth", "httpbody",
        "tlspath", "tlsquery", "tlscookie", "tlsauth", "tlsbody",
        "searchquery", "searchcookie", "searchauth", "searchbody",
        "blockedsearch", "blockedpath", "loginpassword", "wrongpassword",
    )
}  # fmt: skip


def write_log_household(hh: Household) -> None:
    hh.write_settings(proxy_auth=str(hh.htpasswd))
    hh.write_logins({LOGIN_USER: SECRETS["loginpassword"]})
    hh.write_list("adult", ["adult.test"])
    hh.write_list("social_networks", ["social.test"])
    hh.write_terms("adult", ["porn"])
    hh.write_profile(
        "counted",
        {
            "name": "Counted",
            "devices": [{"address": SOURCES["counted"]}],
            "block": {"categories": ["adult"], "domains": ["blocked.test"]},
            "safe_search": "strict",
            "search_terms": ["adult"],
        },
    )
    hh.write_profile(
        "noca",
        {
            "name": "No CA",
            "devices": [{"address": SOURCES["noca"]}],
            "block": {"domains": ["blocked.test"]},
            "ca_installed": False,
        },
    )
    hh.write_profile(
        "private",
        {
            "name": "Private",
            "devices": [{"address": SOURCES["private"]}],
            "block": {"categories": ["adult"]},
            "parents_see": "categories",
        },
    )
    hh.write_profile(
        "secret",
        {
            "name": "Secret",
            "devices": [{"user": LOGIN_USER}, {"address": SOURCES["secret"]}],
            "block": {"categories": ["adult"], "domains": ["blocked.test"]},
            "safe_search": "strict",
            "search_terms": ["adult"],
            "inspect": "everything",
        },
    )
    hh.write_profile("guest", {"name": "Guest"})


# -- what is sent, and what each sending must record -----------------------------------------

#: One exchange through the proxy from a profile's client, checked as it happens.
Exchange = Callable[[Client], None]


def over_http(url: str, *, status: int, method: str = "GET", body: bytes = b"") -> Exchange:
    def do(client: Client) -> None:
        r = client.get(url, method=method, body=body)
        if status == 200:
            assert_reached_origin(r)
        else:
            assert r.status == status and not r.from_origin, r

    return do


def over_tls(target: str, path: str, *, issuer: str, status: int) -> Exchange:
    def do(client: Client) -> None:
        r = client.https(target, path=path)
        assert r.issuer == issuer and r.response is not None, r
        if status == 200:
            assert_reached_origin(r.response)
        else:
            assert r.response.status == status and not r.response.from_origin, r

    return do


def refused_at_connect(target: str, sni: str | None = None) -> Exchange:
    def do(client: Client) -> None:
        r = client.https(target, sni=sni)
        assert r.issuer is None and (r.response is None or not r.response.from_origin), r

    return do


def p(mark: str = "") -> str:
    return f"/{PATH_MARK}/{mark}?q={QUERY_MARK}"


GOOGLE = "www.google.com:443"
COUNTED_TRAFFIC = [
    ("allowed", over_http(f"http://allowed.test{p('a')}", status=200), 3),
    ("allowed", over_http(f"http://allowed.test{p()}", status=200, method="POST", body=b"x"), 1),
    ("blocked", over_http(f"http://blocked.test{p('b')}", status=403), 2),
    ("blocked", over_http(f"http://adult.test{p('c')}", status=403), 1),
    ("blocked", over_tls("blocked.test:443", p("d"), issuer="proxy", status=403), 1),
    ("blocked", over_tls("adult.test:443", p("e"), issuer="proxy", status=403), 1),
    ("passed-through", over_tls("allowed.test:443", p("f"), issuer="origin", status=200), 2),
    # A search engine is decrypted for this profile: a search is rewritten, a map is not.
    ("rewritten", over_tls(GOOGLE, f"/search?q=cats+{QUERY_MARK}", issuer="proxy", status=200), 2),
    ("allowed", over_tls(GOOGLE, f"/maps/{PATH_MARK}", issuer="proxy", status=200), 1),
    ("blocked", over_tls(GOOGLE, f"/search?q=porn+{QUERY_MARK}", issuer="proxy", status=403), 1),
]
NOCA_TRAFFIC = [
    ("blocked", refused_at_connect("blocked.test:443"), 1),
    ("blocked", refused_at_connect("allowed.test:443", sni="blocked.test"), 1),
    ("passed-through", over_tls("allowed.test:443", p("g"), issuer="origin", status=200), 1),
    ("blocked", over_http(f"http://blocked.test{p('h')}", status=403), 1),
    ("allowed", over_http(f"http://allowed.test{p('i')}", status=200), 1),
    # A sub-domain: the log keeps the registrable domain (allowed.test), see the test below.
    ("allowed", over_http(f"http://www.sub.allowed.test{p('n')}", status=200), 1),
]
PRIVATE_TRAFFIC = [
    ("allowed", over_http(f"http://allowed.test{p('j')}", status=200), 2),
    ("blocked", over_http(f"http://www.adult.test{p('k')}", status=403), 1),
    ("passed-through", over_tls("social.test:443", p("l"), issuer="origin", status=200), 1),
]
TRAFFIC = {"counted": COUNTED_TRAFFIC, "noca": NOCA_TRAFFIC, "private": PRIVATE_TRAFFIC}
SITES_SENT_BY_PRIVATE = ["allowed.test", "adult.test", "social.test"]


def send_secrets(proxy: RunningProxy) -> None:
    """Every place a secret can ride: path, query, Cookie, Authorization, body, login."""
    s = SECRETS
    login = proxy.client(source=SOURCES["secret"], auth=(LOGIN_USER, s["loginpassword"]))
    assert_reached_origin(
        login.get(
            f"http://allowed.test/{s['httppath']}?q={s['httpquery']}",
            method="POST",
            headers={
                "Cookie": f"sid={s['httpcookie']}",
                "Authorization": f"Bearer {s['httpauth']}",
            },
            body=f"diary={s['httpbody']}".encode(),
        )
    )
    inside = login.https(
        "allowed.test:443",
        path=f"/{s['tlspath']}?q={s['tlsquery']}",
        method="POST",
        headers={"Cookie": f"sid={s['tlscookie']}", "Authorization": f"Basic {s['tlsauth']}"},
        body=f"diary={s['tlsbody']}".encode(),
    )
    assert inside.issuer == "proxy" and inside.response is not None, inside
    assert_reached_origin(inside.response)
    search = login.https(
        "www.google.com:443",
        path=f"/search?q=homework+{s['searchquery']}",
        method="POST",
        headers={
            "Cookie": f"NID={s['searchcookie']}",
            "Authorization": f"Bearer {s['searchauth']}",
        },
        body=f"q={s['searchbody']}".encode(),
    )
    assert search.issuer == "proxy" and search.response is not None, search
    echo = assert_reached_origin(search.response)
    assert "safe=active" in echo["path"], echo  # decrypted and rewritten: it was looked at
    blocked = proxy.client(source=SOURCES["secret"]).https(
        "www.google.com:443", path=f"/search?q=porn+{s['blockedsearch']}"
    )
    assert blocked.response is not None and blocked.response.status == 403, blocked
    assert blocked.response is not None and s["blockedsearch"] not in blocked.response.text
    page = proxy.client(source=SOURCES["secret"]).get(f"http://blocked.test/{s['blockedpath']}")
    assert_block_page(page, "blocked.test")
    assert s["blockedpath"] not in page.text
    wrong = proxy.client(source=SOURCES["secret"], auth=(LOGIN_USER, s["wrongpassword"]))
    refused = wrong.get("http://allowed.test/")
    assert refused.status == 407, refused


ALL_SECRETS = [*SECRETS.values(), PATH_MARK, QUERY_MARK]
#: what send_secrets must record for the profile `secret`
SECRET_RECORDS = {"allowed": 2, "rewritten": 1, "blocked": 2}
SECRET_DECISIONS = sum(SECRET_RECORDS.values())


@dataclass
class LoggedRun:
    household: Household
    output: str
    expected: dict[str, Counter[str]] = field(default_factory=dict)
    leaks_while_running: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def logged(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> LoggedRun:
    hh = Household(tmp_path_factory.mktemp("log-household"))
    write_log_household(hh)
    run = LoggedRun(hh, "")
    with e2e.vaccine(hh, route=(".test", "google.com")) as proxy:
        for profile, sends in TRAFFIC.items():
            client = proxy.client(source=SOURCES[profile])
            expected: Counter[str] = Counter()
            for action, do, times in sends:
                for _ in range(times):
                    do(client)
                expected[action] += times
            run.expected[profile] = expected
        # A refused login is not a decision: nothing is recorded for it.
        bad = proxy.client(source=SOURCES["counted"], auth=(LOGIN_USER, "not-the-password"))
        assert bad.get(f"http://allowed.test{p('m')}").status == 407
        send_secrets(proxy)
        # While it runs, the WAL holds every recent page; a clean stop folds it into the file
        # and deletes it. So the WAL is searched now too, once the secret traffic is in it.
        wait_until(
            lambda: logdb.total(hh.db, "secret") == SECRET_DECISIONS,
            what="the secret traffic in the log",
        )
        running = logdb.files_under(hh.root)
        assert Path(f"{hh.db}-wal") in running, running
        run.leaks_while_running = logdb.leaks(ALL_SECRETS, running)
        process = proxy.process
    run.output = process.output()
    return run


# -- (a) counts --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", list(TRAFFIC))
def test_recorded_counts_equal_what_was_sent(logged: LoggedRun, profile: str) -> None:
    recorded = logdb.counts_by_action(logged.household.db, profile)
    assert recorded == dict(logged.expected[profile])


def test_the_daily_totals_agree_with_the_minutes(logged: LoggedRun) -> None:
    db = logged.household.db
    minutes = logdb.rows(
        db, "SELECT profile, action, sum(count) FROM decisions GROUP BY 1, 2 ORDER BY 1, 2"
    )
    days = logdb.rows(
        db, "SELECT profile, action, sum(count) FROM daily_totals GROUP BY 1, 2 ORDER BY 1, 2"
    )
    assert minutes and minutes == days


def test_a_record_holds_only_the_site_never_the_host_or_url(logged: LoggedRun) -> None:
    sites = logdb.rows(
        logged.household.db, "SELECT DISTINCT site FROM decisions WHERE profile = 'counted'"
    )
    assert {s for (s,) in sites} == {"allowed.test", "blocked.test", "adult.test", "google.com"}


def test_a_sub_domain_under_an_unlisted_suffix_is_recorded_as_its_registrable_domain(
    logged: LoggedRun,
) -> None:
    sites = logdb.rows(
        logged.household.db, "SELECT DISTINCT site FROM decisions WHERE profile = 'noca'"
    )
    assert {s for (s,) in sites} == {"allowed.test", "blocked.test"}


def test_parents_see_categories_records_no_site(logged: LoggedRun) -> None:
    sites = logdb.rows(
        logged.household.db, "SELECT DISTINCT site FROM decisions WHERE profile = 'private'"
    )
    assert sites == [("",)]
    names = logdb.rows(
        logged.household.db,
        "SELECT DISTINCT name FROM activity WHERE profile = 'private' AND kind = 'site'",
    )
    assert names == []


# -- (b) privacy -------------------------------------------------------------------------------


def test_no_secret_reaches_any_file_or_the_console(logged: LoggedRun, e2e: E2E) -> None:
    hh = logged.household
    assert logdb.log_files(hh.db), "no decision log was written"
    files = logdb.files_under(hh.root, e2e.confdir)
    assert hh.db in files
    # The scan does see what is in these files (the login name is in users.htpasswd).
    assert logdb.leaks([LOGIN_USER], files)
    assert logged.leaks_while_running == []
    assert logdb.leaks(ALL_SECRETS, files, logged.output) == []


def test_the_secret_traffic_was_recorded_without_its_secrets(logged: LoggedRun) -> None:
    """The privacy test is only worth something if that traffic did reach the log."""
    recorded = logdb.counts_by_action(logged.household.db, "secret")
    assert recorded == SECRET_RECORDS, recorded


# -- (d) the report ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(logged: LoggedRun, e2e: E2E) -> tuple[dict[str, Any], str]:
    hh = logged.household
    args = ["--db", str(hh.db), "--policies", str(hh.policies), "--days", "1"]
    as_json = e2e.cli(hh, "report", "--json", *args)
    assert as_json.returncode == 0, as_json.stderr
    as_text = e2e.cli(hh, "report", *args)
    assert as_text.returncode == 0, as_text.stderr
    return json.loads(as_json.stdout), as_json.stdout + as_text.stdout


def profile_of(doc: dict[str, Any], profile_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in doc["profiles"] if p["id"] == profile_id]
    assert len(found) == 1, doc["profiles"]
    return found[0]


def test_report_blocked_attempts_by_category_and_site(report: tuple[dict[str, Any], str]) -> None:
    counted = profile_of(report[0], "counted")
    blocked = counted["blocked"]
    assert blocked["total"] == 6
    by_category = {c["category"]: c["count"] for c in blocked["by_category"]}
    assert by_category == {"adult": 3, None: 3}  # adult.test ×2 and a search; blocked.test ×3
    sites = {s["site"]: s["count"] for s in blocked["top_sites"]}
    assert sites == {"blocked.test": 3, "adult.test": 2, "google.com": 1}


def test_report_top_sites_and_searches_made_safe(report: tuple[dict[str, Any], str]) -> None:
    counted = profile_of(report[0], "counted")
    requests = {s["site"]: s["requests"] for s in counted["top_sites"]}
    # allowed.test: 3 GET + 1 POST + 2 connections passed through; google.com: 2 + 1 map.
    assert requests == {"allowed.test": 6, "google.com": 3}
    assert counted["rewritten_searches"] == {
        "total": 2,
        "by_site": [{"site": "google.com", "count": 2}],
    }
    assert counted["minutes_online"] >= 1


def test_report_shows_no_path_or_query(report: tuple[dict[str, Any], str]) -> None:
    output = report[1]
    for secret in [PATH_MARK, QUERY_MARK, "cats", "porn", "maps", *SECRETS.values()]:
        assert secret not in output


def test_report_of_a_categories_only_profile_names_no_site(
    report: tuple[dict[str, Any], str],
) -> None:
    private = profile_of(report[0], "private")
    assert private["sites_visible"] is False
    assert private["top_sites"] == [] and private["blocked"]["top_sites"] == []
    assert private["rewritten_searches"]["by_site"] == []
    assert {c["category"]: c["count"] for c in private["blocked"]["by_category"]} == {"adult": 1}
    shown = json.dumps(private)
    for site in SITES_SENT_BY_PRIVATE:
        assert site not in shown and site.split(".")[0] + "." not in shown


# -- (c) SIGKILL under load, then a restart on the same file ---------------------------------


class Load(threading.Thread):
    """Sends allowed requests back to back until stopped or the proxy goes away."""

    def __init__(self, client: Client):
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.started = 0
        self.answered = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            self.started += 1
            try:
                r = self.client.get(f"http://allowed.test{p('load')}")
            except (OSError, http.client.HTTPException):
                return  # the proxy was killed under us: what this load is for
            except BaseException as e:
                self.error = e
                return
            if r.status != 200:
                self.error = AssertionError(f"unexpected answer under load: {r}")
                return
            self.answered += 1


def test_sigkill_under_load_leaves_a_whole_log_and_a_restart_appends(
    e2e: E2E, tmp_path: Path
) -> None:
    hh = Household(tmp_path)
    hh.write_settings()
    hh.write_profile("kid", {"name": "Kid", "devices": [{"address": "127.0.0.1"}]})
    hh.write_profile("guest", {"name": "Guest"})
    first = 10
    process, port = e2e.spawn_vaccine(hh)
    load = Load(Client(port, e2e.issuers))
    try:
        process.wait_for(READY)
        for _ in range(first):
            assert_reached_origin(load.client.get(f"http://allowed.test{p('before')}"))
        # Everything answered so far is committed within a flush interval or two.
        wait_until(lambda: logdb.total(hh.db, "kid") == first, what=f"{first} decisions in the log")
        load.start()

        def busy() -> int:
            """The count committed while the load goes on, once the writer has moved."""
            n = logdb.total(hh.db, "kid")
            return n if n > first and load.answered >= 20 else 0

        seen = wait_until(busy, what="the log growing under load")
    finally:
        code = process.stop(signal.SIGKILL)
        load.stop.set()
        if load.is_alive():
            load.join(10)
    assert code == -signal.SIGKILL, process.output()
    assert load.error is None, load.error
    assert logdb.integrity(hh.db) == "ok"
    after_kill = logdb.total(hh.db, "kid")
    # What was committed before the kill survives; nothing is invented.
    assert seen <= after_kill <= first + load.started
    assert set(logdb.counts_by_action(hh.db, "kid")) == {"allowed"}

    with e2e.vaccine(hh) as proxy:
        for _ in range(5):
            assert_reached_origin(proxy.client().get(f"http://allowed.test{p('after')}"))
    assert logdb.integrity(hh.db) == "ok"
    assert logdb.total(hh.db, "kid") == after_kill + 5
