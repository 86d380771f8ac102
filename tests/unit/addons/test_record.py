"""vaccine.proxy.addons.record: one record per final verdict, read from the decision's tags."""

from __future__ import annotations

from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.decision import PolicyDecision
from vaccine.proxy.addons.record import DecisionLog
from vaccine.proxy.addons.shared import Shared

from .conftest import FakeJournal, hello_data, hook


async def test_requests_are_recorded_once_with_their_outcome(
    shared: Shared, journal: FakeJournal, tctx: taddons.context
) -> None:
    addons = [PolicyDecision(shared), DecisionLog(shared, journal)]
    blocked = tflow.tflow(req=tutils.treq(host="adultsite.com", path="/secret"))
    await hook(addons, "requestheaders", blocked)
    allowed = tflow.tflow(req=tutils.treq(host="example.com", path="/secret"))
    await hook(addons, "requestheaders", allowed)
    await hook(addons, "request", allowed)
    assert [(r.site, r.action) for r in journal.records] == [
        ("adultsite.com", "blocked"),
        ("example.com", "allowed"),
    ]
    assert all("secret" not in repr(r) for r in journal.records)


async def test_connection_verdicts_are_recorded_and_the_state_dropped(
    shared: Shared, journal: FakeJournal, tctx: taddons.context
) -> None:
    addons = [PolicyDecision(shared), DecisionLog(shared, journal)]
    data = hello_data(tctx, "example.com")
    await hook(addons, "tls_clienthello", data)
    refused = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    refused.client_conn.proxy_mode = refused.client_conn.proxy_mode.parse("regular@8099")
    await hook(addons, "http_connect", refused)
    assert [(r.site, r.action) for r in journal.records] == [
        ("example.com", "passed-through"),
        ("adultsite.com", "blocked"),
    ]
    await hook(addons, "client_disconnected", refused.client_conn)
    assert refused.client_conn.id not in shared.conns


async def test_onboarding_and_tunnels_are_not_records(
    shared: Shared, journal: FakeJournal, tctx: taddons.context
) -> None:
    addons = [PolicyDecision(shared), DecisionLog(shared, journal)]
    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    await hook(addons, "http_connect", f)  # tunnelled to show the page: the page is the record
    f = tflow.tflow(req=tutils.treq(host="mitm.it"))
    await hook(addons, "requestheaders", f)
    await hook(addons, "request", f)
    assert journal.records == []
