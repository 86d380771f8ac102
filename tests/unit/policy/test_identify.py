from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.policy.identify import Identifier, Identity, canonical_mode
from vaccine.proxy.policy.model import Device, PolicySet, Profile, Settings


def user(name: str) -> Device:
    return Device("user", user=name)


def address(text: str) -> Device:
    return Device("address", network=ipaddress.ip_network(text, strict=False))


def port(number: int) -> Device:
    return Device("port", port=number)


def mode(spec: str) -> Device:
    return Device("mode", mode=spec)


def household(**devices: tuple[Device, ...]) -> PolicySet:
    profiles = {
        pid: Profile(id=pid, name=pid.title(), source=Path(f"policies/{pid}.yaml"), devices=d)
        for pid, d in devices.items()
    }
    profiles["guest"] = Profile(id="guest", name="Guest", source=Path("policies/guest.yaml"))
    return PolicySet(Path("policies"), Settings(unknown_devices="guest"), profiles)


GUEST = Identity("guest", "unknown_devices")

HOME = household(
    emma=(user("emma-tablet"), address("192.168.1.23"), address("2001:db8::23")),
    leo=(user("leo-phone"), port(8082), mode("wireguard:wg/leo.json@51821")),
    lab=(address("10.0.5.0/24"), address("2001:db8:5::/48")),
    school=(address("10.0.0.0/8"),),
    household=(address("192.168.1.0/24"), address("fe80::/64"), mode("regular@0.0.0.0:8081")),
    zoe=(mode("socks5@1080"),),
)


@pytest.mark.parametrize(
    ("user", "peer", "listen_port", "mode_spec", "expected"),
    [
        # a verified login beats everything else
        ("emma-tablet", "10.0.5.7", 8082, "regular@8082", Identity("emma", "login")),
        ("leo-phone", "192.168.1.23", 8080, "regular@8080", Identity("leo", "login")),
        # a valid login no profile names falls through to the address
        ("grandma", "192.168.1.23", 8080, "regular@8080", Identity("emma", "address")),
        ("", "192.168.1.23", 8080, None, Identity("emma", "address")),
        # most specific network wins: /32 over /24, /24 over /8
        (None, "192.168.1.23", 8080, None, Identity("emma", "address")),
        (None, "192.168.1.24", 8080, None, Identity("household", "address")),
        (None, "10.0.5.200", 8080, None, Identity("lab", "address")),
        (None, "10.0.6.1", 8080, None, Identity("school", "address")),
        (None, "10.255.255.255", 8080, None, Identity("school", "address")),
        (None, "11.0.0.1", 8080, None, GUEST),
        # IPv6, IPv4-mapped IPv6 and scoped addresses
        (None, "2001:db8::23", 8080, None, Identity("emma", "address")),
        (None, "2001:db8:5:1::9", 8080, None, Identity("lab", "address")),
        (None, "2001:db8:6::1", 8080, None, GUEST),
        (None, "::ffff:192.168.1.23", 8080, None, Identity("emma", "address")),
        (None, "::ffff:10.0.5.1", 8080, None, Identity("lab", "address")),
        (None, "fe80::1%eth0", 8080, None, Identity("household", "address")),
        (None, "fe80:1::1%eth0", 8080, None, GUEST),
        # address beats port and mode
        (None, "192.168.1.23", 8082, "socks5@1080", Identity("emma", "address")),
        # then the listening port, then the mode
        (None, "172.16.0.9", 8082, "regular@8082", Identity("leo", "port")),
        (None, "172.16.0.9", 8082, "socks5@1080", Identity("leo", "port")),
        (None, "172.16.0.9", 1080, "socks5@1080", Identity("zoe", "mode")),
        (None, "172.16.0.9", 8081, "regular@8081", Identity("household", "mode")),
        (None, "172.16.0.9", 8081, "REGULAR@[::]:8081", Identity("household", "mode")),
        (None, "172.16.0.9", 8081, "regular@127.0.0.1:8081", GUEST),
        # WireGuard peers all have mitmproxy's tunnel address: the mode decides, not 10.0.0.1
        (None, "10.0.0.1", 51821, "wireguard:wg/leo.json@51821", Identity("leo", "mode")),
        (None, "10.0.0.1", 51822, "wireguard:wg/zed.json@51822", GUEST),
        (None, "10.0.0.1", 8080, "regular@8080", Identity("school", "address")),
        # nothing to go on
        (None, "", None, None, GUEST),
        (None, "not an address", None, "local", GUEST),
    ],
)  # fmt: skip
def test_identify(
    user: str | None,
    peer: str,
    listen_port: int | None,
    mode_spec: str | None,
    expected: Identity,
) -> None:
    identifier = Identifier(HOME)
    got = identifier.identify(user=user, peer=peer, listen_port=listen_port, mode_spec=mode_spec)
    assert got == expected


def test_no_devices_at_all_means_unknown_devices() -> None:
    identifier = Identifier(household())
    got = identifier.identify(user="x", peer="192.168.1.2", listen_port=8080, mode_spec="regular")
    assert got == GUEST
    assert identifier.problems == ()


def test_default_route_catches_every_address_only_as_a_last_resort() -> None:
    identifier = Identifier(household(kids=(address("0.0.0.0/0"), address("::/0"))))
    for peer in ("1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1"):
        got = identifier.identify(user=None, peer=peer, listen_port=None, mode_spec=None)
        assert got == Identity("kids", "address")


def test_v4_mapped_network_matches_ipv4_peers() -> None:
    identifier = Identifier(household(emma=(address("::ffff:192.168.1.0/120"),)))
    got = identifier.identify(user=None, peer="192.168.1.7", listen_port=None, mode_spec=None)
    assert got == Identity("emma", "address")


def test_logins_lists_the_names_profiles_use() -> None:
    assert Identifier(HOME).logins == {"emma-tablet", "leo-phone"}


def test_conflicting_devices_are_reported_and_the_first_profile_keeps_them() -> None:
    policies = household(
        zoe=(user("tablet"), address("192.168.1.7/32"), port(8082), mode("socks5@1080")),
        amy=(user("tablet"), address("192.168.1.7"), port(8082), mode("SOCKS5@0.0.0.0:1080")),
        bob=(address("192.168.1.0/24"), address("192.168.1.0/24")),  # twice in one profile: fine
    )
    identifier = Identifier(policies)
    assert [(p.file, p.line, p.key, p.message) for p in identifier.problems] == [
        ("policies/zoe.yaml", None, "devices",
         f"devices: {what} is also claimed by profile 'amy', which keeps it")
        for what in ("user tablet", "address 192.168.1.7/32", "port 8082", "mode socks5@1080")
    ]  # fmt: skip
    got = identifier.identify(user="tablet", peer="", listen_port=None, mode_spec=None)
    assert got == Identity("amy", "login")


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("regular", "regular"),
        ("Regular", "regular"),
        ("regular@8081", "regular@8081"),
        ("regular@0.0.0.0:8081", "regular@8081"),
        ("regular@[::]:8081", "regular@8081"),
        ("regular@127.0.0.1:08081", "regular@127.0.0.1:8081"),
        ("regular@::1:8081", "regular@::1:8081"),
        ("wireguard:wg/emma.json@51820", "wireguard:wg/emma.json@51820"),
        ("WireGuard:wg/Emma.json", "wireguard:wg/Emma.json"),
        ("upstream:http://parent:3128@8080", "upstream:http://parent:3128@8080"),
        (" socks5@1080 ", "socks5@1080"),
        ("regular@nope", "regular@nope"),
    ],
)
def test_canonical_mode(spec: str, canonical: str) -> None:
    assert canonical_mode(spec) == canonical


@pytest.mark.parametrize(
    "spec",
    [
        "regular",
        "regular@8081",
        "regular@0.0.0.0:8081",
        "regular@127.0.0.1:8081",
        "transparent@8080",
        "socks5@1080",
        "wireguard:wg/emma.json@51820",
        "wireguard@51821",
        "upstream:http://parent:3128@8080",
        "reverse:https://example.com@127.0.0.1:443",
    ],
)
def test_canonical_mode_reads_specs_as_mitmproxy_does(spec: str) -> None:
    # identify does not import mitmproxy; this checks its parsing has not drifted.
    from mitmproxy.proxy.mode_specs import ProxyMode

    parsed = ProxyMode.parse(spec)
    name_data, _, listen = canonical_mode(spec).partition("@")
    assert name_data == parsed.type_name + (f":{parsed.data}" if parsed.data else "")
    host, _, port = listen.rpartition(":")
    wildcard = parsed.custom_listen_host in (None, "0.0.0.0")
    assert host == ("" if wildcard else parsed.custom_listen_host)
    assert (int(port) if port else None) == parsed.custom_listen_port


def test_identify_does_not_import_mitmproxy() -> None:
    import subprocess

    code = (
        "import vaccine.proxy.policy.identify, sys; "
        "print(any(m.startswith('mitmproxy') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- invariants ---------------------------------------------------------------------------


@given(
    prefix=st.integers(min_value=8, max_value=31),
    base=st.integers(min_value=0, max_value=2**32 - 1),
    offset=st.integers(min_value=0, max_value=2**32 - 1),
    mapped=st.booleans(),
)
def test_any_address_inside_a_profiles_network_identifies_it(
    prefix: int, base: int, offset: int, mapped: bool
) -> None:
    network = ipaddress.IPv4Network((base, prefix), strict=False)
    inside = network[offset % network.num_addresses]
    wider = ipaddress.IPv4Network((base, prefix - 1), strict=False)
    identifier = Identifier(
        household(
            kid=(Device("address", network=network),),
            school=(Device("address", network=wider),),
        )
    )
    peer = f"::ffff:{inside}" if mapped else str(inside)
    got = identifier.identify(user=None, peer=peer, listen_port=8080, mode_spec="regular@8080")
    assert got == Identity("kid", "address")


@given(
    prefix=st.integers(min_value=16, max_value=127),
    base=st.integers(min_value=0, max_value=2**128 - 1),
    offset=st.integers(min_value=0, max_value=2**128 - 1),
)
def test_any_ipv6_address_inside_a_profiles_network_identifies_it(
    prefix: int, base: int, offset: int
) -> None:
    network = ipaddress.IPv6Network((base, prefix), strict=False)
    if network.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
        return  # matched as IPv4; covered above
    inside = network[offset % network.num_addresses]
    if inside.ipv4_mapped is not None:
        return  # a wide network (::/16) holds v4-mapped peers too: those are IPv4 clients
    identifier = Identifier(household(kid=(Device("address", network=network),)))
    got = identifier.identify(user=None, peer=str(inside), listen_port=None, mode_spec=None)
    assert got == Identity("kid", "address")


@given(peer=st.ip_addresses())
def test_identify_agrees_with_a_scan_over_every_network(
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    networks = {
        "emma": "192.168.1.23/32",
        "household": "192.168.1.0/24",
        "lan": "192.168.0.0/16",
        "lab": "10.0.5.0/24",
        "school": "10.0.0.0/8",
        "v6": "2001:db8::/32",
        "v6lab": "2001:db8:5::/48",
    }
    identifier = Identifier(household(**{p: (address(n),) for p, n in networks.items()}))
    seen_as = peer.ipv4_mapped if peer.version == 6 and peer.ipv4_mapped else peer
    matching = [
        (ipaddress.ip_network(n).prefixlen, p)
        for p, n in networks.items()
        if seen_as in ipaddress.ip_network(n)
    ]
    expected = Identity(max(matching)[1], "address") if matching else GUEST
    got = identifier.identify(user=None, peer=str(peer), listen_port=None, mode_spec=None)
    assert got == expected
