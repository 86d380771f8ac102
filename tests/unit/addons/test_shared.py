"""vaccine.proxy.addons.shared: what the addons remember between requests (identities, the
options they read) must never outlive what it was computed from."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from mitmproxy.addons import onboarding, proxyserver
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.decision import TAG, PolicyDecision
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.household import Household
from vaccine.proxy.policy.model import Device

from ..test_decision import NOON
from .conftest import make_household

PEER = "192.168.1.23"


def flow_from(peer: str, host: str = "example.com") -> tflow.HTTPFlow:
    f = tflow.tflow(req=tutils.treq(host=host))
    f.client_conn.peername = (peer, 51000)
    return f


def with_device(tmp_path: Path, profile: str) -> Household:
    tmp_path.mkdir(exist_ok=True)
    device = (Device("address", network=ipaddress.ip_network(f"{PEER}/32")),)
    kids: dict[str, dict[str, object]] = {"emma": {}, "leo": {}}
    kids[profile]["devices"] = device
    return make_household(tmp_path, **kids)


def test_a_reloaded_household_attributes_the_next_request_afresh(
    tmp_path: Path, tctx: taddons.context
) -> None:
    shared = Shared(with_device(tmp_path / "a", "emma"), clock=lambda: NOON)
    assert shared.profile_for(flow_from(PEER).client_conn).id == "emma"
    shared.household = with_device(tmp_path / "b", "leo")  # what the reloader does
    assert shared.profile_for(flow_from(PEER).client_conn).id == "leo"


def test_each_source_address_and_login_is_identified_on_its_own(
    tmp_path: Path, tctx: taddons.context
) -> None:
    household = make_household(
        tmp_path,
        emma={"devices": (Device("user", user="emma-tablet"),)},
        leo={"devices": (Device("address", network=ipaddress.ip_network(f"{PEER}/32")),)},
    )
    shared = Shared(household, clock=lambda: NOON)
    assert shared.profile_for(flow_from(PEER).client_conn).id == "leo"
    assert shared.profile_for(flow_from("192.168.1.24").client_conn).id == "guest"
    logged_in = flow_from(PEER)  # emma's login, on leo's device
    shared.conn(logged_in.client_conn).user = "emma-tablet"
    assert shared.profile_for(logged_in.client_conn).id == "emma"
    assert shared.profile_for(flow_from(PEER).client_conn).id == "leo"


def test_an_unknown_device_is_noted_on_every_request(tmp_path: Path, tctx: taddons.context) -> None:
    shared = Shared(with_device(tmp_path, "emma"), clock=lambda: NOON)
    seen: list[str] = []
    shared.on_unknown = seen.append
    for _ in range(3):
        shared.profile_for(flow_from("192.168.1.99").client_conn)
    assert seen == ["192.168.1.99"] * 3


def test_a_changed_onboarding_option_is_seen_by_the_next_decision(shared: Shared) -> None:
    addon = PolicyDecision(shared)
    with taddons.context(onboarding.Onboarding(), proxyserver.Proxyserver(), addon) as tctx:
        f = flow_from(PEER, "mitm.it")
        addon.requestheaders(f)
        assert f.metadata[TAG].decision.treatment == "onboarding"
        tctx.options.update(onboarding_host="setup.home.arpa")
        f = flow_from(PEER, "mitm.it")
        addon.requestheaders(f)
        assert f.metadata[TAG].decision.treatment != "onboarding"
        f = flow_from(PEER, "setup.home.arpa")
        addon.requestheaders(f)
        assert f.metadata[TAG].decision.treatment == "onboarding"
        tctx.options.update(onboarding=False)
        addon.requestheaders(f := flow_from(PEER, "setup.home.arpa"))
        assert f.metadata[TAG].decision.treatment != "onboarding"
