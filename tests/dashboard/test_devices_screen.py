"""The "new devices" screen (key 5): the proxy's table of unknown addresses, as the CLI
`vaccine devices list` shows it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import DataTable, Static

from vaccine.dashboard.screens.devices import DevicesScreen
from vaccine.proxy.newdevices import SeenTable, seen_file

from .conftest import MakeApp
from .seed import NOW
from .test_app import settle


async def test_new_devices_are_listed_newest_first(seeded: Path, make_app: MakeApp) -> None:
    table = SeenTable(seen_file(seeded))
    table.note("192.168.1.77", NOW - timedelta(hours=2))
    table.note("192.168.1.80", NOW - timedelta(minutes=5))
    table.note("192.168.1.99", NOW - timedelta(days=9))  # too long ago
    table.save()
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, DevicesScreen)
        rows = app.screen.query_one("#new-devices", DataTable)
        got = [[str(c) for c in rows.get_row_at(i)] for i in range(rows.row_count)]
        assert [r[0] for r in got] == ["192.168.1.80", "192.168.1.77"]
        assert got[0][1] == f"{NOW - timedelta(minutes=5):%d.%m %H:%M}"
        note = str(app.screen.query_one("#note", Static).render())
        assert "vaccine devices assign ADDRESS --profile ID" in note
        assert not app.screen.query_one("#none").display


async def test_no_new_devices_says_so_in_polish(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded, language="pl")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, DevicesScreen)
        assert app.screen.query_one("#none").display
        assert "Brak nowych urządzeń" in str(app.screen.query_one("#none", Static).render())
        assert not app.screen.query_one("#new-devices").display
