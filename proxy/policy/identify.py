"""Which profile a connection belongs to (PRODUCT.md, "Devices and HTTPS").

The tables are built once per policy set, so attributing a connection costs a few dict
lookups however many profiles and devices there are. Pure: no I/O, no mitmproxy, so it is
cheap to test and to use from `vaccine explain`.

Order, first match wins:

1. proxy login — the caller has already verified the password. A login that is valid in the
   htpasswd file but named by no profile's `devices:` identifies nobody, and attribution
   falls through to the next steps, as if the device had sent no credentials;
2. source address — the most specific network wins (`192.168.1.23` beats `192.168.1.0/24`);
   an IPv4-mapped IPv6 peer (`::ffff:192.168.1.23`) is matched as the IPv4 address;
3. listening port;
4. proxy mode (`wireguard:emma.conf@51821`);
5. `settings.unknown_devices`.

Connections through a WireGuard mode skip step 2: mitmproxy gives every WireGuard peer the
same tunnel address (10.0.0.1), so it identifies no one and would let an `address:` rule
for a real LAN such as 10.0.0.0/24 capture every WireGuard device.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Literal

from vaccine.proxy.errors import Problem
from vaccine.proxy.policy.model import Device, Network, PolicySet, Profile
from vaccine.proxy.util.words import split_mode

How = Literal["login", "address", "port", "mode", "unknown_devices"]

# Listen hosts that mean "every address": one listener per port can hold them, so a mode
# written with or without one names the same listener.
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]", "*"})
# Modes whose peer address is made up by mitmproxy rather than seen on the network.
_SYNTHETIC_PEER_MODES = frozenset({"wireguard"})


@dataclass(frozen=True)
class Identity:
    profile_id: str
    how: How


@functools.lru_cache(maxsize=128)
def canonical_mode(spec: str) -> str:
    """A mitmproxy mode spec in one spelling per listener, for comparing specs.

    Follows `mitmproxy.proxy.mode_specs.ProxyMode.parse` (`mode[:data][@[host:]port]`, mode
    names case-insensitive) without importing mitmproxy. `regular@8081`, `Regular@8081` and
    `regular@0.0.0.0:8081` are the same; a missing port is not filled in with the mode's
    default, because `listen_port` options can move it and a wrong match would put a child
    under someone else's policy, while a missed one only falls back to `unknown_devices`.
    """
    head, host, port = split_mode(spec)
    name, sep, data = head.partition(":")
    out = name.lower() + sep + data
    if "@" in spec:
        if port is None:
            return spec.strip()  # mitmproxy refuses it, so it can never match a connection
        host = "" if host in _WILDCARD_HOSTS else host
        out += f"@{host}:{port}" if host else f"@{port}"
    return out


def _mode_name(spec: str) -> str:
    return canonical_mode(spec).partition("@")[0].partition(":")[0]


def _normal_network(network: Network) -> Network:
    # A v4-mapped IPv6 network is written for IPv4 peers, and peers are matched as IPv4.
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def _peer_address(peer: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(peer.partition("%")[0])  # a scope id is not part of it
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class _Networks:
    """Most-specific-network lookup: one dict per prefix length, longest prefix first."""

    def __init__(self, bits: int):
        self._bits = bits
        self._by_len: dict[int, dict[int, str]] = {}
        self._order: list[tuple[int, dict[int, str]]] = []

    def claim_key(self, network: Network) -> tuple[object, ...]:
        return self._bits, network.prefixlen, int(network.network_address)

    def add(self, network: Network, profile_id: str) -> None:
        table = self._by_len.get(network.prefixlen)
        if table is None:
            table = self._by_len[network.prefixlen] = {}
            full = (1 << self._bits) - 1
            self._order = [
                (full ^ (full >> length), t)
                for length, t in sorted(self._by_len.items(), reverse=True)
            ]
        table[int(network.network_address)] = profile_id

    def lookup(self, addr: int) -> str | None:
        for mask, table in self._order:
            profile_id = table.get(addr & mask)
            if profile_id is not None:
                return profile_id
        return None


class Identifier:
    """The device tables of one policy set; build a new one when the policies reload.

    When two profiles claim the same login, network, port or mode, the profile whose id sorts
    first keeps it and `problems` names the other; the policy loader should report them.
    """

    def __init__(self, policies: PolicySet):
        self.unknown_devices = policies.settings.unknown_devices
        self._users: dict[str, str] = {}
        self._ports: dict[int, str] = {}
        self._modes: dict[str, str] = {}
        self._v4 = _Networks(32)
        self._v6 = _Networks(128)
        self._claims: dict[tuple[object, ...], str] = {}
        problems: list[Problem] = []
        for profile_id in sorted(policies.profiles):
            profile = policies.profiles[profile_id]
            for device in profile.devices:
                problem = self._add(profile, device)
                if problem is not None:
                    problems.append(problem)
        self.problems: tuple[Problem, ...] = tuple(problems)

    @property
    def logins(self) -> frozenset[str]:
        """Login names some profile uses; the rest of the htpasswd file identifies nobody."""
        return frozenset(self._users)

    def _add(self, profile: Profile, device: Device) -> Problem | None:
        if device.kind == "user":
            problem = self._claim(profile, ("user", device.user), f"user {device.user}")
            if problem is None:
                self._users[device.user] = profile.id
        elif device.kind == "address" and device.network is not None:
            network = _normal_network(device.network)
            table = self._v4 if network.version == 4 else self._v6
            problem = self._claim(profile, table.claim_key(network), f"address {network}")
            if problem is None:
                table.add(network, profile.id)
        elif device.kind == "port":
            problem = self._claim(profile, ("port", device.port), f"port {device.port}")
            if problem is None:
                self._ports[device.port] = profile.id
        elif device.kind == "mode":
            mode = canonical_mode(device.mode)
            problem = self._claim(profile, ("mode", mode), f"mode {device.mode}")
            if problem is None:
                self._modes[mode] = profile.id
        else:
            problem = None
        return problem

    def _claim(self, profile: Profile, claim: tuple[object, ...], described: str) -> Problem | None:
        owner = self._claims.setdefault(claim, profile.id)
        if owner == profile.id:
            return None
        message = f"devices: {described} is also claimed by profile {owner!r}, which keeps it"
        return Problem(str(profile.source), None, message, key="devices")

    def identify(
        self, *, user: str | None, peer: str, listen_port: int | None, mode_spec: str | None
    ) -> Identity:
        """The profile of a connection.

        `user` is a login whose password the caller has verified (None without one); `peer`
        the source address (`client_conn.peername[0]`); `listen_port` and `mode_spec` the
        listener's (`proxy_mode.listen_port(...)`, `proxy_mode.full_spec`).
        """
        if user:
            profile_id = self._users.get(user)
            if profile_id is not None:
                return Identity(profile_id, "login")
        if mode_spec is None or _mode_name(mode_spec) not in _SYNTHETIC_PEER_MODES:
            addr = _peer_address(peer)
            if addr is not None:
                table = self._v4 if addr.version == 4 else self._v6
                profile_id = table.lookup(int(addr))
                if profile_id is not None:
                    return Identity(profile_id, "address")
        if listen_port is not None:
            profile_id = self._ports.get(listen_port)
            if profile_id is not None:
                return Identity(profile_id, "port")
        if mode_spec is not None:
            profile_id = self._modes.get(canonical_mode(mode_spec))
            if profile_id is not None:
                return Identity(profile_id, "mode")
        return Identity(self.unknown_devices, "unknown_devices")
