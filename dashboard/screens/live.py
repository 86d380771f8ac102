"""Live: the last hour of decisions scrolling by, calmly: a row per minute, child, site (or
only the category), action and reason, with its count. `p` pauses; rows wait meanwhile."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import LiveRow, Snapshot


class LiveScreen(DashboardScreen):
    MODE = "live"
    CSS_PATH = "live.tcss"
    BINDINGS = [Binding("p,space", "pause", "key.pause")]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self._rows: dict[str, LiveRow] = {}  # what the table shows, by key
        self._latest: tuple[LiveRow, ...] = ()
        self._names: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield Static(self.labels("live.title"), classes="section-title", id="title")
        yield Static("", id="status")
        yield DataTable(id="feed", cursor_type="none", show_cursor=False)
        yield Static(self.labels("live.none"), classes="empty", id="none")

    def on_mount(self) -> None:
        labels = self.labels
        table = self.query_one("#feed", DataTable)
        for key in ("col.when", "col.child", "col.site_or_category", "col.action"):
            table.add_column(labels(key), key=key)
        table.add_column("×", key="count")
        super().on_mount()
        table.focus()

    def show(self, snapshot: Snapshot) -> None:
        self._latest = snapshot.live
        self._names = {c.id: c.name for c in snapshot.children}
        if not self.paused:
            self._apply(snapshot.live)
        self._status()

    def _theme_changed(self) -> None:
        # colours are baked into the rows: draw them again
        self.query_one("#feed", DataTable).clear()
        self._rows = {}
        super()._theme_changed()

    def _apply(self, rows: tuple[LiveRow, ...]) -> None:
        table = self.query_one("#feed", DataTable)
        wanted = {r.key: r for r in rows}
        for key in [k for k in self._rows if k not in wanted]:  # out of the hour
            table.remove_row(key)
            del self._rows[key]
        colours = self.app.get_css_variables()
        added = 0
        for row in rows:
            shown = self._rows.get(row.key)
            if shown is None:
                table.add_row(*self._cells(row, colours), key=row.key)
                added += 1
            elif shown.count != row.count:
                table.update_cell(row.key, "count", Text(str(row.count), justify="right"))
            self._rows[row.key] = row
        table.display = bool(rows)
        self.query_one("#none").display = not rows
        if added:  # follow new rows; otherwise leave the reader where they are
            table.scroll_end(animate=False)

    def _cells(self, row: LiveRow, colours: dict[str, str]) -> list[Text]:
        labels = self.labels
        what = labels(f"action.{row.action}")
        why = labels(f"rule.{row.rule}") if row.action == "blocked" else ""
        if row.action == "blocked":
            style = f"bold {colours.get('error', 'red')}"
        elif row.action == "rewritten":
            style = colours.get("success", "green")
        else:
            style = colours.get("text-muted", "")
        place = row.site or labels.category(row.category)
        category = f"  ({labels.category(row.category)})" if row.site and row.category else ""
        return [
            Text(row.minute[11:16], style=colours.get("text-muted", "")),
            Text(self._names.get(row.profile, row.profile)),
            Text.assemble(
                (place, "bold" if row.site else "italic"), (category, colours.get("text-muted", ""))
            ),
            Text(f"{what} · {why}" if why else what, style=style),
            Text(str(row.count), justify="right"),
        ]

    def _status(self) -> None:
        labels = self.labels
        if self.paused:
            waiting = sum(1 for r in self._latest if r.key not in self._rows)
            text = labels("live.paused", n=waiting)
        else:
            text = labels("live.running")
        self.query_one("#status", Static).update(text)
        self.set_class(self.paused, "-paused")

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._apply(self._latest)
        self._status()
