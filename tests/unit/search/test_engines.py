import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.search.engines import (
    ENGINES,
    canonical_path,
    engine_of,
    engine_of_normal,
    extract_query,
    is_search_path,
)


@pytest.mark.parametrize(
    ("host", "engine"),
    [
        ("google.com", "google"),
        ("www.google.com", "google"),
        ("www.google.co.uk", "google"),
        ("google.com.vn", "google"),
        ("www.google.com.vn", "google"),
        ("google.pl", "google"),
        ("www.google.de", "google"),
        ("images.google.fr", "google"),
        ("WWW.Google.COM.", "google"),
        ("www.google.com:443", "google"),
        ("bing.com", "bing"),
        ("www.bing.com", "bing"),
        ("cn.bing.com", "bing"),
        ("duckduckgo.com", "duckduckgo"),
        ("html.duckduckgo.com", "duckduckgo"),
        ("lite.duckduckgo.com", "duckduckgo"),
        ("links.duckduckgo.com", "duckduckgo"),
        ("search.yahoo.com", "yahoo"),
        ("uk.search.yahoo.com", "yahoo"),
        ("vn.search.yahoo.com", "yahoo"),
        ("espanol.search.yahoo.com", "yahoo"),
        ("images.search.yahoo.com", "yahoo"),
        ("youtube.com", "youtube"),
        ("www.youtube.com", "youtube"),
        ("m.youtube.com", "youtube"),
        ("music.youtube.com", "youtube"),
        ("youtube.de", "youtube"),
        ("youtube-nocookie.com", "youtube"),
        ("www.youtube-nocookie.com", "youtube"),
        ("youtubei.googleapis.com", "youtube"),
        ("youtube.googleapis.com", "youtube"),
    ],
)
def test_engine_of(host: str, engine: str) -> None:
    assert engine_of(host) == engine


@pytest.mark.parametrize(
    "host",
    [
        "google.evil.com",  # registrable domain evil.com
        "google.com.evil.com",
        "www.google.co.uk.evil.com",
        "evil-google.com",
        "notgoogle.com",
        "google.blogspot.com",  # a private suffix is not a country domain
        "google.github.io",
        "mail.google.com",  # Gmail is not search: never decrypted for safe search
        "docs.google.com",
        "google",  # a bare TLD
        "www.googleapis.com",
        "maps.googleapis.com",
        "bing.net",
        "th.bing.com",
        "duckduckgo.net",
        "yahoo.com",
        "mail.yahoo.com",
        "search.yahoo.co.jp",  # Yahoo! JAPAN is another company
        "youtube.evil.com",
        "youtube-nocookie.net",
        "142.250.74.36",
        "[::1]",
        "not a host",
        "",
    ],
)
def test_not_an_engine(host: str) -> None:
    assert engine_of(host) is None


_SUFFIXES = ["com", "co.uk", "com.vn", "pl", "de", "fr", "com.br", "co.jp", "com.au", "ca"]
_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", fullmatch=True)


@given(st.sampled_from(_SUFFIXES), st.sampled_from(["", "www."]))
def test_google_on_every_country_domain(suffix: str, www: str) -> None:
    assert engine_of(f"{www}google.{suffix}") == "google"


@given(_LABEL, st.sampled_from(["google", "bing", "duckduckgo", "youtube"]))
def test_an_engine_name_under_someone_elses_domain_is_not_the_engine(label: str, name: str) -> None:
    """`google.<x>.com` has the registrable domain `<x>.com`: whoever owns it, not Google."""
    if label in (name, f"{name}-nocookie"):
        return
    assert engine_of(f"{name}.{label}.com") is None
    assert engine_of(f"www.{name}.com.{label}.com") is None


@pytest.mark.parametrize(
    ("engine", "target", "query"),
    [
        ("google", "/search?q=cute+cats&safe=off", "cute cats"),
        ("google", "/search?q=a&q=b", "a b"),  # both copies are checked
        ("google", "/search?q=cats&as_epq=big+dogs", "cats big dogs"),
        ("google", "https://www.google.co.uk/search?q=x", "x"),
        ("google", "/complete/search?q=ca&client=chrome", "ca"),
        ("google", "/SEARCH/?q=x", "x"),
        ("google", "/%73earch?q=x", "x"),
        ("google", "//search?q=x", "x"),
        ("google", "/search?q=caf%C3%A9", "café"),
        ("google", "/search?q=", None),
        ("google", "/search", None),
        ("google", "/url?q=https://example.com", None),  # a result click, not a search
        ("google", "/", None),
        ("bing", "/search?q=hello&form=QBLH", "hello"),
        ("bing", "/images/search?q=dogs", "dogs"),
        ("bing", "/AS/Suggestions?qry=he&cvid=1", "he"),
        ("duckduckgo", "/?q=hello&t=h_", "hello"),
        ("duckduckgo", "/html/?q=hello", "hello"),
        ("duckduckgo", "/d.js?q=hello&vqd=1", "hello"),
        ("duckduckgo", "/i.js?q=hello&o=json", "hello"),
        ("duckduckgo", "/about", None),
        ("yahoo", "/search?p=hello&fr=yfp", "hello"),
        ("yahoo", "/search;_ylt=AwrE;_ylu=Y29s?p=hello", "hello"),
        ("yahoo", "/search/images?p=kittens", "kittens"),
        ("yahoo", "/searchy?p=x", None),
        ("youtube", "/results?search_query=minecraft+build", "minecraft build"),
        ("youtube", "/watch?v=dQw4w9WgXcQ", None),
        ("youtube", "/complete/search?client=youtube&q=mine", "mine"),
    ],
)
def test_extract_query_from_url(engine: str, target: str, query: str | None) -> None:
    assert extract_query(engine, target) == query  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("engine", "target", "body", "ctype", "query"),
    [
        (
            "duckduckgo",
            "/html/",
            b"q=hello+world&b=",
            "application/x-www-form-urlencoded",
            "hello world",
        ),
        ("duckduckgo", "/lite/", b"q=x", "application/x-www-form-urlencoded; charset=UTF-8", "x"),
        (
            "youtube",
            "/youtubei/v1/search?prettyPrint=false",
            b'{"context": {"client": {}}, "query": "funny cats"}',
            "application/json",
            "funny cats",
        ),
        ("youtube", "/youtubei/v1/search", b'{"query": "x"}', "", "x"),  # type not trusted
        ("youtube", "/youtubei/v1/search", b"not json", "application/json", None),
        ("youtube", "/youtubei/v1/search", b'["query"]', "application/json", None),
        ("youtube", "/youtubei/v1/search", b'{"query": 5}', "application/json", None),
        ("youtube", "/youtubei/v1/browse", b'{"query": "x"}', "application/json", None),
        ("google", "/search?q=a", b"q=b", "application/x-www-form-urlencoded", "a b"),
        ("google", "/search?q=a", b"q=b", "text/plain", "a"),
    ],
)
def test_extract_query_from_body(
    engine: str, target: str, body: bytes, ctype: str, query: str | None
) -> None:
    assert extract_query(engine, target, body, ctype) == query  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/Search/?q=x", "/search"),
        ("/search;_ylt=1?p=x", "/search"),
        ("https://duckduckgo.com?q=x", "/"),
        ("http://example.com", "/"),
        ("/a//b#frag", "/a/b"),
        ("", "/"),
    ],
)
def test_canonical_path(target: str, path: str) -> None:
    assert canonical_path(target) == path


@given(st.sampled_from(ENGINES), st.text(max_size=40))
def test_extract_query_never_raises(engine: str, target: str) -> None:
    result = extract_query(engine, target, target.encode(), "application/json")  # type: ignore[arg-type]
    assert result is None or result.strip() == result != ""


def test_is_search_path() -> None:
    assert is_search_path("youtube", "/youtubei/v1/search?key=1")
    assert not is_search_path("youtube", "/youtubei/v1/player")


@pytest.mark.parametrize(
    "host",
    [
        "www.google.com", "google.co.uk", "mail.google.com", "google.evil.com",
        "youtubei.googleapis.com", "m.youtube.com", "www.youtube-nocookie.com", "cn.bing.com",
        "html.duckduckgo.com", "uk.search.yahoo.com", "yahoo.com", "example.com", "10.0.0.1",
        "2001:db8::1", "googlecom", "notgoogle.com",
    ],
)  # fmt: skip
def test_the_normalised_shortcut_names_the_same_engine(host: str) -> None:
    assert engine_of_normal(host) == engine_of(host)
