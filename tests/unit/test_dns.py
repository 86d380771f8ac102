"""proxy.dns: how a lookup is answered, from the profile's decision at stage `dns`."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy.net.dns import https_records

from vaccine.proxy import dns
from vaccine.proxy.decision import Facts, decide
from vaccine.proxy.policy.model import DnsSettings, DomainRules, Profile

from .test_decision import NOON, FakeLists

LISTS = FakeLists({"adultsite.com": {"adult"}, "dns.google": {"doh"}, "youtube.com": {"video"}})

KID = Profile(
    id="kid",
    name="Kid",
    source=Path("kid.yaml"),
    block_categories=frozenset({"adult", "doh"}),
    domain_rules=DomainRules.build(("khanacademy.org",), ("tiktok.com",)),
    safe_search=True,
)
LOOSE = Profile(id="loose", name="Loose", source=Path("loose.yaml"))
PROXY = ("192.168.1.10", "fd00::10")


def answer_for(name: str, profile: Profile = KID, **settings: object) -> dns.Answer:
    decision = decide(Facts((name,), stage="dns"), profile, LISTS, NOON)
    return dns.answer(name, decision, DnsSettings(**settings), PROXY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "profile", "kind", "outcome", "target"),
    [
        ("tiktok.com", KID, "address", "blocked", ""),
        ("www.tiktok.com", KID, "address", "blocked", ""),
        ("tiktok.com", LOOSE, "forward", "allowed", ""),
        ("example.com", KID, "forward", "allowed", ""),
        ("khanacademy.org", KID, "forward", "allowed", ""),
        ("www.google.com", KID, "alias", "rewritten", "forcesafesearch.google.com"),
        ("www.google.co.uk", KID, "alias", "rewritten", "forcesafesearch.google.com"),
        ("www.bing.com", KID, "alias", "rewritten", "strict.bing.com"),
        ("duckduckgo.com", KID, "alias", "rewritten", "safe.duckduckgo.com"),
        ("www.youtube.com", KID, "alias", "rewritten", "restrict.youtube.com"),
        ("m.youtube.com", KID, "alias", "rewritten", "restrict.youtube.com"),
        # an engine's other names, and Yahoo (no safe host), resolve as asked
        ("mail.google.com", KID, "forward", "allowed", ""),
        ("search.yahoo.com", KID, "forward", "allowed", ""),
        ("www.google.com", LOOSE, "forward", "allowed", ""),
        # the safe hosts themselves are not aliased again
        ("forcesafesearch.google.com", KID, "forward", "allowed", ""),
        # a name no host parser accepts is blocked, and an address is not a name
        ("a..b", KID, "address", "blocked", ""),
    ],
)
def test_answers(name: str, profile: Profile, kind: str, outcome: str, target: str) -> None:
    got = answer_for(name, profile)
    assert (got.kind, got.outcome, got.target) == (kind, outcome, target)
    if kind == "address":
        assert got.addresses == PROXY and got.ttl == dns.BLOCK_TTL


def test_lookup_decisions_are_the_requests_rules() -> None:
    """The same rule decides a lookup as a request: a category, then the domain rules."""
    lookup = decide(Facts(("www.adultsite.com",), stage="dns"), KID, LISTS, NOON)
    request = decide(Facts(("www.adultsite.com",), "/"), KID, LISTS, NOON)
    assert (lookup.rule, lookup.categories) == (request.rule, request.categories)
    assert lookup.treatment == "refuse" and request.treatment == "page"


@pytest.mark.parametrize(
    ("block_answer", "kind"),
    [("proxy", "address"), ("refuse", "refused"), ("nxdomain", "nxdomain")],
)
def test_block_answer_setting(block_answer: str, kind: str) -> None:
    assert answer_for("tiktok.com", block_answer=block_answer).kind == kind


def test_without_the_proxys_address_a_blocked_name_is_refused() -> None:
    decision = decide(Facts(("tiktok.com",), stage="dns"), KID, LISTS, NOON)
    assert dns.answer("tiktok.com", decision, DnsSettings(), ()).kind == "refused"


def test_an_encrypted_resolver_does_not_exist() -> None:
    """A doh name is NXDOMAIN whatever block_answer says: browsers fall back to our DNS."""
    for block_answer in ("proxy", "refuse", "nxdomain"):
        assert answer_for("dns.google", block_answer=block_answer).kind == "nxdomain"
    assert answer_for("dns.google", LOOSE).kind == "forward"  # a profile that allows doh


@pytest.mark.parametrize(
    "name",
    ["use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com", "_dns.resolver.arpa"],
)
def test_canaries_do_not_exist_for_anyone(name: str) -> None:
    got = dns.special(name, "mitm.it", PROXY)
    assert got is not None and got.kind == "nxdomain" and got.outcome is None


def test_the_set_up_page_is_the_proxy() -> None:
    got = dns.special("mitm.it", "mitm.it", PROXY)
    assert got is not None and (got.kind, got.addresses) == ("address", PROXY)
    assert dns.special("mitm.it", None, PROXY) is None  # onboarding switched off
    assert dns.special("mitm.it", "mitm.it", ()) is None  # no address to give: resolved
    assert dns.special("icloud.com", "mitm.it", PROXY) is None


@pytest.mark.parametrize(
    ("configured", "local", "expected"),
    [
        ((), "192.168.1.10", ("192.168.1.10",)),
        ((), "::ffff:10.0.0.1", ("10.0.0.1",)),
        ((), "0.0.0.0", ()),
        ((), "::", ()),
        ((), None, ()),
        (("10.0.0.1", "fd00::1"), "192.168.1.10", ("10.0.0.1", "fd00::1")),
    ],
)
def test_proxy_addresses(configured: tuple[str, ...], local: str | None, expected: tuple) -> None:
    assert dns.proxy_addresses(DnsSettings(proxy_addresses=configured), local) == expected


def test_addresses_by_family() -> None:
    assert dns.addresses_for(dns.A, PROXY) == ["192.168.1.10"]
    assert dns.addresses_for(dns.AAAA, PROXY) == ["fd00::10"]
    assert dns.addresses_for(dns.HTTPS, PROXY) == []  # an empty answer: the browser asks A


def _svcb(params: dict[int, bytes]) -> bytes:
    return https_records.pack(https_records.HTTPSRecord(1, "", params))


@pytest.mark.parametrize("rtype", [dns.HTTPS, dns.SVCB])
def test_ech_is_removed_and_the_rest_kept(rtype: int) -> None:
    data = _svcb({1: b"\x02h2", 5: b"\xfe\x0d\x00\x01x", 4: b"\x01\x02\x03\x04"})
    out = dns.without_ech(rtype, data)
    assert out is not None
    assert https_records.unpack(out).params == {1: b"\x02h2", 4: b"\x01\x02\x03\x04"}
    plain = _svcb({1: b"\x02h2"})
    assert dns.without_ech(rtype, plain) == plain


def test_other_records_are_untouched_and_unreadable_ones_dropped() -> None:
    assert dns.without_ech(dns.A, b"\x01\x02\x03\x04") == b"\x01\x02\x03\x04"
    assert dns.without_ech(dns.HTTPS, b"\x00") is None


def test_one_record_per_name_lookup() -> None:
    assert dns.recorded(dns.A)
    assert not any(dns.recorded(t) for t in (dns.AAAA, dns.HTTPS, dns.SVCB, 15, 16))
