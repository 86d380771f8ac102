"""The approve dialog: how long may the child open the site? One key per answer."""

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
        Binding("escape", "cancel", "key.cancel"),
    ]

    def __init__(self, request: Request, profile_file: str, labels: Labels) -> None:
        super().__init__()
        self.request = request
        self.profile_file = profile_file
        self.labels = labels
        localise_bindings(self, labels)

    def compose(self) -> ComposeResult:
        labels, r = self.labels, self.request
        with Vertical(id="dialog"):
            yield Static(labels("approve.title", name=r.name, site=r.domain), id="question")
            if r.message:
                yield Static(Content.styled(f"“{r.message}”", "italic"), id="message")
            for key, duration, label in CHOICES:
                text = labels(label, file=self.profile_file)
                yield Button(f"{key}  {text}", id=f"for-{duration}", compact=True)
            yield Button(f"Esc  {labels('approve.cancel')}", id="cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#for-1h", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id.startswith("for-"):
            self.dismiss(button_id.removeprefix("for-"))
        else:
            self.dismiss(None)

    def action_choose(self, duration: str) -> None:
        self.dismiss(duration)

    def action_cancel(self) -> None:
        self.dismiss(None)
