import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmproxy.http import Headers
from mitmproxy.test import tutils

from vaccine.proxy.search.safesearch import (
    NO_REWRITE,
    Rewrite,
    apply_rewrite,
    safe_dns_host,
    safe_search_rewrite,
    set_field,
)


def _plain(rw: Rewrite) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    return dict(rw.set_query), dict(rw.set_headers), dict(rw.set_cookies)


@pytest.mark.parametrize(
    ("engine", "target", "query", "headers", "cookies"),
    [
        ("google", "/search?q=cats", {"safe": "active", "ssui": "on"}, {}, {}),
        ("google", "/search?q=cats&safe=off", {"safe": "active", "ssui": "on"}, {}, {}),
        ("google", "/complete/search?q=ca", {"safe": "active", "ssui": "on"}, {}, {}),
        ("google", "/maps", {}, {}, {}),  # not a search: left alone
        ("bing", "/search?q=cats", {"adlt": "strict"}, {}, {"SRCHHPGUSR": "ADLT=STRICT"}),
        ("bing", "/images/search?q=x", {"adlt": "strict"}, {}, {"SRCHHPGUSR": "ADLT=STRICT"}),
        ("bing", "/rewardsapp/flyout", {}, {}, {"SRCHHPGUSR": "ADLT=STRICT"}),
        ("duckduckgo", "/?q=cats", {"kp": "1"}, {}, {"p": "1"}),
        ("duckduckgo", "/html/", {"kp": "1"}, {}, {"p": "1"}),
        ("duckduckgo", "/i.js?q=cats&o=json", {"kp": "1", "p": "1"}, {}, {"p": "1"}),
        ("duckduckgo", "/settings", {}, {}, {"p": "1"}),
        ("yahoo", "/search?p=cats", {"vm": "r"}, {}, {"sB": "v=1&vm=r"}),
        ("yahoo", "/search/images?p=cats", {"vm": "r"}, {}, {"sB": "v=1&vm=r"}),
        ("youtube", "/results?search_query=x", {}, {"youtube-restrict": "Strict"}, {}),
        ("youtube", "/watch?v=abc", {}, {"youtube-restrict": "Strict"}, {}),
        ("youtube", "/youtubei/v1/player", {}, {"youtube-restrict": "Strict"}, {}),
    ],
)
def test_what_each_engine_gets(
    engine: str,
    target: str,
    query: dict[str, str],
    headers: dict[str, str],
    cookies: dict[str, str],
) -> None:
    rw = safe_search_rewrite(engine, "GET", target)  # type: ignore[arg-type]
    assert _plain(rw) == (query, headers, cookies)


def test_no_engine_and_connect_get_nothing() -> None:
    assert safe_search_rewrite(None, "GET", "/search?q=x") is NO_REWRITE
    assert safe_search_rewrite("youtube", "CONNECT", "") is NO_REWRITE
    assert not NO_REWRITE


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (None, "ADLT=STRICT"),
        ("", "ADLT=STRICT"),
        ("SRCHLANG=pl&ADLT=OFF&CW=800", "SRCHLANG=pl&ADLT=STRICT&CW=800"),
        ("SRCHLANG=pl&CW=800", "SRCHLANG=pl&CW=800&ADLT=STRICT"),
        ("adlt=off&X=1&ADLT=DEMOTE", "ADLT=STRICT&X=1"),  # no second copy survives
    ],
)
def test_bing_cookie_keeps_other_fields(cookie: str | None, expected: str) -> None:
    assert set_field(cookie, "ADLT", "STRICT") == expected


def test_yahoo_cookie_keeps_other_fields() -> None:
    rw = safe_search_rewrite("yahoo", "GET", "/search?p=x", cookies={"sB": "v=1&vm=p&vl=lang_pl"})
    assert rw.set_cookies["sB"] == "v=1&vm=r&vl=lang_pl"


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": "a=1; SRCHHPGUSR=SRCHLANG=pl&ADLT=OFF"},
        {"cookie": "SRCHHPGUSR=SRCHLANG=pl&ADLT=OFF; b=2"},
    ],
)
def test_cookies_are_read_from_the_header_when_not_given(headers: dict[str, str]) -> None:
    rw = safe_search_rewrite("bing", "GET", "/", headers=headers)
    assert rw.set_cookies["SRCHHPGUSR"] == "SRCHLANG=pl&ADLT=STRICT"


def test_apply_rewrite_to_a_mitmproxy_request() -> None:
    req = tutils.treq(
        host="www.bing.com",
        path=b"/search?q=a+b&adlt=off&adlt=moderate",
        headers=Headers(cookie="SRCHHPGUSR=SRCHLANG=pl&ADLT=OFF; other=1"),
    )
    rw = safe_search_rewrite("bing", req.method, req.path, cookies=req.cookies)
    assert apply_rewrite(req, rw)
    assert req.query.get_all("adlt") == ["strict"]
    assert req.query["q"] == "a b"
    assert req.cookies["SRCHHPGUSR"] == "SRCHLANG=pl&ADLT=STRICT"
    assert req.cookies["other"] == "1"
    # Applying it again changes nothing: the request is already strict.
    again = safe_search_rewrite("bing", req.method, req.path, cookies=req.cookies)
    assert not apply_rewrite(req, again)


def test_apply_youtube_header_replaces_the_childs() -> None:
    req = tutils.treq(
        host="www.youtube.com",
        path=b"/results?search_query=x",
        headers=Headers(**{"YouTube-Restrict": "Off"}),
    )
    assert apply_rewrite(req, safe_search_rewrite("youtube", "GET", req.path))
    assert req.headers.get_all("youtube-restrict") == ["Strict"]


def test_apply_google_query() -> None:
    req = tutils.treq(host="www.google.pl", path=b"/search?q=kot&safe=off", headers=Headers())
    assert apply_rewrite(req, safe_search_rewrite("google", "GET", req.path))
    assert req.query.get_all("safe") == ["active"]
    assert req.query["ssui"] == "on"
    assert req.query["q"] == "kot"


def test_apply_duckduckgo_cookie_when_the_request_has_none() -> None:
    req = tutils.treq(host="duckduckgo.com", path=b"/?q=x", headers=Headers())
    assert apply_rewrite(req, safe_search_rewrite("duckduckgo", "GET", req.path))
    assert req.cookies["p"] == "1"
    assert req.query["kp"] == "1"


@given(st.text(max_size=60), st.sampled_from(["ADLT", "vm"]), st.sampled_from(["STRICT", "r"]))
def test_set_field_is_idempotent_and_exclusive(cookie: str, key: str, value: str) -> None:
    once = set_field(cookie, key, value)
    assert set_field(once, key, value) == once
    keys = [f.split("=", 1)[0].strip().lower() for f in once.split("&")]
    assert keys.count(key.lower()) == 1
    assert f"{key}={value}" in once.split("&")


@pytest.mark.parametrize(
    ("host", "safe"),
    [
        ("www.google.com", "forcesafesearch.google.com"),
        ("google.com", "forcesafesearch.google.com"),
        ("www.google.co.uk", "forcesafesearch.google.com"),
        ("www.google.com.vn", "forcesafesearch.google.com"),
        ("google.pl", "forcesafesearch.google.com"),
        ("www.bing.com", "strict.bing.com"),
        ("bing.com", "strict.bing.com"),
        ("duckduckgo.com", "safe.duckduckgo.com"),
        ("www.duckduckgo.com", "safe.duckduckgo.com"),
        ("www.youtube.com", "restrict.youtube.com"),
        ("m.youtube.com", "restrict.youtube.com"),
        ("youtubei.googleapis.com", "restrict.youtube.com"),
        ("www.youtube-nocookie.com", "restrict.youtube.com"),
        # other names of an engine, the safe hosts themselves, look-alikes, Yahoo
        ("mail.google.com", None),
        ("images.google.com", None),
        ("forcesafesearch.google.com", None),
        ("strict.bing.com", None),
        ("restrict.youtube.com", None),
        ("music.youtube.com", None),
        ("google.evil.com", None),
        ("www.google.blogspot.com", None),
        ("search.yahoo.com", None),
        ("example.com", None),
    ],
)
def test_the_safe_host_each_engine_name_is_answered_with_in_dns(
    host: str, safe: str | None
) -> None:
    assert safe_dns_host(host) == safe
