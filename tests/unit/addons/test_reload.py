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


async def test_work_after_listening_runs_once_running_then_is_frozen(
    shared: Shared,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`vaccine run` builds the suffix table once the port is open, before the first request
    is read (built before, it kept the port closed ~0.1 s), and freezes what it made."""
    import asyncio

    events: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: events.append("freeze"))
    monkeypatch.setattr(shared.household.lists, "entry_count", 203, raising=False)
    reloader = Reloader(shared, tmp_path, None, interval=0)
    reloader.after_listening(lambda: events.append("built"))

    def broken() -> None:
        events.append("broken")
        raise RuntimeError("no table")

    reloader.after_listening(broken)  # logged; the others still run, the proxy goes on
    with taddons.context(proxyserver.Proxyserver()):
        reloader.running()
        assert events == ["freeze"]  # not yet: the running hook returns first
        await asyncio.sleep(0)
    assert events == ["freeze", "built", "broken", "freeze"]
