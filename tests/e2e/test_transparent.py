"""Transparent mode, proven from a child's own network namespace: its real `curl` goes
through a gateway namespace running `vaccine run --mode transparent@8081` (iptables REDIRECT
of every TCP connection, non-DNS UDP dropped at the gateway), to an "internet" namespace
whose origin reports every connection it receives. Nothing of a blocked site reaches it.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import E2E, free_port
from .household import Household
from .netns import Net, gateway_net
from .proc import ProxyProcess

pytestmark = [pytest.mark.e2e, pytest.mark.netns]

ORIGIN = Path(__file__).with_name("netorigin.py")
PORT = 8081


@dataclass
class Gateway:
    net: Net
    proxy: ProxyProcess
    origin: ProxyProcess

    def curl(self, *args: str) -> tuple[int, str]:
        return self.net.child.curl(*args)

    def resolve(self, name: str, port: int) -> list[str]:
        return ["--resolve", f"{name}:{port}:{self.net.web_ip}"]

    def seen(self) -> list[str]:
        return [line for stream, line in self.origin.lines if stream == "stdout"]


@pytest.fixture(scope="module")
def gateway(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with gateway_net(7) as net:
        hh = Household(tmp_path_factory.mktemp("gateway"))
        hh.write_settings()
        hh.write_list("adult", ["adult.test"])
        hh.write_profile(
            "kid",
            {"name": "Kid", "devices": [{"address": net.child_ip}], "ca_installed": False,
             "block": {"categories": ["adult"], "domains": ["blocked.test"]}},
        )  # fmt: skip
        hh.write_profile("guest", {"name": "Guest"})
        lan = net.gateway_lan
        net.gateway.run("iptables", "-t", "nat", "-A", "PREROUTING", "-i", lan, "-p", "tcp",
                        "-j", "REDIRECT", "--to-ports", str(PORT))  # fmt: skip
        net.gateway.run("iptables", "-A", "FORWARD", "-i", lan, "-p", "udp", "!", "--dport",
                        "53", "-j", "DROP")  # fmt: skip
        home = hh.root / "home"
        home.mkdir()
        env = e2e.env(home)
        origin_dir = tmp_path_factory.mktemp("netorigin")
        origin = ProxyProcess(
            net.web.argv(sys.executable, str(ORIGIN), str(origin_dir)), env, hh.root
        )
        argv = e2e.vaccine_argv(hh, free_port(), modes=[f"transparent@0.0.0.0:{PORT}"])
        proxy = ProxyProcess(net.gateway.argv(*argv), env, hh.root)
        try:
            origin.wait_for(r"^ready$", stream="stdout")
            proxy.wait_for(r"vaccine: proxy running on")
            yield Gateway(net, proxy, origin)
        finally:
            origin.stop(signal.SIGTERM)
            code = proxy.stop(signal.SIGTERM)
        assert code == 0, proxy.output()


def test_allowed_sites_work_through_the_gateway(gateway: Gateway) -> None:
    assert gateway.curl(*gateway.resolve("allowed.test", 80), "http://allowed.test/") == (0, "200")
    assert gateway.curl("-k", *gateway.resolve("allowed.test", 443), "https://allowed.test/") == (
        0,
        "200",
    )  # passed through untouched: the origin's own certificate
    assert "http allowed.test" in gateway.seen() and "tls allowed.test" in gateway.seen()


def test_nothing_of_a_blocked_site_reaches_the_internet(gateway: Gateway) -> None:
    before = len(gateway.seen())
    g = gateway
    code, status = g.curl(*g.resolve("blocked.test", 80), "http://blocked.test/x")
    assert (code, status) == (0, "403")  # the block page, from the gateway
    code, status = g.curl(*g.resolve("www.adult.test", 80), "http://www.adult.test/")
    assert status == "403"
    # HTTPS, no CA on this device: refused at the ClientHello (curl: connection error)
    code, status = g.curl("-k", *g.resolve("blocked.test", 443), "https://blocked.test/")
    assert code != 0 and status in ("000", "")
    # No SNI at all: only the address is known, and an address is blocked unless allowed
    code, _ = g.curl("-k", f"https://{g.net.web_ip}/")
    assert code != 0
    # A Host header naming the blocked site, sent to an allowed address
    code, status = g.curl("-H", "Host: blocked.test", f"http://{g.net.web_ip}/")
    assert status == "403"
    # Neither TLS nor HTTP (SSH on another port): the tunnel rule refuses it
    assert g.net.child.raw_tcp_closed(g.net.web_ip, 2222, b"SSH-2.0-x\r\n")
    # UDP other than DNS: dropped by the gateway (QUIC falls back to TCP, then decided)
    g.net.child.send_udp(g.net.web_ip, (5000, 443))
    # A last allowed request: everything before it has reached the origin if it ever would.
    assert g.curl(*g.resolve("allowed.test", 80), "http://allowed.test/")[1] == "200"
    leaked = [
        line for line in g.seen()[before:]
        if re.search(r"blocked|adult|^tcp|^udp|^tls $|^http " + re.escape(g.net.web_ip), line)
    ]  # fmt: skip
    assert leaked == [], f"reached the internet: {leaked}"
