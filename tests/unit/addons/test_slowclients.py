"""vaccine.proxy.addons.slowclients: who must have spoken by when."""

from __future__ import annotations

from mitmproxy.test import taddons, tflow

from vaccine.proxy.addons.slowclients import SlowClients


def test_waits_start_and_end_with_the_requests() -> None:
    now = [0.0]
    addon = SlowClients(clock=lambda: now[0])
    with taddons.context(addon) as tctx:
        tctx.configure(addon, vaccine_header_timeout=10, vaccine_idle_timeout=60)
        f = tflow.tflow()
        cid = f.client_conn.id
        addon.client_connected(f.client_conn)
        now[0] = 9.0
        assert addon.expired() == []
        now[0] = 10.0
        assert addon.expired() == [cid]  # no request head within 10 s
        addon.requestheaders(f)
        now[0] = 1000.0
        assert addon.expired() == []  # a request in progress is never cut
        addon.response(f)
        now[0] = 1059.0
        assert addon.expired() == []
        now[0] = 1060.0
        assert addon.expired() == [cid]  # idle for a minute after its last response
        addon.client_disconnected(f.client_conn)
        assert addon.expired() == []


def test_a_websocket_is_relayed_as_long_as_it_lives() -> None:
    now = [0.0]
    addon = SlowClients(clock=lambda: now[0])
    with taddons.context(addon):
        f = tflow.twebsocketflow()
        addon.requestheaders(f)
        addon.websocket_start(f)
        addon.response(f)
        now[0] = 1e6
        assert addon.expired() == []


def test_changed_timeouts_apply_to_the_next_wait() -> None:
    now = [0.0]
    addon = SlowClients(clock=lambda: now[0])
    with taddons.context(addon) as tctx:
        f = tflow.tflow()
        addon.client_connected(f.client_conn)  # the defaults are read here: 10 s
        tctx.options.update(vaccine_header_timeout=3, vaccine_idle_timeout=5)
        addon.client_connected(f.client_conn)
        now[0] = 3.0
        assert addon.expired() == [f.client_conn.id]
        addon.requestheaders(f)
        addon.response(f)
        now[0] = 8.0
        assert addon.expired() == [f.client_conn.id]
