"""New devices: the addresses seen in the last days that no profile recognises (the proxy's
new-devices table: address and minute only), with how to give one to a child's profile."""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Snapshot
from vaccine.proxy.newdevices import Seen


class DevicesScreen(DashboardScreen):
    MODE = "devices"
    CSS_PATH = "devices.tcss"

    def compose_body(self) -> ComposeResult:
        yield Static(self.labels("devices.title"), classes="section-title", id="title")
        yield Static("", id="note")
        yield DataTable(id="new-devices", cursor_type="row")
        yield Static(self.labels("devices.none"), classes="empty", id="none")

    def on_mount(self) -> None:
        table = self.query_one("#new-devices", DataTable)
        table.add_column(self.labels("col.address"), key="address")
        table.add_column(self.labels("col.last_seen"), key="last_seen")
        super().on_mount()

    def show(self, snapshot: Snapshot) -> None:
        self._look(snapshot.now)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-devices")
    def _look(self, now: datetime) -> None:
        unknown, seen = self.dashboard.source.new_devices(now)
        self.app.call_from_thread(self._draw, unknown, seen)

    def _draw(self, unknown: str, seen: list[Seen]) -> None:
        table = self.query_one("#new-devices", DataTable)
        table.clear()
        for s in seen:
            table.add_row(s.address, f"{s.last_seen:%d.%m %H:%M}", key=s.address)
        table.display = bool(seen)
        self.query_one("#none").display = not seen
        note = self.query_one("#note", Static)
        note.display = bool(seen)
        note.update(f"{self.labels('devices.note', profile=unknown)} {self.labels('devices.how')}")
