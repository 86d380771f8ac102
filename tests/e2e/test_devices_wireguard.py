"""`vaccine devices add --wireguard`, proven with a real WireGuard client: two devices of two
profiles get a listener each; a client configured from the device's QR code (read back with
zbarimg) reaches the internet namespace through its tunnel and is decided by its own profile."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import E2E, free_port, wait_until
from .household import Household
from .netns import Net, gateway_net
from .proc import ProxyProcess

pytestmark = [pytest.mark.e2e, pytest.mark.netns]

ORIGIN = Path(__file__).with_name("netorigin.py")
IFACE = "vkwgd0"


def conf_values(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def device_conf(hh: Household, name: str) -> dict[str, str]:
    """The configuration as the phone's camera would read it: from the QR code's PNG."""
    png = hh.db.parent / "devices" / f"{name}.png"
    if shutil.which("zbarimg") is None:
        return conf_values((hh.db.parent / "devices" / f"{name}.client.conf").read_text())
    read = subprocess.run(
        ["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, timeout=30
    )
    assert read.returncode == 0, read.stderr
    return conf_values(read.stdout)


class Devices:
    def __init__(self, net: Net, hh: Household, env: dict[str, str], origin: ProxyProcess):
        self.net, self.hh, self.env, self.origin = net, hh, env, origin

    def seen(self) -> list[str]:
        return [line for stream, line in self.origin.lines if stream == "stdout"]

    def through(self, name: str, url_host: str) -> str:
        """Bring up `name`'s tunnel in the child namespace, fetch http://url_host/, take it
        down again; the HTTP status curl saw."""
        conf = device_conf(self.hh, name)
        child, web = self.net.child, self.net.web_ip
        private = self.hh.root / f"{name}.key"
        private.write_text(conf["PrivateKey"] + "\n")
        private.chmod(0o600)
        client = ProxyProcess(child.argv("wireguard-go", "-f", IFACE), self.env, self.hh.root)
        try:
            wait_until(
                lambda: child.run("ip", "link", "show", IFACE, check=False).returncode == 0,
                what="the WireGuard interface",
            )
            child.run(
                "wg", "set", IFACE, "private-key", str(private), "peer", conf["PublicKey"],
                "endpoint", conf["Endpoint"], "allowed-ips", "0.0.0.0/0",
            )  # fmt: skip
            child.run("ip", "addr", "add", conf["Address"], "dev", IFACE)
            child.run("ip", "link", "set", IFACE, "up")
            child.run("ip", "route", "add", f"{web}/32", "dev", IFACE)
            code, status = child.curl("--resolve", f"{url_host}:80:{web}", f"http://{url_host}/")
            return status
        finally:
            client.stop(signal.SIGTERM)
            wait_until(
                lambda: child.run("ip", "link", "show", IFACE, check=False).returncode != 0,
                what="the WireGuard interface gone",
            )


@pytest.fixture(scope="module")
def devices(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devices]:
    for tool in ("wireguard-go", "wg"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: wireguard-go, wireguard-tools)")
    with gateway_net(11) as net:
        hh = Household(tmp_path_factory.mktemp("wg-devices"))
        hh.write_settings()
        hh.write_profile("kid", {"name": "Kid", "block": {"domains": ["blocked.test"]}})
        hh.write_profile("teen", {"name": "Teen"})
        hh.write_profile("guest", {"name": "Guest", "block": {"domains": ["blocked.test"]}})
        for name, profile in (("kid-phone", "kid"), ("teen-phone", "teen")):
            made = e2e.cli(
                hh, "devices", "add", name, "--profile", profile, "--wireguard",
                "--endpoint", net.gateway_ip, "--policies", str(hh.policies),
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
        home = hh.root / "home"
        home.mkdir(exist_ok=True)
        env = e2e.env(home)
        origin = ProxyProcess(
            net.web.argv(sys.executable, str(ORIGIN), str(tmp_path_factory.mktemp("wgdo"))),
            env, hh.root,
        )  # fmt: skip
        port = free_port()
        # The device listeners bind where the ordinary proxy does: every address here.
        argv = e2e.vaccine_argv(hh, port, extra=["--listen", f"0.0.0.0:{port}"])
        proxy = ProxyProcess(net.gateway.argv(*argv), env, hh.root)
        try:
            origin.wait_for(r"^ready$", stream="stdout")
            proxy.wait_for(r"^vaccine: proxy running on .*:51821")
            yield Devices(net, hh, env, origin)
        finally:
            origin.stop(signal.SIGTERM)
            code = proxy.stop(signal.SIGTERM)
        assert code == 0, proxy.output()


def test_each_device_is_decided_by_its_own_profile(devices: Devices) -> None:
    before = len(devices.seen())
    assert devices.through("kid-phone", "blocked.test") == "403"
    assert "http blocked.test" not in devices.seen()[before:]
    assert devices.through("teen-phone", "blocked.test") == "200"
    assert "http blocked.test" in devices.seen()[before:]
