"""WireGuard mode, proven with a real WireGuard client: a child namespace runs `wireguard-go`
with the client configuration `vaccine run` wrote, sends its traffic to the "internet"
namespace through the tunnel, and the proxy decides it as in transparent mode."""

from __future__ import annotations

import re
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .harness import E2E, free_port, wait_until
from .household import Household
from .netns import Net, gateway_net
from .proc import ProxyProcess

pytestmark = [pytest.mark.e2e, pytest.mark.netns]

ORIGIN = Path(__file__).with_name("netorigin.py")
WG_PORT = 51820
IFACE = "vkwg0"


def conf_values(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


@dataclass
class Tunnel:
    net: Net
    origin: ProxyProcess

    def curl(self, *args: str) -> tuple[int, str]:
        return self.net.child.curl(*args)

    def seen(self) -> list[str]:
        return [line for stream, line in self.origin.lines if stream == "stdout"]


@pytest.fixture(scope="module")
def tunnel(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tunnel]:
    for tool in ("wireguard-go", "wg"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: wireguard-go, wireguard-tools)")
    with gateway_net(8) as net:
        hh = Household(tmp_path_factory.mktemp("wireguard"))
        keys = hh.root / "wg-kid.json"
        mode = f"wireguard:{keys}@{net.gateway_ip}:{WG_PORT}"
        hh.write_settings()
        hh.write_profile(
            "kid",
            {"name": "Kid", "devices": [{"mode": mode}],
             "block": {"domains": ["blocked.test"]}},
        )  # fmt: skip
        hh.write_profile("guest", {"name": "Guest"})
        home = hh.root / "home"
        home.mkdir()
        env = e2e.env(home)
        origin = ProxyProcess(
            net.web.argv(sys.executable, str(ORIGIN), str(tmp_path_factory.mktemp("wgo"))),
            env, hh.root,
        )  # fmt: skip
        proxy = ProxyProcess(
            net.gateway.argv(*e2e.vaccine_argv(hh, free_port(), modes=[mode])), env, hh.root
        )
        try:
            origin.wait_for(r"^ready$", stream="stdout")
            _, line = proxy.wait_for(r"WireGuard client configuration for a device: ")
            conf = conf_values(Path(line.rsplit(": ", 1)[1]).read_text())
            private = hh.root / "client.key"
            private.write_text(conf["PrivateKey"] + "\n")
            private.chmod(0o600)
            child = net.child
            # In the foreground, as our child: stopped with the test, never left behind.
            client = ProxyProcess(child.argv("wireguard-go", "-f", IFACE), env, hh.root)
            wait_until(
                lambda: child.run("ip", "link", "show", IFACE, check=False).returncode == 0,
                what="the WireGuard interface",
            )
            child.run(
                "wg", "set", IFACE, "private-key", str(private), "peer", conf["PublicKey"],
                "endpoint", f"{net.gateway_ip}:{WG_PORT}", "allowed-ips", "0.0.0.0/0",
            )  # fmt: skip
            child.run("ip", "addr", "add", conf["Address"], "dev", IFACE)
            child.run("ip", "link", "set", IFACE, "up")
            # Only "the internet" goes through the tunnel; the endpoint stays on the LAN.
            child.run("ip", "route", "add", f"{net.web_ip}/32", "dev", IFACE)
            child.run("ip", "route", "add", "10.0.0.53/32", "dev", IFACE)  # the tunnel's DNS
            try:
                yield Tunnel(net, origin)
            finally:
                client.stop(signal.SIGTERM)
        finally:
            origin.stop(signal.SIGTERM)
            code = proxy.stop(signal.SIGTERM)
        assert code == 0, proxy.output()


def test_through_the_tunnel_allowed_works_blocked_never_arrives(tunnel: Tunnel) -> None:
    t, web = tunnel, tunnel.net.web_ip
    resolve = ["--resolve", f"allowed.test:80:{web}"]
    assert t.curl(*resolve, "http://allowed.test/") == (0, "200")
    assert "http allowed.test" in t.seen()  # it went through WireGuard and the proxy
    before = len(t.seen())
    assert t.curl("--resolve", f"blocked.test:80:{web}", "http://blocked.test/")[1] == "403"
    # HTTPS: decrypted to show the block page (curl -k accepts the proxy's certificate)
    assert t.curl("-k", "--resolve", f"blocked.test:443:{web}", "https://blocked.test/") == (
        0, "403",
    )  # fmt: skip
    assert t.net.child.raw_tcp_closed(web, 2222, b"SSH-2.0-x\r\n")
    # UDP other than DNS through the tunnel follows the tunnel rule; QUIC is not relayed
    t.net.child.send_udp(web, (5000, 5000, 5000), b"x" * 20)
    assert t.curl(*resolve, "http://allowed.test/")[1] == "200"
    leaked = [line for line in t.seen()[before:] if re.search(r"blocked|^tcp|^udp", line)]
    assert leaked == [], f"reached the internet: {leaked}"


def test_lookups_through_the_tunnel_are_filtered(tunnel: Tunnel) -> None:
    """The tunnel's own resolver, or one the device chose: the profile decides either way."""
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed")
    t, web = tunnel, tunnel.net.web_ip

    def dig(server: str, name: str) -> list[str]:
        done = t.net.child.run("dig", "+short", "+time=5", "+tries=1", f"@{server}", name,
                               check=False)  # fmt: skip
        return done.stdout.split()

    before = len(t.seen())
    assert dig("10.0.0.53", "blocked.test") == ["10.0.0.53"]
    assert dig(web, "www.blocked.test") == ["10.0.0.53"]
    assert dig("10.0.0.53", "mask.icloud.com") == [] and dig(web, "mask.icloud.com") == []
    # a browser that took the answer reaches the proxy, which shows the block page
    assert t.curl("--resolve", "blocked.test:80:10.0.0.53", "http://blocked.test/")[1] == "403"
    assert [line for line in t.seen()[before:] if re.search(r"blocked|^udp", line)] == []
