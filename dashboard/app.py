"""The parents' dashboard: a Textual app over the decision log.

The data source is injected (`DashboardApp(source, poll_interval, clock=...)`): the app polls
`source.load(now)` in a worker thread and posts the `Snapshot` as a message; screens watch
`app.snapshot` and redraw. The clock is injected too, so tests and snapshots run at a fixed
"now". The only writes are answers to requests, through the same functions as
`vaccine requests` (`requests_source`).

Each part of the dashboard is a mode with its own screen stack (Textual's modes): Overview
(and a child's page on top of it), Requests, Alerts, Live and New devices; keys 1–5
switch between them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.worker import get_current_worker

from vaccine.dashboard import requests_source
from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.messages import RequestAnswered, SnapshotLoaded
from vaccine.dashboard.screens.alerts import AlertsScreen
from vaccine.dashboard.screens.child import ChildScreen
from vaccine.dashboard.screens.devices import DevicesScreen
from vaccine.dashboard.screens.firstrun import FirstRunScreen
from vaccine.dashboard.screens.live import LiveScreen
from vaccine.dashboard.screens.overview import OverviewScreen
from vaccine.dashboard.screens.requests import RequestsScreen
from vaccine.dashboard.snapshot import Request, Snapshot
from vaccine.dashboard.source import LogSource
from vaccine.dashboard.widgets.localise import localise_bindings


class DashboardApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Digital Vaccine"
    MODES = {
        "overview": OverviewScreen,
        "requests": RequestsScreen,
        "alerts": AlertsScreen,
        "live": LiveScreen,
        "devices": DevicesScreen,
    }
    DEFAULT_MODE = "overview"
    # Screens get one of these classes from the terminal's width (see the .tcss files).
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (70, "-narrow"), (110, "-wide"), (200, "-huge")]
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("1", "go('overview')", "key.overview", show=False),
        Binding("2", "go('requests')", "key.requests", show=False),
        Binding("3", "go('alerts')", "key.alerts", show=False),
        Binding("4", "go('live')", "key.live", show=False),
        Binding("5", "go('devices')", "key.devices", show=False),
        Binding("t", "toggle_theme", "key.theme"),
        Binding("q", "quit", "key.quit"),
    ]

    #: the latest look at the log; None until the first poll returns
    snapshot: reactive[Snapshot | None] = reactive(None, always_update=True)

    def __init__(
        self,
        source: LogSource,
        poll_interval: float = 2.0,
        *,
        clock: Callable[[], datetime] = datetime.now,
        language: str = "en",
        theme: str = "textual-dark",
    ) -> None:
        """`poll_interval` 0: look once at start (and after each answer), never on a timer."""
        super().__init__()
        self.source = source
        self.poll_interval = poll_interval
        self.clock = clock
        self.labels = Labels(language)
        self.theme = theme
        localise_bindings(self, self.labels)
        self._first_run = False
        self._warned = False  # about a log that became unreadable

    def on_mount(self) -> None:
        self.poll()
        if self.poll_interval > 0:
            self.set_interval(self.poll_interval, self.poll)

    # -- data --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def poll(self) -> None:
        """One look at the log, off the event loop."""
        snapshot = self.source.load(self.clock())
        if not get_current_worker().is_cancelled:
            self.post_message(SnapshotLoaded(snapshot))

    def on_snapshot_loaded(self, message: SnapshotLoaded) -> None:
        new = message.snapshot
        old = self.snapshot
        if new.state == "unreadable" and old is not None and old.state == "ready":
            # A passing problem (a lock, a file being replaced): keep showing what we had,
            # and say so once, not at every poll.
            if not self._warned:
                self._warned = True
                self.notify(new.reason, severity="warning", timeout=10)
            return
        self._warned = False
        self.snapshot = new
        self._show_first_run(new.state != "ready")

    def _show_first_run(self, wanted: bool) -> None:
        if wanted and not self._first_run:
            self._first_run = True
            self.push_screen(FirstRunScreen())
        elif not wanted and self._first_run:
            self._first_run = False
            if isinstance(self.screen, FirstRunScreen):
                self.pop_screen()
        self.refresh_bindings()

    # -- answering requests ------------------------------------------------------------------

    def answer(self, request: Request, duration: str | None) -> None:
        """Approve `request` for `duration` (see requests_source.DURATIONS), or deny it (None)."""
        self._answer(request, duration)

    @work(thread=True, exit_on_error=False, group="answer")
    def _answer(self, request: Request, duration: str | None) -> None:
        now = self.clock()
        source = self.source
        verb = "approved" if duration else "denied"
        try:
            if duration is None:
                requests_source.deny(source.db_path, request.id, now)
            else:
                requests_source.approve(
                    source.policies_dir, source.db_path, request.id, duration, now
                )
        except Exception as e:  # VaccineError, sqlite3.Error, OSError: say it, keep going
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            self.post_message(RequestAnswered(request, verb, reason))
            return
        self.post_message(RequestAnswered(request, verb))

    def on_request_answered(self, message: RequestAnswered) -> None:
        r, labels = message.request, self.labels
        if message.error is not None:
            self.notify(labels("answer.failed", reason=message.error), severity="error")
        else:
            key = "answer.done_approved" if message.verb == "approved" else "answer.done_denied"
            self.notify(labels(key, site=r.domain, name=r.name))
        self.poll()

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # nothing to go to yet: the first-run screen says what to do
        return not (action == "go" and self._first_run)

    def action_go(self, mode: str) -> None:
        if mode not in self.MODES or self._first_run:
            return
        if mode == self.current_mode:
            # Pressing Overview again from a child's page goes back to the cards.
            while len(self.screen_stack) > 1:
                self.pop_screen()
            return
        self.switch_mode(mode)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def open_child(self, profile_id: str) -> None:
        """Show a child's page (from a card, an alert or a request)."""
        if self.current_mode != "overview":
            self.switch_mode("overview")
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(ChildScreen(profile_id))
