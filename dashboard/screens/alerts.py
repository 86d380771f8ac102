"""Alerts: patterns worth a conversation, as categories and counts (rules: dashboard/alerts.py)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Alert, Snapshot
from vaccine.dashboard.widgets.alert_item import AlertItem


class AlertsScreen(DashboardScreen):
    MODE = "alerts"
    CSS_PATH = "alerts.tcss"
    BINDINGS = [
        Binding("down", "app.focus_next", show=False),
        Binding("up", "app.focus_previous", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[Alert, ...] | None = None

    def compose_body(self) -> ComposeResult:
        labels = self.labels
        with VerticalScroll(id="body", can_focus=False):
            yield Static(labels("alerts.title"), classes="section-title")
            yield Static(labels("alerts.note"), classes="muted", id="note")
            yield Vertical(id="list")
            yield Static("", classes="empty", id="none")
            yield Static("", id="help-line")

    def show(self, snapshot: Snapshot) -> None:
        labels = self.labels
        help_line = snapshot.policy.help_line
        self.query_one("#help-line", Static).update(
            labels("alerts.help_line", help_line=help_line) if help_line else ""
        )
        none = self.query_one("#none", Static)
        none.update(labels("alerts.none"))
        none.display = not snapshot.alerts
        if snapshot.alerts == self._shown:
            return
        self._shown = snapshot.alerts
        names = {c.id: c.name for c in snapshot.children}
        box = self.query_one("#list", Vertical)
        had_focus = isinstance(self.focused, AlertItem)
        box.remove_children()
        box.mount_all(
            AlertItem(a, names.get(a.profile, a.profile), labels) for a in snapshot.alerts
        )
        if not had_focus and snapshot.alerts:
            self.call_after_refresh(lambda: self.query(AlertItem).first().focus())

    def on_alert_item_selected(self, message: AlertItem.Selected) -> None:
        self.dashboard.open_child(message.profile_id)
