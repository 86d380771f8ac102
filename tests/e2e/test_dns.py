"""DNS mode end to end: a real `vaccine run --mode dns@PORT`, real `dig` and `kdig` from two
devices (127.0.0.2 is a child's, 127.0.0.3 a guest's), and a stand-in upstream resolver
(tests/e2e/fakedns.py) that remembers every name it was asked."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .fakedns import ADDRESSES, FakeResolver
from .harness import E2E, RunningProxy, wait_until
from .household import Household
from .logdb import rows

pytestmark = pytest.mark.e2e

KID, GUEST = "127.0.0.2", "127.0.0.3"
OTHER = "10.9.0.1"  # what the stand-in upstream answers for any other name in its zone


def free_udp_port() -> int:
    """A port free for both UDP and TCP: DNS mode listens on both."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket() as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


@dataclass
class Dns:
    proxy: RunningProxy
    upstream: FakeResolver
    port: int
    household: Household

    def dig(self, source: str, name: str, rtype: str = "A", *opts: str) -> str:
        """dig's answer section and status line, as text."""
        argv = ["dig", "-b", source, "-p", str(self.port), "@127.0.0.1", name, rtype,
                "+noall", "+answer", "+comments", "+time=5", "+tries=1", *opts]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout

    def short(self, source: str, name: str, rtype: str = "A") -> list[str]:
        return [line for line in self.dig(source, name, rtype, "+short").splitlines() if line]

    def status(self, source: str, name: str, rtype: str = "A") -> str:
        m = re.search(r"status: (\w+)", self.dig(source, name, rtype))
        assert m, f"no answer from the proxy for {name}"
        return m[1]


@pytest.fixture(scope="module")
def lookups(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dns]:
    if shutil.which("dig") is None:
        pytest.skip("dig is not installed")
    upstream = FakeResolver().start()
    hh = Household(tmp_path_factory.mktemp("dns"))
    hh.write_settings(dns={"upstream": f"127.0.0.1:{upstream.address[1]}"})
    hh.write_list("adult", ["adult.test"])
    hh.write_list("doh", ["dns.google", "cloudflare-dns.com", "doh.opendns.com"])
    hh.write_list("games", ["games.test"])
    kid = {"name": "Kid", "devices": [{"address": KID}], "safe_search": "strict",
           "block": {"categories": ["adult", "doh"], "domains": ["blocked.test"]},
           "limits": {"games": "1h"}}  # fmt: skip
    hh.write_profile("kid", kid)
    hh.write_profile("guest", {"name": "Guest"})
    port = free_udp_port()
    try:
        with e2e.vaccine(hh, modes=[f"dns@{port}"]) as proxy:
            yield Dns(proxy, upstream, port, hh)
    finally:
        upstream.close()


def test_a_blocked_name_is_the_proxy_for_the_child_only(lookups: Dns) -> None:
    for name in ("blocked.test", "www.blocked.test", "adult.test", "x.y.adult.test"):
        assert lookups.short(KID, name) == ["127.0.0.1"], name  # where the block page is
        assert lookups.short(GUEST, name) == [OTHER], name
    # other record types of a blocked name: an empty answer, not another address
    assert lookups.status(KID, "blocked.test", "TXT") == "NOERROR"
    assert lookups.short(KID, "blocked.test", "TXT") == []
    assert lookups.short(KID, "blocked.test", "AAAA") == []
    assert lookups.short(GUEST, "blocked.test", "TXT") == ['"upstream says hello"']
    # the child's lookups of blocked names never left the proxy
    asked_by_anyone = lookups.upstream.names()
    assert asked_by_anyone.count("blocked.test") == 2  # the guest's A and TXT
    assert "x.y.adult.test" in asked_by_anyone  # the guest's


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("www.google.com", "forcesafesearch.google.com"),
        ("www.google.co.uk", "forcesafesearch.google.com"),
        ("www.bing.com", "strict.bing.com"),
        ("duckduckgo.com", "safe.duckduckgo.com"),
        ("www.youtube.com", "restrict.youtube.com"),
        ("m.youtube.com", "restrict.youtube.com"),
    ],
)
def test_safe_search_answers_each_engine_with_its_safe_host(
    lookups: Dns, name: str, safe: str
) -> None:
    assert lookups.short(KID, name) == [f"{safe}.", ADDRESSES[safe]]
    # the guest's profile has no safe search: the engine's own address
    assert lookups.short(GUEST, name) == [ADDRESSES.get(name, OTHER)]
    answer = lookups.dig(KID, name)
    assert re.search(
        rf"^{re.escape(name)}\.\s+\d+\s+IN\s+CNAME\s+{re.escape(safe)}\.$", answer, re.M
    )


def test_yahoo_and_an_engines_other_hosts_resolve_as_asked(lookups: Dns) -> None:
    assert lookups.short(KID, "search.yahoo.com") == [ADDRESSES["search.yahoo.com"]]
    assert lookups.short(KID, "mail.google.com") == [OTHER]


@pytest.mark.parametrize(
    "name", ["use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"]
)
def test_canaries_switch_encrypted_dns_and_private_relay_off_for_everyone(
    lookups: Dns, name: str
) -> None:
    for source in (KID, GUEST):
        assert lookups.status(source, name) == "NXDOMAIN"
        assert lookups.status(source, name, "AAAA") == "NXDOMAIN"
    assert name not in lookups.upstream.names()


@pytest.mark.parametrize("name", ["dns.google", "cloudflare-dns.com", "mozilla.cloudflare-dns.com"])
def test_encrypted_resolvers_do_not_exist_for_the_child(lookups: Dns, name: str) -> None:
    assert lookups.status(KID, name) == "NXDOMAIN"
    assert lookups.status(KID, name, "HTTPS") == "NXDOMAIN"
    assert lookups.status(GUEST, name) == "NOERROR"  # a profile that does not block doh


def test_ech_is_removed_from_https_and_svcb_records(lookups: Dns) -> None:
    upstream = lookups.upstream.address
    direct = subprocess.run(
        ["dig", "-p", str(upstream[1]), f"@{upstream[0]}", "ech.test", "HTTPS", "+short"],
        capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    assert "ech=" in direct  # what the proxy receives carries an ECH configuration
    for source in (KID, GUEST):
        for name, rtype in (("ech.test", "HTTPS"), ("svcb.test", "TYPE64")):
            answer = lookups.short(source, name, rtype)
            assert len(answer) == 1 and "h2" in answer[0], answer
            assert "ech" not in answer[0], answer


def test_kdig_sees_the_same(lookups: Dns) -> None:
    if shutil.which("kdig") is None:
        pytest.skip("kdig is not installed")

    def kdig(source: str, name: str, rtype: str, *opts: str) -> str:
        argv = ["kdig", "-b", source, "-p", str(lookups.port), "@127.0.0.1", name, rtype,
                "+short", "+timeout=5", "+retry=0", *opts]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout

    assert kdig(KID, "www.blocked.test", "A").split() == ["127.0.0.1"]
    assert kdig(KID, "www.blocked.test", "A", "+tcp").split() == ["127.0.0.1"]
    assert kdig(GUEST, "ok.test", "A", "+tcp").split() == [OTHER]
    assert kdig(GUEST, "www.blocked.test", "A").split() == [OTHER]
    https = kdig(KID, "ech.test", "HTTPS")
    assert "alpn" in https and "ech" not in https, https
    assert kdig(KID, "www.bing.com", "A").split() == [
        "strict.bing.com.",
        ADDRESSES["strict.bing.com"],
    ]


def test_lookups_are_recorded_but_are_never_time_online(lookups: Dns) -> None:
    for _ in range(3):
        assert lookups.short(KID, "games.test") == [OTHER]
    db = lookups.household.db
    sql = (
        "SELECT site, action, rule, sum(count) FROM decisions WHERE profile = 'kid' "
        "GROUP BY 1, 2, 3"
    )

    def recorded() -> dict[tuple[str, str, str], int]:
        return {(s, a, r): n for s, a, r, n in rows(db, sql)}

    wait_until(lambda: recorded().get(("games.test", "allowed", "dns.default"), 0) >= 3)
    got = recorded()
    assert got[("blocked.test", "blocked", "dns.block.domains")] >= 1
    assert got[("google.com", "rewritten", "dns.safe_search")] >= 1
    assert got[("dns.google", "blocked", "dns.block.categories")] >= 1
    assert not any(site in ("icloud.com", "use-application-dns.net") for site, _, _ in got)
    assert rows(db, "SELECT * FROM activity") == []  # no lookup is time spent
    # and nothing the proxy printed names a site
    out = lookups.proxy.process.output()
    assert not re.search(r"blocked\.test|adult\.test|google|bing|icloud", out), out


def test_a_changed_dns_setting_applies_without_a_restart(lookups: Dns) -> None:
    """Runs last in this module: it changes settings.yaml, and puts it back."""
    hh, upstream = lookups.household, lookups.upstream.address
    settings = {"upstream": f"127.0.0.1:{upstream[1]}"}
    try:
        mark = lookups.proxy.process.mark()
        hh.write_settings(dns={**settings, "block_answer": "refuse"})
        lookups.proxy.wait_reloaded(mark, lambda: lookups.status(KID, "blocked.test") == "REFUSED")
        mark = lookups.proxy.process.mark()
        hh.write_settings(dns={**settings, "block_answer": "nxdomain"})
        lookups.proxy.wait_reloaded(mark, lambda: lookups.status(KID, "blocked.test") == "NXDOMAIN")
        assert lookups.short(GUEST, "blocked.test") == [OTHER]
    finally:
        mark = lookups.proxy.process.mark()
        hh.write_settings(dns=settings)
        lookups.proxy.wait_reloaded(
            mark, lambda: lookups.short(KID, "blocked.test") == ["127.0.0.1"]
        )
