"""Requests: what the children asked for from a block page, answered here with the same code
as `vaccine requests` (approve for 15 minutes, an hour, until midnight or always; or deny)."""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from vaccine.dashboard.screens.approve import ApproveDialog
from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Request, Snapshot
from vaccine.proxy.policy.model import Window
from vaccine.proxy.policy.windows import windows_blocking


def asked_at(stamp: str, today: str) -> str:
    """`18:41` today, `03-07 18:41` another day."""
    day, _, clock = stamp.partition("T")
    return clock[:5] if day == today else f"{day[5:]} {clock[:5]}"


class RequestsScreen(DashboardScreen):
    MODE = "requests"
    CSS_PATH = "requests.tcss"
    BINDINGS = [
        Binding("a,enter", "approve", "key.approve"),
        Binding("d", "deny", "key.deny"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[str, Request] = {}
        self._answered: list[tuple[str, ...]] = []

    def compose_body(self) -> ComposeResult:
        labels = self.labels
        with VerticalScroll(id="body"):
            yield Static(labels("requests.title"), classes="section-title")
            yield Static(labels("requests.help"), classes="muted", id="help")
            yield DataTable(id="pending", cursor_type="row", zebra_stripes=True)
            yield Static(labels("requests.none"), classes="empty", id="none")
            yield Static(labels("requests.answered"), classes="section-title", id="answered-title")
            yield DataTable(id="answered", cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        labels = self.labels
        pending = self.query_one("#pending", DataTable)
        for key in ("col.child", "col.site", "col.category", "col.asked", "col.message"):
            pending.add_column(labels(key), key=key)
        answered = self.query_one("#answered", DataTable)
        answered.can_focus = False
        for key in ("col.child", "col.site", "col.answer"):
            answered.add_column(labels(key), key=key)
        super().on_mount()
        pending.focus()

    def show(self, snapshot: Snapshot) -> None:
        today = snapshot.now.date().isoformat()
        table = self.query_one("#pending", DataTable)
        pending = {str(r.id): r for r in snapshot.pending}
        if pending != self._pending:
            self._fill_pending(table, pending, today)
        table.display = bool(snapshot.pending)
        self.query_one("#help").display = bool(snapshot.pending)
        self.query_one("#none").display = not snapshot.pending
        answered = self.query_one("#answered", DataTable)
        rows = [
            (Text(r.name), Text(r.domain), Text(self._answer_text(r, today)))
            for r in snapshot.answered
        ]
        if [tuple(c.plain for c in row) for row in rows] != self._answered:
            self._answered = [tuple(c.plain for c in row) for row in rows]
            answered.clear()
            answered.add_rows(rows)
        answered.display = bool(snapshot.answered)
        self.query_one("#answered-title").display = bool(snapshot.answered)

    def _fill_pending(
        self, table: DataTable[Text], pending: dict[str, Request], today: str
    ) -> None:
        """Rebuild the table, keeping the cursor on the same request when it is still there."""
        labels = self.labels
        selected = self._selected()
        self._pending = pending
        table.clear()
        for r in pending.values():
            table.add_row(
                Text(r.name),
                Text(r.domain, style="bold"),
                Text(labels.category(r.category)),
                Text(asked_at(r.created, today)),
                Text(r.message or "–", style="italic"),
                key=str(r.id),
            )
        if selected is not None and str(selected.id) in pending:
            table.move_cursor(row=table.get_row_index(str(selected.id)))

    def _answer_text(self, r: Request, today: str) -> str:
        labels = self.labels
        if r.status == "denied":
            return labels("answer.denied")
        if r.approved_until is None:
            return labels("answer.approved_always")
        midnight = (date.fromisoformat(today) + timedelta(days=1)).isoformat() + "T00:00:00"
        if r.approved_until == midnight:
            return labels("answer.approved_today")
        return labels("answer.approved_until", until=asked_at(r.approved_until, today))

    def _selected(self) -> Request | None:
        table = self.query_one("#pending", DataTable)
        if not self._pending or table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self._pending.get(str(row_key.value))

    def action_approve(self) -> None:
        request = self._selected()
        if request is None:
            return
        file = f"{request.profile}.yaml"
        snapshot = self.dashboard.snapshot
        child = snapshot.child(request.profile) if snapshot else None
        windows: tuple[Window, ...] = ()
        if child is not None and child.profile is not None:
            file = child.profile.source.name
            windows = windows_blocking(child.profile, request.domain, {request.category})

        def answered(duration: str | None) -> None:
            if duration is not None:
                self.dashboard.answer(request, duration)

        self.app.push_screen(ApproveDialog(request, file, self.labels, windows), answered)

    def action_deny(self) -> None:
        request = self._selected()
        if request is not None:
            self.dashboard.answer(request, None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_approve()
