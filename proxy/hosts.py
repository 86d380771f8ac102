"""Host normalisation: every form of a host is reduced to one spelling before matching.

Lower case, trailing dot dropped, userinfo and port dropped, IDN to punycode, IPv6 brackets
dropped, and IPv4 written the way `inet_aton` would read it (so `0x7f.1` cannot dodge a rule).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterator


class BadHost(ValueError):
    """The text is not a host name or address."""


_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@functools.lru_cache(maxsize=65536)
def normalise_host(raw: str) -> str:
    """Return the canonical form of a host, or raise BadHost.

    Accepts what a client may send as a host: `Example.COM.`, `user:pw@example.com:443`,
    `[::1]:8080`, `bücher.de`, `xn--bcher-kva.de`.
    """
    if not isinstance(raw, str):
        raise BadHost(f"not a host: {raw!r}")
    h = raw.strip()
    if "@" in h:  # userinfo: only the part after the last @ is the host
        h = h.rsplit("@", 1)[1]
    if h.startswith("["):  # [v6] or [v6]:port
        end = h.find("]")
        if end < 0:
            raise BadHost(f"unterminated IPv6 literal: {raw!r}")
        return _normalise_ip(h[1:end], raw)
    if h.count(":") == 1:  # host:port
        h, _, port = h.partition(":")
        if port and not port.isdigit():
            raise BadHost(f"bad port in {raw!r}")
    elif h.count(":") > 1:  # bare IPv6
        return _normalise_ip(h, raw)
    h = h.rstrip(".").lower()
    if not h:
        raise BadHost(f"empty host: {raw!r}")
    ip = _parse_ipv4_any(h)
    if ip is not None:
        return ip
    if not h.isascii() or "xn--" in h:
        h = _idna(h, raw)
    if not set(h) <= _ALLOWED or ".." in h or h.startswith("."):
        raise BadHost(f"not a valid host name: {raw!r}")
    if len(h) > 253:
        raise BadHost(f"host name too long: {raw[:40]!r}…")
    return h


def _idna(h: str, raw: str) -> str:
    """UTS #46 non-transitional, as browsers do (`faß.de` is `xn--fa-hia.de`, not `fass.de`)."""
    import idna  # a tldextract dependency

    try:
        return idna.encode(h, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        pass
    try:  # names IDNA 2008 refuses (emoji, …) still reach DNS through the 2003 codec
        return h.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise BadHost(f"not a valid international name: {raw!r}") from e


def _normalise_ip(text: str, raw: str) -> str:
    text = text.split("%", 1)[0]  # zone id
    try:
        addr = ipaddress.ip_address(text)
    except ValueError as e:
        raise BadHost(f"not a valid address: {raw!r}") from e
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


def _parse_ipv4_any(h: str) -> str | None:
    """Dotted, decimal, octal or hex IPv4 (`2130706433`, `0x7f.0.0.1`) → dotted quad."""
    if not h[-1].isdigit() and not h.startswith("0x") and "." not in h[-4:]:
        return None
    last = h.rsplit(".", 1)[-1]
    # A name whose last label is not numeric is a name (`1.example`), never an address.
    if not (last.isdigit() or last.startswith("0x")):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(h))
    except (OSError, ValueError):
        return None


def is_ip(host: str) -> bool:
    """True for a normalised IPv4 or IPv6 literal."""
    # Called several times per decision: a name (no `:`, not ending in a digit) is the
    # common case and needs no parsing.
    if not host or (":" not in host and not host[-1].isdigit()):
        return False
    return _parses_as_ip(host)


@functools.lru_cache(maxsize=4096)
def _parses_as_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def suffixes(host: str) -> Iterator[str]:
    """`a.b.example.com` → itself, `b.example.com`, `example.com`, `com`.

    An IP literal yields only itself: list entries for addresses match exactly.
    """
    if is_ip(host):
        yield host
        return
    while True:
        yield host
        dot = host.find(".")
        if dot < 0:
            return
        host = host[dot + 1 :]


@functools.cache
def _extractor():  # type: ignore[no-untyped-def]
    import tldextract

    # The bundled public-suffix snapshot only: building it any other way fetches from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """`www.youtube.com` → `youtube.com`; `a.b.co.uk` → `b.co.uk`; IPs and bare suffixes as is."""
    if is_ip(host):
        return host
    ext = _extractor()(host)
    if ext.top_domain_under_public_suffix:
        return str(ext.top_domain_under_public_suffix)
    # A suffix the list does not know (.lan, .internal, a new TLD): the list's default rule
    # `*` makes the last label the suffix. Falling back to the whole host would record every
    # sub-domain label, which can carry a user name or a token.
    return ".".join(host.rsplit(".", 2)[-2:])


@functools.lru_cache(maxsize=65536)
def public_suffix(host: str) -> str:
    """The public suffix of a host (`co.uk` for `www.google.co.uk`), '' when none is known."""
    if is_ip(host):
        return ""
    return str(_extractor()(host).suffix)
