"""`safe_search: strict`: the changes that force each engine's own safe mode on a request.

`safe_search_rewrite` is pure (strings in, a `Rewrite` out) so `vaccine explain` and the tests
can call it; `apply_rewrite` is the only part that touches a mitmproxy request.

What each engine gets, and the public source for it (checked 2025; engines change these
without notice, which is why each one gets more than one lever where one exists):

- Google: `safe=active` and `ssui=on` on search URLs — exactly what Chrome's ForceSafeSearch
  policy appends, replacing any `safe=` the page sent (chromium.org, design-documents/
  safesearch; components/safe_search_api/safe_search_util.cc). Google's network option,
  the forcesafesearch.google.com DNS name (support.google.com/websearch/answer/186669), needs
  DNS control and is left to the network.
- Bing: `adlt=strict` on search URLs, and `ADLT=STRICT` inside the `SRCHHPGUSR` preferences
  cookie on every request, keeping the cookie's other fields (language, layout). Microsoft
  documents only the strict.bing.com DNS route for networks (help.bing.microsoft.com, "Block
  adult content with SafeSearch"); the parameter and the cookie are what bing.com's own
  settings page writes and what SearXNG and filtering proxies (SafeSquid, e2guardian) set.
  Unsure: whether Bing always prefers the URL over a signed-in account's setting.
- DuckDuckGo: `kp=1` on search URLs ("&kp=1 (strict)", duck.co/help/features/safe-search),
  and cookie `p=1` on every request — DuckDuckGo's settings cookies are the URL parameters
  without the leading "k" (duckduckgo-help-pages, settings/save.md). The image, video and news
  endpoints (`i.js`, `v.js`, `news.js`) also get `p=1`, as SearXNG sends for strict.
  The html/lite pages POST their form; the cookie covers them.
- Yahoo: `vm=r` on search URLs, and `vm=r` inside the `sB` preferences cookie (fields joined
  with `&`, other fields kept): SearXNG's Yahoo engine maps strict to `vm=r` in `sB`;
  `p` is off and `i` moderate. Yahoo documents no parameter; unsure how long it honours it.
- YouTube: header `YouTube-Restrict: Strict` on every request to its hosts, Google's
  documented network mechanism (support.google.com/a/answer/6214622), also what Chrome's
  ForceYouTubeRestrict policy sends.

The rewrite is returned whole every time (not only what differs), so applying it is
idempotent and a request the child edited (`safe=off`, `ADLT=OFF`) is put back to strict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from vaccine.proxy.hosts import registrable_domain
from vaccine.proxy.search.engines import Engine, canonical_path, engine_of, is_search_path

if TYPE_CHECKING:
    from mitmproxy import http

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Rewrite:
    """Query parameters, headers (lower-case names) and cookies to set on a request.

    Setting replaces every existing value of the same name.
    """

    set_query: Mapping[str, str] = field(default=_EMPTY)
    set_headers: Mapping[str, str] = field(default=_EMPTY)
    set_cookies: Mapping[str, str] = field(default=_EMPTY)

    def __bool__(self) -> bool:
        return bool(self.set_query or self.set_headers or self.set_cookies)


NO_REWRITE = Rewrite()

_DDG_API = ("/i.js", "/v.js", "/news.js")


def safe_search_rewrite(
    engine: Engine | None,
    method: str,
    path_with_query: str,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
) -> Rewrite:
    """The changes that force `engine`'s strict safe mode on one request.

    `cookies` are the request's cookies by name; when None they are read from the `Cookie`
    header in `headers` (any letter case). They are needed to rewrite a preferences cookie
    (Bing's, Yahoo's) without losing the child's other settings.
    """
    if engine is None or method.upper() == "CONNECT":
        return NO_REWRITE
    if engine == "youtube":
        return Rewrite(set_headers=_frozen({"youtube-restrict": "Strict"}))
    if cookies is None:
        cookies = _cookies_from(headers or {})
    search = is_search_path(engine, path_with_query)
    query: dict[str, str] = {}
    jar: dict[str, str] = {}
    if engine == "google":
        if search:
            query = {"safe": "active", "ssui": "on"}
    elif engine == "bing":
        if search:
            query = {"adlt": "strict"}
        jar = {"SRCHHPGUSR": set_field(cookies.get("SRCHHPGUSR"), "ADLT", "STRICT")}
    elif engine == "duckduckgo":
        if search:
            query = {"kp": "1"}
            if canonical_path(path_with_query) in _DDG_API:
                query["p"] = "1"
        jar = {"p": "1"}
    elif engine == "yahoo":
        if search:
            query = {"vm": "r"}
        jar = {"sB": set_field(cookies.get("sB"), "vm", "r", new="v=1")}
    return Rewrite(_frozen(query), _EMPTY, _frozen(jar))


def set_field(cookie: str | None, key: str, value: str, new: str = "") -> str:
    """Set `key=value` in an `a=1&b=2` preferences cookie, keeping its other fields in order.

    The key is compared without regard to case (`adlt=off` is the same switch as `ADLT=OFF`);
    later duplicates are dropped so no second copy can override ours. `new` holds the fields
    a cookie that does not exist yet starts with.
    """
    fields = [f for f in (cookie if cookie is not None else new).split("&") if f]
    out: list[str] = []
    done = False
    for f in fields:
        if f.split("=", 1)[0].strip().lower() == key.lower():
            if not done:
                out.append(f"{key}={value}")
                done = True
            continue
        out.append(f)
    if not done:
        out.append(f"{key}={value}")
    return "&".join(out)


def apply_rewrite(request: http.Request, rewrite: Rewrite) -> bool:
    """Apply a rewrite to a mitmproxy request; True when the request changed."""
    changed = False
    # Each of the three is a multi-dict view writing through to the request; touching the
    # query or cookies only when there is something to set keeps the request byte-identical.
    if rewrite.set_query:
        changed |= _set_all(request.query, rewrite.set_query)
    changed |= _set_all(request.headers, rewrite.set_headers)
    if rewrite.set_cookies:
        changed |= _set_all(request.cookies, rewrite.set_cookies)
    return changed


def _set_all(fields: Any, values: Mapping[str, str]) -> bool:
    """Make each key hold exactly one value; True when anything changed."""
    changed = False
    for k, v in values.items():
        if fields.get_all(k) != [v]:
            fields[k] = v
            changed = True
    return changed


def _frozen(d: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(d) if d else _EMPTY


def _cookies_from(headers: Mapping[str, str]) -> dict[str, str]:
    """Cookies by name from `Cookie` headers; the first value of a repeated name wins."""
    jar: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() != "cookie":
            continue
        for pair in value.split(";"):
            k, eq, v = pair.strip().partition("=")
            if eq and k:
                jar.setdefault(k, v)
    return jar


# --- the same, at the network's DNS ------------------------------------------------------

#: The names each engine documents for networks that force safe search by DNS: a lookup of
#: one of these is answered as an alias (CNAME) of the engine's safe host, whose own addresses
#: serve only filtered results whatever the page asks. Google: support.google.com/websearch/
#: answer/186669 (www.google.<every country domain>); Bing: help.bing.microsoft.com "Block
#: adult content with SafeSearch" (www.bing.com); DuckDuckGo: duck.co/help "Safe search"
#: (duckduckgo.com, www.duckduckgo.com); YouTube: support.google.com/a/answer/6214622 (the
#: strict of its two hosts). The bare google.com and bing.com only redirect to their www name,
#: and are aliased too, so no first request escapes. Yahoo documents no such host.
SAFE_HOSTS: Mapping[Engine, str] = MappingProxyType({
    "google": "forcesafesearch.google.com",
    "bing": "strict.bing.com",
    "duckduckgo": "safe.duckduckgo.com",
    "youtube": "restrict.youtube.com",
})  # fmt: skip
_YOUTUBE_DNS = frozenset({
    "www.youtube.com", "m.youtube.com", "youtubei.googleapis.com", "youtube.googleapis.com",
    "www.youtube-nocookie.com",
})  # fmt: skip
_NAMES: Mapping[Engine, frozenset[str]] = MappingProxyType({
    "bing": frozenset({"bing.com", "www.bing.com"}),
    "duckduckgo": frozenset({"duckduckgo.com", "www.duckduckgo.com"}),
    "youtube": _YOUTUBE_DNS,
})  # fmt: skip


def safe_dns_host(host: str) -> str | None:
    """The safe host a DNS lookup of `host` (normalised) is answered with under
    `safe_search: strict`, or None when it is not a name its engine has networks alias."""
    engine = engine_of(host)
    if engine is None or engine not in SAFE_HOSTS:
        return None
    if engine == "google":  # google.<suffix> or www.google.<suffix>, for every country
        domain = registrable_domain(host)
        return SAFE_HOSTS[engine] if host in (domain, f"www.{domain}") else None
    return SAFE_HOSTS[engine] if host in _NAMES[engine] else None
