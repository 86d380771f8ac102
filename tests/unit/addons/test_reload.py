"""vaccine.proxy.addons.reload: what the reloader does once the proxy runs."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from mitmproxy.addons import proxyserver
from mitmproxy.test import taddons

from vaccine.proxy.addons.reload import Reloader
from vaccine.proxy.addons.shared import Shared


def test_what_was_made_while_starting_is_left_out_of_full_collections(
    shared: Shared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(shared.household.lists, "entry_count", 203, raising=False)
    reloader = Reloader(shared, tmp_path, None, interval=0)
    with taddons.context(proxyserver.Proxyserver()):
        reloader.running()
    assert frozen == [True]
    assert "proxy running" in capsys.readouterr().err
