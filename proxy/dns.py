"""DNS mode: how one lookup is answered, from the same decision the proxy makes for a request.

Pure: names, types and a `Decision` in, an `Answer` out; proxy.addons.dns carries it out. The
profile's decision is made by `Household.decide` with `Facts((name,), stage="dns")`, so
`vaccine explain` and the tests see what DNS does; this module only adds what is DNS's own:

- the canary names that switch a device's own encrypted DNS off are answered NXDOMAIN for
  every device, before any profile is asked (Firefox's `use-application-dns.net`, Apple's
  Private Relay `mask.icloud.com` / `mask-h2.icloud.com`, and `_dns.resolver.arpa`, by which
  a device discovers an encrypted resolver of the network's, RFC 9462);
- the set-up page's name (`mitm.it`) is the proxy's own address, so it opens on a device
  that does not use the proxy by hand (a gateway's transparent mode);
- a blocked name gets `dns.block_answer`: the proxy's address, for A and AAAA, so a browser
  reaching it gets the block page (other types an empty answer); or REFUSED; or NXDOMAIN.
  A `doh` name (an encrypted resolver) is always NXDOMAIN: no page can be shown to a DNS
  client, and a resolver that does not exist makes browsers fall back to the network's DNS;
- safe search: an engine's name is answered as an alias (CNAME) of its safe host
  (proxy.search.safesearch.SAFE_HOSTS), with the safe host's own records from upstream;
- ECH configurations are removed from HTTPS and SVCB records (`strip_ech`), so a browser's
  TLS keeps a server name the proxy can read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from mitmproxy.net.dns import https_records

from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.model import DnsSettings
from vaccine.proxy.search.safesearch import safe_dns_host

#: Names whose non-existence tells a device's own encrypted DNS to stay off.
CANARIES = frozenset(
    {"use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com", "_dns.resolver.arpa"}
)

# Record types (RFC 1035, 3596, 9460).
A, AAAA, SVCB, HTTPS = 1, 28, 64, 65
_ECH = 5  # the SvcParamKey of an ECH configuration

#: A blocked name is cached briefly, so a parent's approval reaches the device within seconds.
BLOCK_TTL = 10
ALIAS_TTL = 300

Kind = Literal["forward", "alias", "address", "nxdomain", "refused"]


@dataclass(frozen=True)
class Answer:
    """What a lookup is answered with.

    - `forward`: resolved upstream as asked;
    - `alias`: a CNAME to `target`, followed by the target's records from upstream;
    - `address`: the `addresses` of the asked family (none of it: an empty answer);
    - `nxdomain` / `refused`: that response code, nothing else.

    `outcome` is the log's (blocked / allowed / rewritten), None when not recorded at all.
    """

    kind: Kind
    outcome: str | None
    target: str = ""
    addresses: tuple[str, ...] = ()
    ttl: int = BLOCK_TTL


def special(name: str, onboarding_host: str | None, proxy: tuple[str, ...]) -> Answer | None:
    """The answer for a name that is the network's business, not a profile's (or None)."""
    if name in CANARIES:
        return Answer("nxdomain", None)  # a device asking, not a child: nothing recorded
    if onboarding_host and name == onboarding_host and proxy:
        return Answer("address", None, addresses=proxy)
    return None


def answer(name: str, decision: Decision, dns: DnsSettings, proxy: tuple[str, ...]) -> Answer:
    """How a lookup of `name` is answered, given the profile's decision on it (stage `dns`)
    and the proxy's own addresses as the device reaches it (`proxy_addresses`)."""
    if decision.blocked:
        if "doh" in decision.categories or dns.block_answer == "nxdomain":
            return Answer("nxdomain", "blocked")
        if dns.block_answer == "refuse" or not proxy:
            return Answer("refused", "blocked")
        return Answer("address", "blocked", addresses=proxy)
    if decision.treatment == "rewrite":
        target = safe_dns_host(decision.host)
        if target is not None:
            return Answer("alias", "rewritten", target=target, ttl=ALIAS_TTL)
    return Answer("forward", "allowed")


def proxy_addresses(dns: DnsSettings, local: str | None) -> tuple[str, ...]:
    """The addresses a blocked name is answered with: `proxy_addresses`, else the address the
    lookup was sent to (none when that is a wildcard address)."""
    if dns.proxy_addresses:
        return dns.proxy_addresses
    if not local:
        return ()
    try:
        ip = ipaddress.ip_address(local.split("%", 1)[0])
    except ValueError:
        return ()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return () if ip.is_unspecified else (str(ip),)


def addresses_for(qtype: int, addresses: Iterable[str]) -> list[str]:
    """The addresses that answer a query of `qtype` (A: IPv4, AAAA: IPv6, others: none)."""
    version = {A: 4, AAAA: 6}.get(qtype)
    return [a for a in addresses if ipaddress.ip_address(a).version == version]


def without_ech(rtype: int, rdata: bytes) -> bytes | None:
    """An HTTPS/SVCB record's data with its ECH configuration removed; the data unchanged for
    other types; None when it cannot be read (the record is then dropped: a client without it
    uses the name's A/AAAA records, never an ECH it could hide a blocked name behind)."""
    if rtype not in (HTTPS, SVCB):
        return rdata
    try:
        record = https_records.unpack(rdata)
    except Exception:  # malformed data: whatever it holds, it is not passed on
        return None
    if _ECH not in record.params:
        return rdata
    del record.params[_ECH]
    return https_records.pack(record)


def recorded(qtype: int) -> bool:
    """One record per name lookup: a browser asks A, AAAA and HTTPS for one visit, so only
    the A lookup (which every IPv4 and dual-stack device makes) is counted."""
    return qtype == A
