"""addons.newdevices: connections that fall to unknown_devices leave their address, and only
that, in the new-devices table; recognised ones and WireGuard peers do not."""

from __future__ import annotations

import json
from pathlib import Path

from mitmproxy.proxy import mode_specs
from mitmproxy.test import taddons, tflow

from vaccine.proxy.addons.newdevices import NewDevices
from vaccine.proxy.addons.shared import Shared


def client(peer: str, mode: str = "regular"):  # type: ignore[no-untyped-def]
    c = tflow.tclient_conn()
    c.peername = (peer, 50000)
    c.proxy_mode = mode_specs.ProxyMode.parse(mode)
    return c


async def test_unknown_addresses_are_noted_and_saved(
    shared: Shared, tctx: taddons.context, tmp_path: Path
) -> None:
    path = tmp_path / "unknown-devices.json"
    addon = NewDevices(shared, path, interval=3600)
    assert shared.profile_for(client("192.168.1.77")).id == "guest"
    assert shared.profile_for(client("::ffff:192.168.1.78")).id == "guest"
    # recognised by its port: not new
    assert shared.profile_for(client("192.168.1.79", "regular@8099")).id == "nocert"
    # a WireGuard peer's address is mitmproxy's 10.0.0.1, the same for every peer
    shared.profile_for(client("10.0.0.1", "wireguard:k.json@51820"))
    assert not path.exists()  # nothing written from the hook itself
    await addon.done()
    rows = json.loads(path.read_text())
    assert [r["address"] for r in rows] == ["192.168.1.77", "192.168.1.78"]
    assert all(set(r) == {"address", "last_seen"} for r in rows)


async def test_without_the_addon_nothing_is_noted(shared: Shared, tctx: taddons.context) -> None:
    assert shared.on_unknown is None
    assert shared.profile_for(client("192.168.1.77")).id == "guest"
