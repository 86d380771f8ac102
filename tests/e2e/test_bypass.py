"""Nothing gets around the filter through a tunnel it cannot see into, or a server name it
cannot read: such connections are closed, and the blocked origin is never contacted.

The origins count every TCP connection they accept; a leak is a connection that reached one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .client import Client
from .harness import E2E, RunningProxy
from .hello import with_names
from .household import Household

pytestmark = pytest.mark.e2e

SOURCES = {
    "kid": "127.0.0.1",  # CA installed: a blocked host may be tunnelled to show the page
    "nocert": "127.0.0.2",  # ca_installed: false
    "tunneler": "127.0.0.3",  # tunnels: allow (to allowed hosts only)
}
RAW = {
    "ssh": b"SSH-2.0-OpenSSH_9.6\r\n",
    "random": os.urandom(64).replace(b"\x16", b"\x17"),  # never the TLS record type
    "nul": b"\x00" * 32,
    "openvpn": b"\x00\x0e\x38" + os.urandom(12),
}


def write_household(hh: Household) -> None:
    hh.write_settings()
    hh.write_list("adult", ["adult.test"])

    def profile(pid: str, **extra: object) -> None:
        data = {"name": pid.title(), "devices": [{"address": SOURCES[pid]}]}
        hh.write_profile(
            pid,
            {**data, "block": {"categories": ["adult"], "domains": ["blocked.test"]}, **extra},
        )

    profile("kid")
    profile("nocert", ca_installed=False)
    profile("tunneler", tunnels="allow")
    hh.write_profile("guest", {"name": "Guest"})


@pytest.fixture(scope="module")
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("bypass"))
    write_household(hh)
    with e2e.vaccine(hh) as running:
        yield running


def origin_connections(proxy: RunningProxy) -> int:
    return proxy.e2e.http_origin.connections + proxy.e2e.https_origin.connections


def send_through(client: Client, target: str, payload: bytes) -> tuple[int, bytes]:
    """CONNECT, then `payload`; (CONNECT status, what came back until the proxy closed)."""
    sock, status, _ = client.connect(target)
    with sock:
        if status != 200:
            return status, b""
        try:
            sock.sendall(payload)
            back = b""
            while chunk := sock.recv(4096):
                back += chunk
                if len(back) > 65536:
                    break
        except (ConnectionResetError, BrokenPipeError):
            back = b""
        except TimeoutError:
            back = b"<still open>"
    return status, back


def blocked_targets(proxy: RunningProxy) -> list[str]:
    return [
        "blocked.test:443",
        "adult.test:80",
        "sub.blocked.test:22",
        f"127.0.0.1:{proxy.e2e.https_origin.port}",  # an address: blocked unless allowed
        f"127.0.0.1:{proxy.e2e.http_origin.port}",
    ]


@pytest.mark.parametrize("payload", RAW, ids=list(RAW))
@pytest.mark.parametrize("profile", ["kid", "nocert", "tunneler"])
def test_raw_tunnels_never_reach_a_blocked_host(
    proxy: RunningProxy, profile: str, payload: str
) -> None:
    client = proxy.client(source=SOURCES[profile])
    for target in blocked_targets(proxy):
        before = origin_connections(proxy)
        status, back = send_through(client, target, RAW[payload])
        assert back == b"", f"{target}: the tunnel stayed open or answered ({status}, {back!r})"
        assert origin_connections(proxy) == before, f"{target}: the origin was reached"


def test_raw_tunnels_to_allowed_hosts_follow_the_profile(proxy: RunningProxy) -> None:
    before = origin_connections(proxy)
    status, back = send_through(proxy.client(source=SOURCES["kid"]), "allowed.test:80", RAW["ssh"])
    assert (status, back) == (200, b"")  # tunnels: refuse (the default)
    assert origin_connections(proxy) == before
    status, back = send_through(
        proxy.client(source=SOURCES["tunneler"]), "allowed.test:80", b"NOT-HTTP\r\n\r\n"
    )
    assert status == 200 and origin_connections(proxy) == before + 1  # relayed, untouched


UNUSABLE = {
    "nul": [(0, b"blocked.test\x00")],
    "space": [(0, b"blocked .test")],
    "trailing-dots": [(0, b"blocked.test..")],
    "long-label": [(0, b"a" * 64 + b".blocked.test")],
    "long-name": [(0, b"x" * 300)],
    "bad-punycode": [(0, b"xn--a.blocked.test")],
    "name-type-1": [(1, b"blocked.test")],
    "two-names": [(0, b"allowed.test"), (0, b"blocked.test")],
    "empty": [(0, b"")],
    "non-ascii": [(0, "blocked.tést".encode())],
    "control": [(0, b"blocked\x07.test")],
}


@pytest.mark.parametrize("case", UNUSABLE, ids=list(UNUSABLE))
@pytest.mark.parametrize("profile", ["kid", "nocert", "tunneler"])
def test_an_unusable_sni_is_a_bad_host_never_no_sni(
    proxy: RunningProxy, profile: str, case: str
) -> None:
    client = proxy.client(source=SOURCES[profile])
    before = origin_connections(proxy)
    status, back = send_through(client, "allowed.test:443", with_names(*UNUSABLE[case]))
    assert (status, back) == (200, b""), f"not closed: {back[:80]!r}"
    assert origin_connections(proxy) == before, "passed through to the CONNECT target"


def test_two_server_name_extensions_are_refused(proxy: RunningProxy) -> None:
    client = proxy.client(source=SOURCES["kid"])
    before = origin_connections(proxy)
    hello = with_names((0, b"allowed.test"), repeat=2)
    assert send_through(client, "allowed.test:443", hello) == (200, b"")
    assert origin_connections(proxy) == before


def test_a_good_sni_to_an_allowed_host_still_passes_through(proxy: RunningProxy) -> None:
    r = proxy.client(source=SOURCES["kid"]).https("allowed.test:443", path="/x")
    assert r.issuer == "origin" and r.response is not None and r.response.status == 200, r


def test_a_half_sent_clienthello_waits_for_the_rest(proxy: RunningProxy) -> None:
    hello = with_names((0, b"blocked .test"))
    sock, status, _ = proxy.client(source=SOURCES["kid"]).connect("allowed.test:443")
    with sock:
        assert status == 200
        sock.sendall(hello[:20])
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # not decided on a fragment (it would read as "no SNI")
        sock.settimeout(10)
        sock.sendall(hello[20:])
        assert sock.recv(1) == b""
