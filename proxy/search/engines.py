"""Which search engine a host is, and where a request to it carries the search text.

An engine is recognised by its registrable domain: the label just left of the public suffix
must be the engine's, and what is right of it must be an ICANN public suffix in tldextract's
bundled snapshot (never fetched). So `www.google.co.uk`, `google.com.vn` and `google.pl` are
Google, while `google.evil.com` (registrable `evil.com`), `google.com.evil.com` and
`google.blogspot.com` (blogspot.com is a *private* suffix, which we do not honour) are not.
`google.<any ICANN suffix>` is accepted without a hand list of Google's country domains; the
cost is that a `google.<tld>` Google does not own would be treated as Google too — rewriting
its search URLs and checking its queries, nothing worse.

Only the host names that serve search are an engine (`mail.google.com` is not): being an
engine is what makes a connection worth decrypting when a profile asks for safe search or
search terms, and every other host keeps its privacy.

Not covered, on purpose or for lack of a stable contract: Yahoo's suggestion endpoint
(`/sugg/…`), Google's `suggestqueries.google.com` / `clients1.google.com` (Chrome's own
suggestions), DuckDuckGo's `duck.com` (a redirect) and Yahoo! JAPAN (another company).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from vaccine.proxy.hosts import BadHost, is_ip, normalise_host, public_suffix, registrable_domain

Engine = Literal["google", "bing", "duckduckgo", "yahoo", "youtube"]
ENGINES: tuple[Engine, ...] = ("google", "bing", "duckduckgo", "yahoo", "youtube")

# YouTube's apps talk to these Google API hosts; Google lists them among the hosts that honour
# the YouTube-Restrict header (support.google.com/a/answer/6214622).
_EXACT: Mapping[str, Engine] = {
    "youtubei.googleapis.com": "youtube",
    "youtube.googleapis.com": "youtube",
}


#: the label left of the public suffix that each engine's names have (see engine_of)
_LABELS = frozenset({"google", "youtube", "youtube-nocookie", "bing", "duckduckgo", "yahoo"})


@functools.lru_cache(maxsize=4096)
def engine_of(host: str) -> Engine | None:
    """The engine a host belongs to, or None. Accepts any spelling `normalise_host` accepts."""
    try:
        host = normalise_host(host)
    except BadHost:
        return None
    if is_ip(host):
        return None
    exact = _EXACT.get(host)
    if exact is not None:
        return exact
    # Every engine has its label in the name: anything else is settled without the suffix
    # list (tldextract costs ~20 µs for a host it has not seen, on every decision).
    if _LABELS.isdisjoint(host.split(".")):
        return None
    suffix = public_suffix(host)
    domain = registrable_domain(host)
    if not suffix or not domain.endswith("." + suffix):
        return None
    label = domain[: -len(suffix) - 1]
    sub = host[: -len(domain) - 1] if host != domain else ""
    if label == "google":
        # Search is served from the bare name and www; images. and encrypted. are old
        # aliases that still answer /search.
        return "google" if sub in ("", "www", "images", "encrypted") else None
    if label == "youtube":
        # youtube.com and every sub-domain (m., music., …); country names such as youtube.de
        # only redirect there, but a header on a redirect costs nothing.
        return "youtube"
    if suffix != "com":
        return None
    if label == "youtube-nocookie":  # the embedded player
        return "youtube"
    if label == "bing":
        return "bing" if sub in ("", "www", "cn") else None
    if label == "duckduckgo":
        # html./lite. are the no-JavaScript pages, links. serves d.js results, noai./safe./
        # start. are alternative front doors.
        ok = sub in ("", "www", "html", "lite", "links", "noai", "safe", "start")
        return "duckduckgo" if ok else None
    if label == "yahoo":
        # search.yahoo.com, its country editions (uk.search., espanol.search., …) and the
        # verticals under them (images.search., video.search.).
        return "yahoo" if sub == "search" or sub.endswith(".search") else None
    return None


def engine_of_normal(host: str) -> Engine | None:
    """`engine_of` for a host already normalised: most hosts carry no engine's label and are
    settled here, without filling the cache with every host ever seen."""
    if _LABELS.isdisjoint(host.split(".")) and host not in _EXACT:
        return None
    return engine_of(host)


def is_search_host(host: str) -> bool:
    return engine_of(host) is not None


# Where each engine carries the search text: path → the query parameters holding it. Paths are
# compared percent-decoded, lower-cased (Bing's IIS ignores case, and a looser match only means
# a query is checked), without a trailing slash or `;matrix` parameters (Yahoo's `;_ylt=`).
# Several parameters are joined, so `?q=cats&as_q=…` cannot hide text in the second one.
_GOOGLE_Q = ("q", "as_q", "as_epq", "as_oq")
_PATHS: Mapping[Engine, Mapping[str, tuple[str, ...]]] = {
    "google": {"/search": _GOOGLE_Q, "/complete/search": _GOOGLE_Q},
    "bing": {
        "/search": ("q",),
        "/images/search": ("q",),
        "/images/async": ("q",),
        "/videos/search": ("q",),
        "/news/search": ("q",),
        "/as/suggestions": ("qry",),  # the suggestions box
    },
    "duckduckgo": {
        "/": ("q",),
        "/html": ("q",),  # POSTs its form: the text is in the body
        "/lite": ("q",),
        "/d.js": ("q",),
        "/i.js": ("q",),
        "/v.js": ("q",),
        "/news.js": ("q",),
        "/ac": ("q",),  # suggestions
    },
    "yahoo": {"/search": ("p",)},  # and every /search/… vertical, see search_params
    "youtube": {
        "/results": ("search_query",),
        "/complete/search": ("q",),  # suggestqueries-clients6.youtube.com
        "/youtubei/v1/search": (),  # the apps and the web client POST JSON {"query": …}
    },
}
# JSON bodies that carry the search text: (engine, path) → key.
_JSON_KEYS: Mapping[tuple[Engine, str], str] = {("youtube", "/youtubei/v1/search"): "query"}


def _split(path_with_query: str) -> tuple[str, str]:
    """Path (decoded, canonical) and raw query of a request target, absolute or not."""
    target = path_with_query.split("#", 1)[0]
    if target[:8].lower().startswith(("http://", "https://")):
        parts = urlsplit(target)
        path, query = parts.path, parts.query
    else:
        path, _, query = target.partition("?")
    path = unquote(path, errors="replace").split(";", 1)[0].lower()
    while "//" in path:
        path = path.replace("//", "/")
    path = path.rstrip("/")
    return path or "/", query


def canonical_path(path_with_query: str) -> str:
    """The path as compared here: decoded, lower case, no trailing slash or `;params`."""
    return _split(path_with_query)[0]


def search_params(engine: Engine, path: str) -> tuple[str, ...] | None:
    """The query parameters carrying the search text at a canonical path; None: no search."""
    params = _PATHS[engine].get(path)
    if params is None and engine == "yahoo" and path.startswith("/search/"):
        return ("p",)
    return params


def is_search_path(engine: Engine, path_with_query: str) -> bool:
    """Does this request target carry a search for the engine?"""
    return search_params(engine, _split(path_with_query)[0]) is not None


def extract_query(
    engine: Engine,
    path_with_query: str,
    body: bytes | None = None,
    content_type: str = "",
) -> str | None:
    """The search text of a request, or None when it carries none.

    Looks in the URL and, when given, in a form-encoded body (DuckDuckGo's html/lite pages
    POST their form) or the JSON body of YouTube's `/youtubei/v1/search`. Every value found is
    joined with spaces, so a repeated parameter cannot smuggle a second query past the check.
    """
    path, query = _split(path_with_query)
    params = search_params(engine, path)
    if params is None:
        return None
    texts = [v for k, v in parse_qsl(query, errors="replace") if k in params]
    if body:
        ctype = content_type.split(";", 1)[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            form = body.decode("utf-8", errors="replace")
            texts += [v for k, v in parse_qsl(form, errors="replace") if k in params]
        json_key = _JSON_KEYS.get((engine, path))
        if json_key is not None:
            texts += _json_text(body, json_key)
    text = " ".join(t.strip() for t in texts if t.strip())
    return text or None


def _json_text(body: bytes, key: str) -> list[str]:
    # The content type is not trusted: YouTube's apps send protobuf-JSON under several names.
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return []
    value = doc.get(key) if isinstance(doc, dict) else None
    return [value] if isinstance(value, str) else []
