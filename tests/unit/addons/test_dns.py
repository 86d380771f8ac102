"""The DNS filter addon: each lookup answered from the device's profile, recorded as a lookup,
safe search aliased, ECH removed, errors refused; and placed before mitmproxy's resolver."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from mitmproxy import dns
from mitmproxy.addons import dns_resolver
from mitmproxy.net.dns import https_records, response_codes, types
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons import dns as dns_addon
from vaccine.proxy.addons import install
from vaccine.proxy.addons.dns import ALIAS, DnsFilter, ask_upstream
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.policy.model import Device

from ..test_decision import NOON
from .conftest import FakeJournal, hook, make_household

KID = "127.0.0.2"


@pytest.fixture
def addon(tmp_path: Path, journal: FakeJournal) -> DnsFilter:
    household = make_household(
        tmp_path,
        kid={
            "devices": (Device("address", network=ipaddress.ip_network(f"{KID}/32")),),
            "block": ["tiktok.com"],
            "safe_search": True,
        },
    )
    return DnsFilter(Shared(household, clock=lambda: NOON), journal)


def lookup(name: str, qtype: int = types.A, peer: str = KID, mode: str = "dns@53") -> dns.DNSFlow:
    f = tflow.tdnsflow(req=tutils.tdnsreq(questions=[dns.Question(name, qtype, 1)]))
    f.client_conn.peername = (peer, 5000)
    f.client_conn.sockname = ("192.168.1.10", 53)
    f.client_conn.proxy_mode = ProxyMode.parse(mode)
    return f


async def ask(addon: DnsFilter, f: dns.DNSFlow) -> dns.DNSMessage | None:
    await hook([addon], "dns_request", f)
    if f.response is not None:
        await hook([addon], "dns_response", f)
    return f.response


async def test_a_blocked_name_is_the_proxy_and_is_recorded(
    tctx: taddons.context, addon: DnsFilter, journal: FakeJournal
) -> None:
    resp = await ask(addon, lookup("www.tiktok.com"))
    assert resp is not None and resp.response_code == response_codes.NOERROR
    assert [(a.name, str(a.ipv4_address), a.ttl) for a in resp.answers] == [
        ("www.tiktok.com", "192.168.1.10", 10)
    ]
    [rec] = journal.records
    assert (rec.profile, rec.site, rec.action, rec.rule) == (
        "kid", "tiktok.com", "blocked", "dns.block.domains",
    )  # fmt: skip
    resp = await ask(addon, lookup("www.tiktok.com", types.AAAA))
    assert resp is not None and resp.answers == []  # no IPv6 address known: an empty answer
    assert len(journal.records) == 1  # one record per name, for its A lookup


async def test_profiles_differ_by_source_address(tctx: taddons.context, addon: DnsFilter) -> None:
    f = lookup("tiktok.com", peer="127.0.0.3")  # guest: tiktok is not blocked there
    await hook([addon], "dns_request", f)
    assert f.response is None  # left to the resolver
    assert f.request.question is not None and f.request.question.name == "tiktok.com"


@pytest.mark.parametrize("name", ["use-application-dns.net", "mask.icloud.com"])
async def test_canaries_are_nxdomain_and_not_recorded(
    tctx: taddons.context, addon: DnsFilter, journal: FakeJournal, name: str
) -> None:
    resp = await ask(addon, lookup(name, peer="127.0.0.9"))
    assert resp is not None and resp.response_code == response_codes.NXDOMAIN
    assert journal.records == []


async def test_safe_search_is_an_alias_of_the_safe_host(
    tctx: taddons.context, addon: DnsFilter, journal: FakeJournal
) -> None:
    f = lookup("www.google.com")
    await hook([addon], "dns_request", f)
    assert f.response is None and f.request.question is not None
    assert f.request.question.name == "forcesafesearch.google.com"  # what the resolver resolves
    safe = dns.ResourceRecord.A(
        "forcesafesearch.google.com", ipaddress.IPv4Address("216.239.38.120")
    )
    f.response = f.request.succeed([safe])
    await hook([addon], "dns_response", f)
    assert [q.name for q in f.response.questions] == ["www.google.com"]
    cname, a = f.response.answers
    assert (cname.type, cname.name, cname.domain_name) == (
        types.CNAME, "www.google.com", "forcesafesearch.google.com",
    )  # fmt: skip
    assert str(a.ipv4_address) == "216.239.38.120" and ALIAS not in f.metadata
    assert [r.action for r in journal.records] == ["rewritten"]


async def test_a_safe_host_that_cannot_be_resolved_fails_with_the_devices_question(
    tctx: taddons.context, addon: DnsFilter
) -> None:
    f = lookup("www.bing.com")
    await hook([addon], "dns_request", f)
    assert f.request.question is not None and f.request.question.name == "strict.bing.com"
    await hook([addon], "dns_error", f)
    servfail = f.request.fail(response_codes.SERVFAIL)  # what mitmproxy then sends
    assert [q.name for q in servfail.questions] == ["www.bing.com"]


async def test_ech_is_removed_from_https_and_svcb_answers(
    tctx: taddons.context, addon: DnsFilter
) -> None:
    for rtype in (types.HTTPS, types.SVCB):
        f = lookup("ech.example", rtype)
        params = {1: b"\x02h2", 5: b"\xfe\x0d\x00\x01x"}
        data = https_records.pack(https_records.HTTPSRecord(1, "", params))
        f.response = f.request.succeed([dns.ResourceRecord("ech.example", rtype, 1, 300, data)])
        f.response.additionals = [dns.ResourceRecord("ech.example", rtype, 1, 300, data)]
        broken = dns.ResourceRecord("ech.example", rtype, 1, 300, b"\x00")
        f.response.answers.append(broken)
        await hook([addon], "dns_response", f)
        for section in (f.response.answers, f.response.additionals):
            assert [https_records.unpack(r.data).params for r in section] == [{1: b"\x02h2"}]


@pytest.mark.parametrize("server", [("10.0.0.53", 53), ("8.8.8.8", 53)])
async def test_a_wireguard_devices_lookups_are_filtered_too(
    tctx: taddons.context, addon: DnsFilter, server: tuple[str, int]
) -> None:
    """Through the tunnel, to its own resolver or any other: the tunnel's resolver address
    answers a blocked name (every TCP connection in the tunnel reaches the proxy)."""
    f = lookup("www.adultsite.com", mode="wireguard@51820")  # blocked for the mode's profile
    f.server_conn.address = server
    resp = await ask(addon, f)
    assert resp is not None and [str(a.ipv4_address) for a in resp.answers] == ["10.0.0.53"]
    canary = lookup("mask.icloud.com", mode="wireguard@51820")
    resp = await ask(addon, canary)
    assert resp is not None and resp.response_code == response_codes.NXDOMAIN


async def test_other_modes_are_left_alone(tctx: taddons.context, addon: DnsFilter) -> None:
    f = lookup("www.tiktok.com", mode="regular@8080")
    await hook([addon], "dns_request", f)
    assert f.response is None


async def test_an_error_refuses_the_lookup(
    tctx: taddons.context, addon: DnsFilter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(addon.shared, "profile_for", broken)
    resp = await ask(addon, lookup("example.com"))
    assert resp is not None and resp.response_code == response_codes.REFUSED


@pytest.mark.parametrize(
    "request_kw",
    [
        {"questions": []},
        {"questions": [dns.Question("a.example", types.A, 1)] * 2},
        {"op_code": dns.op_codes.NOTIFY},
    ],
)
async def test_anything_but_one_ordinary_question_is_refused(
    tctx: taddons.context, addon: DnsFilter, request_kw: dict[str, object]
) -> None:
    f = tflow.tdnsflow(req=tutils.tdnsreq(**request_kw))
    resp = await ask(addon, f)
    assert resp is not None and resp.response_code == response_codes.REFUSED


async def test_an_upstream_that_does_not_answer_is_servfail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dns_addon, "UPSTREAM_TIMEOUT", 0.2)
    query = tutils.tdnsreq()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))  # bound and never read: no answer, no ICMP error
        resp = await ask_upstream(query, s.getsockname())
    assert resp.response_code == response_codes.SERVFAIL and resp.id == query.id


def test_the_filter_runs_before_mitmproxys_resolver(addon: DnsFilter) -> None:
    with taddons.context(dns_resolver.DnsResolver()) as tctx:
        manager = tctx.master.addons
        install(manager, [object(), addon])
        names = [type(a).__name__ for a in manager.chain]
        assert names.index("DnsFilter") < names.index("DnsResolver")
