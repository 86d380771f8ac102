"""What every dashboard screen shares: the navigation bar, the footer, translated key labels,
and a redraw whenever the app's snapshot changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import Snapshot
from vaccine.dashboard.widgets.localise import localise_bindings
from vaccine.dashboard.widgets.navbar import NavBar

if TYPE_CHECKING:
    from vaccine.dashboard.app import DashboardApp


class DashboardScreen(Screen[None]):
    """A screen that shows the latest snapshot: subclasses compose their body and `show` it."""

    #: the navigation tab this screen belongs to
    MODE = "overview"

    def __init__(self) -> None:
        super().__init__()
        localise_bindings(self, self.labels)

    @property
    def dashboard(self) -> DashboardApp:
        return cast("DashboardApp", self.app)

    @property
    def labels(self) -> Labels:
        return self.dashboard.labels

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE, self.labels)
        yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "snapshot", self._snapshot_changed, init=True)
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _snapshot_changed(self, snapshot: Snapshot | None) -> None:
        if snapshot is None:
            return
        self.query_one(NavBar).show(snapshot)
        self.show(snapshot)

    def _theme_changed(self) -> None:
        snapshot = self.dashboard.snapshot
        if snapshot is not None:
            self.show(snapshot)

    def show(self, snapshot: Snapshot) -> None:
        """Redraw from `snapshot` (called on every poll: keep focus and scroll where they are)."""
