"""The approve dialog: how long may the child open the site? One key per answer.

When a schedule window (bedtime) would still block the site, "always" is offered twice: the
window applies (open the rest of the time), or the site is allowed during it too."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.requests_source import DURATIONS
from vaccine.dashboard.snapshot import Request
from vaccine.dashboard.widgets.localise import localise_bindings
from vaccine.proxy.policy.model import Window

#: (key, duration, label key)
CHOICES = (
    ("1", "15m", "approve.for15"),
    ("2", "1h", "approve.for60"),
    ("3", "today", "approve.today"),
    ("4", "always", "approve.always"),
)
assert tuple(d for _, d, _ in CHOICES) == DURATIONS


class ApproveDialog(ModalScreen[str | None]):
    """Dismissed with a duration (`requests_source.DURATIONS`), or None for cancel."""

    CSS_PATH = "approve.tcss"
    BINDINGS = [
        *(Binding(key, f"choose('{duration}')", show=False) for key, duration, _ in CHOICES),
        Binding("5", "choose('always:allow')", show=False),
        Binding("escape", "cancel", "key.cancel"),
    ]

    def __init__(
        self,
        request: Request,
        profile_file: str,
        labels: Labels,
        windows: tuple[Window, ...] = (),
    ) -> None:
        super().__init__()
        self.request = request
        self.profile_file = profile_file
        self.labels = labels
        #: the schedule windows that would still block the site once allowed always
        self.windows = windows
        localise_bindings(self, labels)

    def compose(self) -> ComposeResult:
        labels, r = self.labels, self.request
        with Vertical(id="dialog"):
            yield Static(labels("approve.title", name=r.name, site=r.domain), id="question")
            if r.message:
                yield Static(Content.styled(f"“{r.message}”", "italic"), id="message")
            for key, duration, label in CHOICES:
                if duration == "always" and self.windows:
                    window = ", ".join(w.name for w in self.windows)
                    text = labels("approve.always_not_during", window=window,
                                  file=self.profile_file)  # fmt: skip
                    yield Button(f"{key}  {text}", id="for-always-block", compact=True)
                    text = labels("approve.always_during", window=window)
                    yield Button(f"5  {text}", id="for-always-allow", compact=True)
                    continue
                text = labels(label, file=self.profile_file)
                yield Button(f"{key}  {text}", id=f"for-{duration}", compact=True)
            yield Button(f"Esc  {labels('approve.cancel')}", id="cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#for-1h", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("for-always-"):
            self.dismiss(f"always:{button_id.removeprefix('for-always-')}")
        elif button_id.startswith("for-"):
            self.dismiss(button_id.removeprefix("for-"))
        else:
            self.dismiss(None)

    def action_choose(self, duration: str) -> None:
        if duration == "always" and self.windows:
            duration = "always:block"
        elif duration.startswith("always:") and not self.windows:
            return  # key 5 is offered only when a window would block the site
        self.dismiss(duration)

    def action_cancel(self) -> None:
        self.dismiss(None)
