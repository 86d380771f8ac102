"""Host normalisation against the WHATWG URL host parser and UTS #46.

The reference is Ada (`ada-url`), a WHATWG-conformant parser. The safety property: whatever
our normaliser accepts, the standard accepts and spells the same way (so no list entry can be
dodged by a spelling the browser reads differently); we may refuse more (names DNS cannot
carry, empty labels, invalid punycode), which only blocks.
"""

from __future__ import annotations

import ada_url
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaccine.proxy.hosts import BadHost, normalise_host


def whatwg(host: str) -> str | None:
    try:
        return str(ada_url.URL(f"http://{host}/").hostname)
    except ValueError:
        return None


def ours(host: str) -> str | None:
    try:
        return normalise_host(host)
    except BadHost:
        return None


# (input, what we make of it: None = refused). Cases from the reproductions, the
# WHATWG URL tests' host section and UTS #46's conformance file, written out by hand.
CASES = [
    ("a.b.c\u3002d\u3002", "a.b.c.d"),  # ideographic full stop, also at the end
    ("a.b.c\uff0ed\uff0e", "a.b.c.d"),  # full-width full stop
    ("ab--c.fa\u00df.de", "ab--c.xn--fa-hia.de"),  # IDNA 2008 rejects ab--c: never IDNA 2003
    ("fa\u00df.de", "xn--fa-hia.de"),  # non-transitional: ß stays ß
    ("FASS.de", "fass.de"),
    ("256.0.0.1", None),  # ends in a number: an IPv4 address or nothing
    ("4294967296", None),
    ("0x100000000", None),
    ("4294967295", "255.255.255.255"),
    ("0x.0x.0", "0.0.0.0"),
    ("0x7f.1", "127.0.0.1"),
    ("0300.0250.0.1", "192.168.0.1"),
    ("08.1.1.1", None),  # not octal, not decimal
    ("1.2.3.4.5", None),
    ("a.0x", None),
    ("1.example", "1.example"),
    ("xn--a", None),  # invalid punycode
    ("xn--", None),
    ("xn--abc", None),  # decodes to ASCII only
    ("xn--zca.com", "xn--zca.com"),
    ("XN--BCHER-KVA.de", "xn--bcher-kva.de"),
    ("b\u00fccher.de", "xn--bcher-kva.de"),
    ("\U0001f4a9.la", "xn--ls8h.la"),
    ("a\u200db.com", None),  # ZWJ outside its context (CheckJoiners)
    ("\u0301a.com", None),  # leading combining mark
    ("\u05d0a.com", None),  # CheckBidi: right-to-left then left-to-right in one label
    ("a\u00adb.com", "ab.com"),  # soft hyphen is ignored by the mapping
    ("a b.com", None),
    ("a\x00b.com", None),
    ("a..b", None),
    ("example.com..", None),
    ("example.com.", "example.com"),
    ("x" * 64 + ".com", None),  # a label DNS cannot carry
    (".".join(["a" * 60] * 5), None),  # a name DNS cannot carry
    ("ex%61mple.com", None),
    ("user:pw@Example.COM:443", "example.com"),
    ("[::ffff:127.0.0.1]:80", "127.0.0.1"),
    ("[::1", None),
    ("pad" * 400 + "@blocked.example", None),  # bounded before any work
]


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_cases(raw: str, expected: str | None) -> None:
    assert ours(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_what_we_accept_the_standard_accepts_the_same(raw: str, expected: str | None) -> None:
    if expected is None or "@" in raw or raw.startswith("["):
        return  # refused (stricter is allowed), or not a bare host the URL parser takes alone
    assert whatwg(raw) in (expected, expected + ".")


# Host-like text: letters, digits, dots and the characters that spell them otherwise.
_CHARS = st.sampled_from(
    list("abcxyzAZ019-_.") + ["\u3002", "\uff0e", "\u00df", "\u00fc", "\u0131", "\u200d",
     "\u00ad", "\u0301", "\u05d0", "\u0627", "\U0001f4a9", "x", "n", "0x", "%", " ", "xn--"]
)  # fmt: skip
HOSTS = st.lists(_CHARS, min_size=1, max_size=24).map("".join)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTS)
def test_accepted_hosts_are_canonical_and_agree_with_the_standard(raw: str) -> None:
    got = ours(raw)
    if got is None:
        return
    assert normalise_host(got) == got  # canonical: normalising again changes nothing
    # The browser reads the very same host. (A header value's surrounding white space is
    # dropped first, as HTTP does; the URL parser has no such thing.)
    assert whatwg(raw.strip(" \t")) in (got, got + ".")


LISTED = st.sampled_from(["faß.de", "example.com", "bücher.test", "xn--fa-hia.de", "adult.test"])


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTS, LISTED)
def test_a_label_under_a_listed_domain_stays_under_it(label: str, domain: str) -> None:
    got = ours(f"{label}.{domain}")
    if got is None:
        return  # refused: blocked as bad_host, never read as another name
    listed = normalise_host(domain)
    assert got == listed or got.endswith("." + listed)
