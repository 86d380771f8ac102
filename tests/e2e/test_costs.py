"""What one client may cost: half-sent requests and ClientHellos are closed after the header
timeout, idle keep-alive connections after the idle timeout, and huge Host headers are
refused without the proxy keeping them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .client import open_socket, read_response
from .harness import E2E, RunningProxy
from .hello import with_names
from .household import Household

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT, IDLE_TIMEOUT = 1, 2


@pytest.fixture(scope="module")
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("costs"))
    hh.write_settings()
    hh.write_profile(
        "kid",
        {"name": "Kid", "devices": [{"address": "127.0.0.1"}],
         "block": {"domains": ["blocked.example", "blocked.test"]}},
    )  # fmt: skip
    hh.write_profile("guest", {"name": "Guest"})
    extra = ["--set", f"vaccine_header_timeout={HEADER_TIMEOUT}",
             "--set", f"vaccine_idle_timeout={IDLE_TIMEOUT}"]  # fmt: skip
    with e2e.vaccine(hh, extra=extra) as running:
        yield running


def closed_by_proxy(sock: socket.socket, within: float) -> bool:
    """True when the proxy closes the connection within `within` seconds (recv: EOF)."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass  # an error page before closing is fine
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_half_sent_requests_are_closed(proxy: RunningProxy) -> None:
    socks = []
    try:
        for _ in range(100):
            s = open_socket(proxy.port)
            s.sendall(b"GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nX-Pad: ")
            socks.append(s)
        slow_tls = open_socket(proxy.port)
        slow_tls.sendall(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
        assert slow_tls.recv(4096).startswith(b"HTTP/1.1 200")
        slow_tls.sendall(with_names((0, b"allowed.test"))[:10])
        socks.append(slow_tls)
        silent = open_socket(proxy.port)  # connects and says nothing at all
        socks.append(silent)
        assert all(closed_by_proxy(s, HEADER_TIMEOUT + 5) for s in socks)
    finally:
        for s in socks:
            s.close()
    assert proxy.client().get("http://allowed.test/").status == 200  # still serving


def test_an_idle_keep_alive_connection_is_closed_a_busy_one_is_not(proxy: RunningProxy) -> None:
    with open_socket(proxy.port) as s:
        # Answered by the proxy itself (the block page), so the connection stays alive.
        request = b"GET http://blocked.test/ HTTP/1.1\r\nHost: blocked.test\r\n\r\n"
        for _ in range(3):  # requests well inside the timeouts keep it open
            s.sendall(request)
            s.settimeout(10)
            assert read_response(s).status == 403
        assert closed_by_proxy(s, IDLE_TIMEOUT + 5)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_huge_host_headers_are_refused_and_not_kept(proxy: RunningProxy) -> None:
    """Kept, they would grow the proxy by a megabyte each; refused, the memory the allocator
    holds after the first few (it does not hand freed megabytes back at once) stays flat."""
    pid = proxy.process.proc.pid
    client = proxy.client()

    def send(first: int, count: int) -> None:
        for i in range(first, first + count):
            pad = f"{i:04d}" + "p" * (1 << 20)
            r = client.get("http://blocked.example/", headers={"host": f"{pad}@blocked.example"})
            assert r.status in (400, 403) and not r.from_origin

    send(0, 50)
    before = rss_kib(pid)
    send(50, 150)
    grown = (rss_kib(pid) - before) / 1024
    assert grown < 20, f"the proxy kept {grown:.0f} MiB more after 150 distinct 1 MB Host headers"
