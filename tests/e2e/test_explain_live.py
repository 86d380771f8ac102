"""`vaccine explain` and the running proxy agree: the same facts through both give the same
treatment (refused, passed through, decrypted and answered with which page, forwarded, the
set-up page), including never_decrypt, ca_installed: false, inspect: everything, schedules and
a daily limit used up today (read from the same log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from .client import TLSResult
from .harness import E2E, RunningProxy, wait_until
from .household import Household

pytestmark = pytest.mark.e2e

SOURCES = {
    "kid": "127.0.0.1",  # CA installed, inspect: needed
    "nocert": "127.0.0.2",  # ca_installed: false
    "everything": "127.0.0.3",  # inspect: everything (never_decrypt still wins)
    "limited": "127.0.0.4",  # games: 1 minute a day, used up by the fixture
    "night": "127.0.0.5",  # a schedule window active now, with one site allowed
}


def write_household(hh: Household) -> None:
    now = datetime.now()
    hh.write_settings(never_decrypt=["banking"])
    hh.write_list("adult", ["adult.test"])
    hh.write_list("banking", ["bank.test"])
    hh.write_list("games", ["games.test"])

    def profile(pid: str, **extra: object) -> None:
        data = {"name": pid.title(), "devices": [{"address": SOURCES[pid]}]}
        hh.write_profile(pid, {**data, "block": {"categories": ["adult", "banking"]}, **extra})

    profile("kid", block={"categories": ["adult"], "domains": ["blocked.test"]})
    profile("nocert", ca_installed=False)
    profile("everything", inspect="everything")
    profile("limited", limits={"games": "1m"})
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "from": (now - timedelta(hours=2)).strftime("%H:%M"),
        "to": (now + timedelta(hours=2)).strftime("%H:%M"),
        "block": "everything",
        "allow": ["allowed.test"],
    }
    profile("night", schedule={"bedtime": window})
    hh.write_profile("guest", {"name": "Guest"})


def explain(proxy: RunningProxy, url: str, profile: str) -> dict[str, object]:
    hh = proxy.household
    assert hh is not None
    done = proxy.e2e.cli(
        hh, "explain", url, "--profile", profile, "--json",
        "--policies", str(hh.policies), "--lists", str(hh.lists), "--db", str(hh.db),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def over_tls(r: TLSResult) -> str:
    """The treatment the proxy gave an HTTPS attempt, as seen from the device."""
    if r.refused or r.issuer is None:
        return "refuse"
    if r.issuer == "origin":
        return "pass_through"
    return plain(r.response)


def plain(response: object) -> str:
    assert response is not None
    status, from_origin = response.status, response.from_origin  # type: ignore[attr-defined]
    if from_origin:
        return "forward"
    return "page" if status == 403 else "onboarding"


@pytest.fixture(scope="module")
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("explain-live"))
    write_household(hh)
    with e2e.vaccine(hh) as running:
        # Use up the limited profile's minute of games; both sides read it from the log.
        r = running.client(source=SOURCES["limited"]).get("http://games.test/")
        assert r.status == 200 and r.from_origin, r
        wait_until(
            lambda: explain(running, "http://games.test/", "limited")["rule"] == "limits",
            timeout=10,
            what="the minute of games to reach the log",
        )
        yield running


CASES = [
    ("kid", "https://allowed.test/x"),
    ("kid", "https://adult.test/x"),
    ("kid", "https://blocked.test/x"),
    ("kid", "https://bank.test/x"),
    ("kid", "http://adult.test/x"),
    ("kid", "http://allowed.test/x"),
    ("kid", "https://mitm.it/"),
    ("kid", "http://mitm.it/"),
    ("nocert", "https://adult.test/x"),
    ("nocert", "https://bank.test/x"),
    ("nocert", "https://allowed.test/x"),
    ("nocert", "http://mitm.it/"),
    ("everything", "https://allowed.test/x"),
    ("everything", "https://bank.test/x"),
    ("everything", "https://adult.test/x"),
    ("limited", "https://games.test/x"),
    ("limited", "http://games.test/x"),
    ("limited", "https://allowed.test/x"),
    ("night", "https://games.test/x"),
    ("night", "https://allowed.test/x"),
    ("night", "http://other.test/x"),
]


@pytest.mark.parametrize(("profile", "url"), CASES, ids=[f"{p}-{u}" for p, u in CASES])
def test_explain_says_what_the_proxy_does(proxy: RunningProxy, profile: str, url: str) -> None:
    said = explain(proxy, url, profile)
    client = proxy.client(source=SOURCES[profile])
    scheme, rest = url.split("://", 1)
    host, _, path = rest.partition("/")
    if scheme == "https":
        done = over_tls(client.https(f"{host}:443", path="/" + path))
    else:
        done = plain(client.get(url))
    expected = {"rewrite": "forward"}.get(str(said["treatment"]), said["treatment"])
    assert done == expected, f"explain said {said}, the proxy did {done}"
    if done == "page":
        page = explain(proxy, url, profile)["page"]
        assert page in ("block", "schedule", "times_up", "search")
