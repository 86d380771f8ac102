"""DNS mode (`--mode dns@53`) and a WireGuard device's lookups, carried out: each lookup is
decided for the device's profile (`Shared.decide`, stage `dns`), turned into an answer by the
pure proxy.dns, and answered.

- `dns_request`: canaries and blocked names are answered here; an engine's name under safe
  search has its question turned into the safe host's (restored in `dns_response`); what is
  left is resolved by `dns.upstream` when set (here, so every type goes to the same
  resolver), else by mitmproxy's own resolver (the system's), which runs after this addon
  (`install` puts it first), so a blocked name is never looked up anywhere.
- `dns_response`: ECH configurations removed from HTTPS/SVCB records (unreadable ones
  dropped), and the safe-search alias written as a CNAME before the safe host's records.

Lookups are recorded like requests, under rule codes `dns.<rule>`, which the log counts but
never as time online. A lookup is not time spent. Errors refuse the lookup (fail closed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import ipaddress
import logging
import socket
import struct

from mitmproxy import connection, ctx, dns
from mitmproxy.net.dns import classes, op_codes, response_codes
from mitmproxy.proxy import mode_specs

from vaccine.proxy import dns as answers
from vaccine.proxy.addons.record import Journal
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.decision import Decision, Facts
from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store.records import DNS_RULE, record_for

log = logging.getLogger("vaccine")

#: flow.metadata key: the question a safe-search alias replaced
ALIAS = "vaccine_dns_alias"
UPSTREAM_TIMEOUT = 4.0
#: the resolver a WireGuard client configuration from mitmproxy names
WG_DNS = ("10.0.0.53", 53)


class DnsFilter:
    def __init__(self, shared: Shared, journal: Journal | None = None) -> None:
        self.shared = shared
        self.journal = journal

    async def dns_request(self, flow: dns.DNSFlow) -> None:
        if flow.response or flow.error or not flow.live or not filtered(flow):
            return
        req = flow.request
        try:
            answer = self._answer(flow)
            q = req.question
            if answer.kind == "nxdomain":
                flow.response = req.fail(response_codes.NXDOMAIN)
            elif answer.kind == "refused" or q is None:
                flow.response = req.fail(response_codes.REFUSED)
            elif answer.kind == "address":
                flow.response = req.succeed(_address_records(q, answer))
            else:
                if answer.kind == "alias":
                    flow.metadata[ALIAS] = q
                    req.questions = [dns.Question(answer.target, q.type, q.class_)]
                upstream = self.shared.household.policies.settings.dns.upstream
                if upstream is not None:
                    flow.response = await ask_upstream(req, upstream)
        except Exception:
            log.exception("error while deciding a DNS lookup; refusing it")
            flow.response = req.fail(response_codes.REFUSED)

    def dns_response(self, flow: dns.DNSFlow) -> None:
        resp = flow.response
        if resp is None or not filtered(flow):
            return
        alias = flow.metadata.pop(ALIAS, None)
        try:
            target = flow.request.questions[0].name if alias is not None else ""
            if alias is not None:
                flow.request.questions = [alias]
                resp.questions = [alias]
            for section in (resp.answers, resp.authorities, resp.additionals):
                section[:] = _without_ech(section)
            if alias is not None and resp.response_code == response_codes.NOERROR:
                cname = dns.ResourceRecord.CNAME(alias.name, target, ttl=answers.ALIAS_TTL)
                resp.answers.insert(0, cname)
        except Exception:
            log.exception("error while checking a DNS answer; answering SERVFAIL")
            flow.response = flow.request.fail(response_codes.SERVFAIL)

    def dns_error(self, flow: dns.DNSFlow) -> None:
        """The safe host could not be resolved: the SERVFAIL that follows must carry the
        device's own question, or the device would not take it for its answer."""
        alias = flow.metadata.pop(ALIAS, None)
        if alias is not None:
            flow.request.questions = [alias]

    def _answer(self, flow: dns.DNSFlow) -> answers.Answer:
        req = flow.request
        q = req.question
        if not req.query or req.op_code != op_codes.QUERY or q is None or q.class_ != classes.IN:
            return answers.Answer("refused", None)  # one ordinary question, or nothing
        settings = self.shared.household.policies.settings.dns
        proxy = answers.proxy_addresses(settings, _local_address(flow.client_conn))
        try:
            name = normalise_host(q.name)
        except BadHost:
            name = ""  # decided below like any bad host: blocked
        opts = ctx.options
        special = answers.special(name, opts.onboarding_host if opts.onboarding else None, proxy)
        if special is not None:
            return special
        profile = self.shared.profile_for(flow.client_conn)
        decision = self.shared.decide(profile, Facts((q.name,), stage="dns"))
        answer = answers.answer(name, decision, settings, proxy)
        if answer.outcome is not None and answers.recorded(q.type):
            self._record(profile, decision, answer.outcome)
        return answer

    def _record(self, profile: Profile, decision: Decision, outcome: str) -> None:
        if self.journal is None:
            return
        lookup = dataclasses.replace(decision, rule=f"{DNS_RULE}{decision.rule}")
        record = record_for(profile, lookup, outcome, self.shared.clock())
        if record is not None:
            self.journal.submit(record)


def filtered(flow: dns.DNSFlow) -> bool:
    """The lookups this addon answers: DNS mode's, and every lookup a WireGuard device sends
    through the tunnel, to the tunnel's own resolver (10.0.0.53, which mitmproxy resolves)
    or to one of the device's choosing (otherwise relayed there unfiltered)."""
    return isinstance(flow.client_conn.proxy_mode, mode_specs.DnsMode | mode_specs.WireGuardMode)


def _local_address(client: connection.Client) -> str | None:
    """The address the lookup was sent to; for a listener on every address (which reports
    0.0.0.0), this machine's address on the way back to the device. In a WireGuard tunnel,
    the tunnel's resolver: every TCP connection in the tunnel reaches the proxy anyway."""
    if isinstance(client.proxy_mode, mode_specs.WireGuardMode):
        return WG_DNS[0]
    local = client.sockname[0] if client.sockname else None
    if local in (None, "0.0.0.0", "::") and client.peername:
        return route_source(client.peername[0])
    return local


@functools.lru_cache(maxsize=1024)
def route_source(peer: str) -> str | None:
    """The source address the kernel picks to reach `peer`: a route lookup (connect() on a
    UDP socket sends nothing), cached per device."""
    try:
        family = socket.AF_INET6 if ":" in peer else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((peer, 9))
            return str(s.getsockname()[0])
    except OSError:
        return None


def _address_records(q: dns.Question, answer: answers.Answer) -> list[dns.ResourceRecord]:
    out = []
    for a in answers.addresses_for(q.type, answer.addresses):
        ip = ipaddress.ip_address(a)
        data = ip.packed
        out.append(dns.ResourceRecord(q.name, q.type, q.class_, answer.ttl, data))
    return out


def _without_ech(records: list[dns.ResourceRecord]) -> list[dns.ResourceRecord]:
    out = []
    for rr in records:
        data = answers.without_ech(rr.type, rr.data)
        if data is not None:
            rr.data = data
            out.append(rr)
    return out


async def ask_upstream(query: dns.DNSMessage, upstream: tuple[str, int]) -> dns.DNSMessage:
    """The upstream resolver's answer (UDP, then TCP when it was truncated); SERVFAIL when it
    does not answer in time."""
    try:
        async with asyncio.timeout(UPSTREAM_TIMEOUT):
            data = await _udp(query.packed, query.id, upstream)
            reply = dns.DNSMessage.unpack(data)
            if reply.truncation:
                reply = dns.DNSMessage.unpack(await _tcp(query.packed, upstream))
            return reply
    except (OSError, TimeoutError, struct.error, ValueError, EOFError):
        return query.fail(response_codes.SERVFAIL)


async def _udp(packed: bytes, query_id: int, upstream: tuple[str, int]) -> bytes:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class Reply(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            # only the answer to this query: a stray or forged datagram is ignored
            if len(data) >= 2 and int.from_bytes(data[:2]) == query_id and not got.done():
                got.set_result(data)

        def error_received(self, exc: Exception) -> None:
            if not got.done():
                got.set_exception(exc)

    transport, _ = await loop.create_datagram_endpoint(Reply, remote_addr=upstream)
    try:
        transport.sendto(packed)
        return await got
    finally:
        transport.close()


async def _tcp(packed: bytes, upstream: tuple[str, int]) -> bytes:
    reader, writer = await asyncio.open_connection(*upstream)
    try:
        writer.write(len(packed).to_bytes(2) + packed)
        await writer.drain()
        size = int.from_bytes(await reader.readexactly(2))
        return await reader.readexactly(size)
    finally:
        writer.close()
