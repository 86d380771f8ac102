"""First run: the log is missing, empty or unreadable. Say what to do, and keep looking; the
app swaps this screen for the overview as soon as there is something to show."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.content import Content
from textual.widgets import Static

from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Snapshot


class FirstRunScreen(DashboardScreen):
    CSS_PATH = "firstrun.tcss"

    def compose_body(self) -> ComposeResult:
        with Center(), Vertical(id="welcome"):
            yield Static(self.labels("first.title"), id="title")
            yield Static("", id="why")
            yield Static("", id="steps")
            yield Static(self.labels("first.waiting"), id="waiting")

    def show(self, snapshot: Snapshot) -> None:
        labels = self.labels
        path = str(snapshot.db_path)
        if snapshot.state == "missing":
            why = labels("first.missing", path=path)
        elif snapshot.state == "empty":
            why = labels("first.empty", path=path)
        else:
            why = labels("first.unreadable", reason=snapshot.reason)
        self.query_one("#why", Static).update(Content(why))
        steps = labels("first.steps", port=snapshot.policy.port)
        self.query_one("#steps", Static).update(Content(steps))
