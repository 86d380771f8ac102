"""Host normalisation: every form of a host is reduced to one spelling before matching.

The WHATWG URL host parser, which is what browsers do: lower case, UTS #46 (IDN to
punycode), IPv4 in any of its spellings written as a dotted quad (so `0x7f.1` cannot dodge a
rule), IPv6 brackets dropped; then one trailing dot, userinfo and port dropped. What it
rejects raises BadHost, which the decision blocks (`bad_host`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator


class BadHost(ValueError):
    """The text is not a host name or address."""


#: What a client may send as a host (a Host header with userinfo and port, an SNI, a CONNECT
#: target) and still be a name: anything longer is refused before any work or caching, so a
#: megabyte of `Host:` costs nothing and is kept nowhere.
MAX_RAW = 1024

#: Entries of each per-host cache: far more hosts than a household or a class visits in an
#: hour, few enough that a stream of distinct hosts levels off early (bench/bench_memory.py).
HOST_CACHE = 16384

_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
#: The common case, an ASCII name already fit for DNS (labels of 1–63 letters, digits, `-`,
#: `_`; one trailing dot): the parser would only lower-case it and drop the dot. Anything else
#: takes the full path below, so this is a shortcut, never a second set of rules.
_PLAIN = re.compile(r"(?:[a-zA-Z0-9_-]{1,63}\.)*[a-zA-Z0-9_-]{1,63}\.?")
_HEX = frozenset("0123456789abcdef")


def normalise_host(raw: str) -> str:
    """Return the canonical form of a host, or raise BadHost.

    Follows the WHATWG URL host parser (UTS #46 non-transitional, CheckBidi, CheckJoiners,
    not CheckHyphens; a name ending in a number is an IPv4 address or nothing) and then
    keeps only what DNS can carry: letters, digits, `-`, `_`, labels of 1–63 and names of at
    most 253 octets. A name it would reject is never "repaired" into another one: BadHost.
    One trailing dot is dropped (`example.com.` is `example.com`); userinfo and port too.

    Accepts what a client may send as a host: `Example.COM.`, `user:pw@example.com:443`,
    `[::1]:8080`, `bücher.de`, `xn--bcher-kva.de`.
    """
    if not isinstance(raw, str):
        raise BadHost(f"not a host: {raw!r}")
    if len(raw) > MAX_RAW:
        raise BadHost(f"host too long ({len(raw)} characters)")
    # A plain name costs less to normalise than to look up and keep in a cache of 16,384
    # (a new host evicts an old one: twice the shortcut's cost, on every host never seen).
    plain = _plain(raw)
    return plain if plain is not None else _normalise(raw)


def _plain(raw: str) -> str | None:
    """The common case's shortcut, or None for the full parser."""
    if _PLAIN.fullmatch(raw) is None:
        return None
    h = raw.lower()
    if h[-1] == ".":
        h = h[:-1]
    last = h[h.rfind(".") + 1 :]
    # Punycode is checked, a name ending in a number is an address: the full parser's job.
    if len(h) > 253 or "xn--" in h or last.isdigit() or last[:2] == "0x":
        return None
    return h


def _parse(raw: str) -> str:
    h = raw.strip(" \t")  # a header value's optional white space, nothing else
    if "@" in h:  # userinfo: only the part after the last @ is the host
        h = h.rsplit("@", 1)[1]
    if h.startswith("["):  # [v6] or [v6]:port
        end = h.find("]")
        if end < 0 or h[end + 1 :] not in ("",) and not _is_port(h[end + 1 :]):
            raise BadHost(f"not a valid IPv6 literal: {raw!r}")
        return _normalise_ip(h[1:end], raw)
    if h.count(":") == 1:  # host:port
        h, _, port = h.partition(":")
        if port and not port.isdigit():
            raise BadHost(f"bad port in {raw!r}")
    elif h.count(":") > 1:  # bare IPv6
        return _normalise_ip(h, raw)
    if "%" in h:  # the URL parser would percent-decode it first; no client needs to
        raise BadHost(f"percent-encoded host: {raw!r}")
    if h.isascii():
        h = h.lower()
    if not h.isascii() or "xn--" in h:
        h = _uts46(h, raw)
    if h.endswith("."):  # exactly one: `example.com..` has an empty label
        h = h[:-1]
    labels = h.split(".")
    if _ends_in_number(labels):
        return _ipv4(labels, raw)
    if not h or not set(h) <= _LDH or "" in labels:
        raise BadHost(f"not a valid host name: {raw!r}")
    if len(h) > 253 or max(map(len, labels)) > 63:
        raise BadHost(f"host name too long for DNS: {raw[:40]!r}…")
    return h


_normalise = functools.lru_cache(maxsize=HOST_CACHE)(_parse)


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isdigit()


def _uts46(h: str, raw: str) -> str:
    """UTS #46 processing and ToASCII as the WHATWG URL standard asks (non-transitional, so
    `faß.de` is `xn--fa-hia.de`, never `fass.de`); any error is BadHost, never a fallback."""
    import unicodedata

    from idna import IDNAError, core

    try:
        mapped = core.uts46_remap(h, std3_rules=False, transitional=False)
    except (IDNAError, IndexError, ValueError) as e:
        raise BadHost(f"not a valid international name: {raw!r}") from e
    labels = mapped.split(".")
    unicode_labels = []
    for label in labels:
        if label.startswith("xn--"):
            try:
                decoded = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError) as e:
                raise BadHost(f"invalid punycode in {raw!r}") from e
            # Empty or all-ASCII after decoding, not in canonical form, or holding what the
            # mapping would change: not a label any registry could have issued.
            try:
                remapped = core.uts46_remap(decoded, std3_rules=False, transitional=False)
            except (IDNAError, IndexError, ValueError):
                remapped = ""
            if (
                not decoded
                or decoded.isascii()
                or decoded.encode("punycode").decode("ascii") != label[4:]
                or remapped != decoded
            ):
                raise BadHost(f"invalid punycode in {raw!r}")
            unicode_labels.append(decoded)
        else:
            unicode_labels.append(label)
    bidi = any(_has_rtl(label) for label in unicode_labels)
    out = []
    for label in unicode_labels:
        if label.isascii():
            out.append(label)
            continue
        if not unicodedata.is_normalized("NFC", label):
            raise BadHost(f"not a valid international name: {raw!r}")
        if unicodedata.category(label[0]).startswith("M"):
            raise BadHost(f"a label starts with a combining mark: {raw!r}")
        try:
            for i, ch in enumerate(label):
                if ch in "\u200c\u200d" and not core.valid_contextj(label, i):
                    raise BadHost(f"a joiner out of place: {raw!r}")
            if bidi and not core.check_bidi(label, check_ltr=True):
                raise BadHost(f"mixed writing directions: {raw!r}")
        except IDNAError as e:
            raise BadHost(f"not a valid international name: {raw!r}") from e
        out.append("xn--" + label.encode("punycode").decode("ascii"))
    if bidi:  # the ASCII labels of a right-to-left name are checked too
        for label in out:
            if label and not label.startswith("xn--"):
                try:
                    ok = core.check_bidi(label, check_ltr=True)
                except IDNAError:
                    ok = False
                if not ok:
                    raise BadHost(f"mixed writing directions: {raw!r}")
    return ".".join(out)


def _has_rtl(label: str) -> bool:
    import unicodedata

    return any(unicodedata.bidirectional(ch) in ("R", "AL", "AN") for ch in label)


def _normalise_ip(text: str, raw: str) -> str:
    text = text.split("%", 1)[0]  # zone id
    try:
        addr = ipaddress.ip_address(text)
    except ValueError as e:
        raise BadHost(f"not a valid address: {raw!r}") from e
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


def _ends_in_number(labels: list[str]) -> bool:
    """WHATWG: the last label is all digits, or a 0x number: the host is an IPv4 address."""
    last = labels[-1]
    if last.isdigit():
        return True
    return last[:2] == "0x" and set(last[2:]) <= _HEX


def _ipv4_number(part: str) -> int | None:
    if not part:
        return None
    if part[:2] == "0x":
        digits, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, radix = part[1:], 8
    else:
        digits, radix = part, 10
    if not digits:
        return 0  # `0x` alone is zero
    try:
        return int(digits, radix) if digits.isalnum() and digits.isascii() else None
    except ValueError:
        return None


def _ipv4(labels: list[str], raw: str) -> str:
    """The WHATWG IPv4 parser: dotted, decimal, octal or hex parts (`2130706433`,
    `0x7f.1`, `0x.0x.0`); anything else that ends in a number is not a host at all."""
    numbers = [_ipv4_number(p) for p in labels]
    if len(labels) > 4 or any(n is None for n in numbers):
        raise BadHost(f"not a valid IPv4 address: {raw!r}")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise BadHost(f"not a valid IPv4 address: {raw!r}")
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n * 256 ** (3 - i)
    return str(ipaddress.IPv4Address(address))


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


def host_suffixes(host: str) -> tuple[str, ...]:
    """`suffixes(host)` as a tuple, for the decision's rules to share one walk."""
    if (":" in host or host[-1:].isdigit()) and is_ip(host):  # a name costs no call
        return (host,)
    out = [host]
    dot = host.find(".")
    while dot >= 0:
        host = host[dot + 1 :]
        out.append(host)
        dot = host.find(".")
    return tuple(out)


def load_suffix_list() -> None:
    """Build the public-suffix table now (~0.1 s: the import and parsing the bundled list), so
    the first decision logged does not wait for it; `vaccine run` does it while its log writer
    starts."""
    _extractor()


@functools.cache
def _extractor():  # type: ignore[no-untyped-def]
    import tldextract

    # The bundled public-suffix snapshot only: building it any other way fetches from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=HOST_CACHE)
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


@functools.lru_cache(maxsize=HOST_CACHE)
def public_suffix(host: str) -> str:
    """The public suffix of a host (`co.uk` for `www.google.co.uk`), '' when none is known."""
    if is_ip(host):
        return ""
    return str(_extractor()(host).suffix)
