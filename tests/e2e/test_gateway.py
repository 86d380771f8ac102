"""The README's gateway recipe, run exactly as written (docs/gateway.sh, which the README
shows verbatim) in a gateway namespace: a child's namespace has it as its default route and
its DNS server; "the internet" namespace holds a resolver and the origins. DNS and transparent
mode together: a blocked name resolves to the gateway, whose block page the child gets; an
allowed one resolves upstream and works; nothing of the blocked site leaves the gateway."""

from __future__ import annotations

import re
import shutil
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .fakedns import ADDRESSES
from .harness import E2E
from .household import Household
from .netns import Namespace, Net, gateway_net
from .proc import ProxyProcess

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "docs" / "gateway.sh"
README = ROOT / "README.md"
HERE = Path(__file__).parent
NETNS_ETC = Path("/etc/netns")


def readme_recipe() -> str:
    """The code block that follows the README's gateway recipe marker."""
    text = README.read_text(encoding="utf-8")
    marker = "<!-- docs/gateway.sh -->"
    assert marker in text, "README: the gateway recipe section lost its marker"
    block = re.search(r"```sh\n(.*?)```", text[text.index(marker) :], re.S)
    assert block, "README: no sh block after the gateway recipe marker"
    return block[1]


def test_the_readme_shows_the_recipe_the_test_runs() -> None:
    assert readme_recipe() == RECIPE.read_text(encoding="utf-8")


@dataclass
class Lab:
    net: Net
    proxy: ProxyProcess
    upstream: ProxyProcess
    origin: ProxyProcess

    def dig(self, *args: str) -> list[str]:
        done = self.net.child.run("dig", "+short", "+time=5", "+tries=1", *args, check=False)
        return [line for line in done.stdout.splitlines() if line]

    def asked(self) -> list[str]:
        return [line for s, line in self.upstream.lines if s == "stdout" and line != "ready"]

    def seen(self) -> list[str]:
        return [line for s, line in self.origin.lines if s == "stdout" and line != "ready"]


def resolv_conf(ns: Namespace, nameserver: str) -> Path:
    """`ip netns exec` shows /etc/netns/NAME/resolv.conf as the namespace's /etc/resolv.conf."""
    folder = NETNS_ETC / ns.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resolv.conf").write_text(f"nameserver {nameserver}\n")
    return folder


@pytest.fixture(scope="module")
def lab(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed")
    with gateway_net(8) as net:
        had_netns = NETNS_ETC.exists()
        made = [resolv_conf(net.child, net.gateway_ip), resolv_conf(net.gateway, net.web_ip)]
        procs: list[ProxyProcess] = []
        try:
            hh = Household(tmp_path_factory.mktemp("lab"))
            hh.write_settings()  # no dns.upstream: the gateway's own resolver (resolv.conf)
            hh.write_list("adult", ["adult.test"])
            hh.write_profile(
                "kid",
                {"name": "Kid", "devices": [{"address": net.child_ip}], "ca_installed": False,
                 "safe_search": "strict",
                 "block": {"categories": ["adult"], "domains": ["blocked.test"]}},
            )  # fmt: skip
            hh.write_profile("guest", {"name": "Guest"})
            home = hh.root / "home"
            home.mkdir()
            env = e2e.env(home)
            env.update(
                LAN=net.gateway_lan,
                LAN_ADDRESS=net.gateway_ip,
                PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
            )
            fake = [sys.executable, str(HERE / "fakedns.py"), net.web_ip, "53", net.web_ip]
            upstream = ProxyProcess(net.web.argv(*fake), env, hh.root)
            procs.append(upstream)
            origin_dir = tmp_path_factory.mktemp("netorigin")
            origin_argv = net.web.argv(sys.executable, str(HERE / "netorigin.py"), str(origin_dir))
            origin = ProxyProcess(origin_argv, env, hh.root)
            procs.append(origin)
            # exactly the recipe, from the folder holding policies/ (vaccine's default)
            proxy = ProxyProcess(net.gateway.argv("sh", str(RECIPE)), env, hh.root)
            procs.append(proxy)
            upstream.wait_for(r"^ready$", stream="stdout")
            origin.wait_for(r"^ready$", stream="stdout")
            proxy.wait_for(r"vaccine: proxy running on")
            yield Lab(net, proxy, upstream, origin)
            assert proxy.stop(signal.SIGTERM) == 0, proxy.output()
        finally:
            for p in reversed(procs):
                p.stop(signal.SIGTERM)
            for folder in made:
                shutil.rmtree(folder, ignore_errors=True)
            if not had_netns and not any(NETNS_ETC.iterdir()):
                NETNS_ETC.rmdir()


pytestmark = [pytest.mark.e2e, pytest.mark.netns]


def test_the_childs_lookups_are_filtered_whichever_server_it_asks(lab: Lab) -> None:
    gw, web = lab.net.gateway_ip, lab.net.web_ip
    assert lab.dig("blocked.test") == [gw]  # the gateway, whose block page the child gets
    assert lab.dig("www.adult.test") == [gw]
    assert lab.dig("@8.8.8.8", "blocked.test") == [gw]  # a resolver of its own: redirected
    assert lab.dig("+tcp", "@8.8.8.8", "blocked.test") == [gw]  # over TCP too
    assert lab.dig("allowed.test") == [web]
    assert lab.dig("+tcp", "allowed.test") == [web]
    assert lab.dig("@8.8.8.8", "allowed.test") == [web]
    assert lab.dig("www.google.com") == ["forcesafesearch.google.com.",
                                         ADDRESSES["forcesafesearch.google.com"]]  # fmt: skip
    assert lab.dig("use-application-dns.net") == []
    assert not any("blocked.test" in line or "adult.test" in line for line in lab.asked())


def test_the_child_browses_by_name_through_the_gateway(lab: Lab) -> None:
    before = len(lab.seen())
    assert lab.net.child.curl("http://allowed.test/") == (0, "200")
    code, status = lab.net.child.curl("http://blocked.test/")
    assert (code, status) == (0, "403")  # the block page, from the gateway's own address
    done = lab.net.child.run("curl", "-s", "--max-time", "10", "http://blocked.test/", check=False)
    assert "blocked.test" in done.stdout and "Childline" in done.stdout
    assert lab.net.child.curl("http://allowed.test/again") == (0, "200")
    seen = lab.seen()[before:]
    assert "http allowed.test" in seen
    assert not [line for line in seen if "blocked" in line], seen
