"""The line at the top of every screen: the parts of the dashboard (click or press 1–4), how
many requests and alerts wait, and the time of the last look at the log."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.events import Click
from textual.widgets import Static

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import Snapshot

TABS = (("1", "overview"), ("2", "requests"), ("3", "alerts"), ("4", "live"))


class NavTab(Static):
    DEFAULT_CSS = """
    NavTab {
        width: auto;
        padding: 0 1;
        color: $text-muted;
        &:hover { background: $boost; color: $text; }
        &.-current { background: $primary; color: $text; text-style: bold; }
    }
    """

    def __init__(self, key: str, mode: str, label: str, current: bool) -> None:
        super().__init__(classes="-current" if current else "")
        self.shortcut, self.mode, self.label = key, mode, label
        self.count = 0
        self._draw()

    def set_count(self, count: int) -> None:
        if count != self.count:
            self.count = count
            self._draw()

    def _draw(self) -> None:
        parts: list[str | tuple[str, str]] = [(self.shortcut, "bold"), " ", self.label]
        if self.count:
            parts += [" ", (f"({self.count})", "bold $text-error")]
        self.update(Content.assemble(*parts))

    async def on_click(self, event: Click) -> None:
        event.stop()
        await self.app.run_action(f"go('{self.mode}')")


class NavBar(Horizontal):
    DEFAULT_CSS = """
    NavBar {
        dock: top;
        height: 1;
        background: $panel;
        #brand { width: auto; padding: 0 1; text-style: bold; color: $accent; }
        #when { width: 1fr; content-align: right middle; padding: 0 1; color: $text-muted; }
    }
    """

    def __init__(self, current: str, labels: Labels) -> None:
        super().__init__()
        self.current = current
        self.labels = labels

    def compose(self) -> ComposeResult:
        yield Static(self.labels("app.title"), id="brand")
        for key, mode in TABS:
            yield NavTab(key, mode, self.labels(f"nav.{mode}"), mode == self.current)
        yield Static("", id="when")

    def show(self, snapshot: Snapshot) -> None:
        counts = {"requests": len(snapshot.pending), "alerts": len(snapshot.alerts)}
        for tab in self.query(NavTab):
            tab.set_count(counts.get(tab.mode, 0))
        self.query_one("#when", Static).update(self.when(snapshot.now))

    def when(self, now: datetime) -> str:
        return f"{self.labels.weekday(now.date())} {now:%d.%m %H:%M}"
