"""Overview: one card per child, refreshed at every poll."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Alert, Snapshot
from vaccine.dashboard.widgets import overview_panels
from vaccine.dashboard.widgets.child_card import ChildCard


class OverviewScreen(DashboardScreen):
    MODE = "overview"
    CSS_PATH = "overview.tcss"
    BINDINGS = [
        Binding("right,down", "app.focus_next", show=False),
        Binding("left,up", "app.focus_previous", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield VerticalScroll(id="cards", can_focus=False)
        yield Static("", id="cert-trouble")
        with Horizontal(id="lower"):
            yield Static("", id="waiting")
            yield Static("", id="blocked-today")
        yield Static("", id="notes")

    def show(self, snapshot: Snapshot) -> None:
        cards = self.query_one("#cards", VerticalScroll)
        wanted = [c.id for c in snapshot.children]
        have = [card.profile_id for card in cards.query(ChildCard)]
        if wanted != have:
            cards.remove_children()
            cards.mount_all(ChildCard(pid, self.labels) for pid in wanted)
            self.call_after_refresh(self._fill, snapshot)
        else:
            self._fill(snapshot)
        labels = self.labels
        trouble = self.query_one("#cert-trouble", Static)
        trouble.update(overview_panels.cert_trouble(snapshot, labels))
        trouble.display = bool(snapshot.cert_trouble)
        self.query_one("#waiting", Static).update(overview_panels.waiting(snapshot, labels))
        self.query_one("#blocked-today", Static).update(
            overview_panels.blocked_today(snapshot, labels)
        )
        self.query_one("#notes", Static).update(self._notes(snapshot))

    def _notes(self, snapshot: Snapshot) -> Content:
        """What waits for the parent, in one line each, then the keys."""
        labels = self.labels
        names = {c.id: c.name for c in snapshot.children}
        lines = []
        if snapshot.pending:
            items = " · ".join(f"{r.name} {r.domain}" for r in snapshot.pending)
            text = labels("overview.requests", n=len(snapshot.pending), items=items)
            lines.append(Content.styled(text, "$text-accent"))
        if snapshot.alerts:
            items = " · ".join(
                f"{names.get(a.profile, a.profile)} {self._short(a)}" for a in snapshot.alerts
            )
            text = labels("overview.alerts", n=len(snapshot.alerts), items=items)
            lines.append(Content.styled(text, "$text-error"))
        if snapshot.dropped_records:
            dropped = labels("overview.dropped", n=snapshot.dropped_records)
            lines.append(Content.styled(dropped, "$text-warning"))
        lines.append(Content.styled(labels("overview.hint"), "$text-muted"))
        return Content("\n").join(lines)

    def _short(self, alert: Alert) -> str:
        if alert.kind == "concerning":
            return self.labels.category(alert.category)
        return self.labels(f"short.{alert.kind}")

    def _fill(self, snapshot: Snapshot) -> None:
        for card in self.query(ChildCard):
            child = snapshot.child(card.profile_id)
            if child is not None:
                card.show(
                    child,
                    snapshot.alerts_of(child.id),
                    snapshot.pending_of(child.id),
                    self.labels,
                )
        if not isinstance(self.focused, ChildCard):
            first = next(iter(self.query(ChildCard)), None)
            if first is not None:
                first.focus()

    def on_child_card_selected(self, message: ChildCard.Selected) -> None:
        self.dashboard.open_child(message.profile_id)
