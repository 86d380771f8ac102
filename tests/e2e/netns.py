"""Network namespaces for gateway tests: a child, a gateway and "the internet", joined by
veth pairs, all made by the test and removed afterwards (root only; skipped elsewhere).

    child (10.213.N.2) ── gateway (10.213.N.1 | 10.214.N.1) ── web (10.214.N.2)

The gateway forwards; what it redirects or drops is each test's business (`gw.run`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

TOOLS = ("ip", "iptables", "curl")


def skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs them)")


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


@dataclass
class Namespace:
    name: str

    def argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, check: bool = True, timeout: float = 30):  # type: ignore[no-untyped-def]
        return subprocess.run(
            self.argv(*argv), capture_output=True, text=True, check=check, timeout=timeout
        )

    def curl(self, *args: str) -> tuple[int, str]:
        """(curl's exit code, the HTTP status it printed) for a request made from here."""
        done = self.run(
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", *args,
            check=False, timeout=30,
        )  # fmt: skip
        return done.returncode, done.stdout.strip()

    def raw_tcp_closed(self, address: str, port: int, payload: bytes) -> bool:
        """Send bytes that are neither TLS nor HTTP; True when the connection was closed (or
        reset) without a byte coming back."""
        done = self.run(
            "python3", "-c",
            f"import socket; s = socket.create_connection(('{address}', {port}), timeout=5); "
            f"s.sendall({payload!r}); s.settimeout(5); print(repr(s.recv(100)))",
            check=False,
        )  # fmt: skip
        return done.stdout.strip() in ("b''", "") or "Reset" in done.stderr

    def send_udp(self, address: str, ports: tuple[int, ...], payload: bytes = b"x") -> None:
        self.run(
            "python3", "-c",
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"[s.sendto({payload!r}, ('{address}', p)) for p in {ports!r}]",
        )  # fmt: skip


@dataclass
class Net:
    child: Namespace
    gateway: Namespace
    web: Namespace
    child_ip: str
    gateway_ip: str
    web_ip: str
    gateway_lan: str  # the gateway's interface towards the child


@contextmanager
def gateway_net(n: int) -> Iterator[Net]:
    skip_unless_possible()
    tag = f"{os.getpid() % 10000}-{n}"
    names = [f"vk-child-{tag}", f"vk-gw-{tag}", f"vk-web-{tag}"]
    child, gw, web = (Namespace(x) for x in names)
    a, b = f"10.213.{n}", f"10.214.{n}"
    lan, wan = f"vkl{tag}", f"vkw{tag}"
    try:
        for name in names:
            sh("ip", "netns", "add", name)
        sh("ip", "link", "add", f"{lan}c", "type", "veth", "peer", "name", lan)
        sh("ip", "link", "add", f"{wan}s", "type", "veth", "peer", "name", wan)
        sh("ip", "link", "set", f"{lan}c", "netns", child.name)
        sh("ip", "link", "set", lan, "netns", gw.name)
        sh("ip", "link", "set", wan, "netns", gw.name)
        sh("ip", "link", "set", f"{wan}s", "netns", web.name)
        steps: Sequence[tuple[Namespace, list[str]]] = [
            (child, ["ip", "addr", "add", f"{a}.2/24", "dev", f"{lan}c"]),
            (gw, ["ip", "addr", "add", f"{a}.1/24", "dev", lan]),
            (gw, ["ip", "addr", "add", f"{b}.1/24", "dev", wan]),
            (web, ["ip", "addr", "add", f"{b}.2/24", "dev", f"{wan}s"]),
            *[(ns, ["ip", "link", "set", "lo", "up"]) for ns in (child, gw, web)],
            (child, ["ip", "link", "set", f"{lan}c", "up"]),
            (gw, ["ip", "link", "set", lan, "up"]),
            (gw, ["ip", "link", "set", wan, "up"]),
            (web, ["ip", "link", "set", f"{wan}s", "up"]),
            (child, ["ip", "route", "add", "default", "via", f"{a}.1"]),
            (web, ["ip", "route", "add", "default", "via", f"{b}.1"]),
            (gw, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]),
            (gw, ["sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0"]),
        ]
        for ns, argv in steps:
            ns.run(*argv)
        yield Net(child, gw, web, f"{a}.2", f"{a}.1", f"{b}.2", lan)
    finally:
        for name in names:  # removing a namespace removes its interfaces and rules
            sh("ip", "netns", "del", name, check=False)
