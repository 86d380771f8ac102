"""One alert: who, what kind of thing, how often. Never a site, a page or a search."""

from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import Alert
from vaccine.dashboard.widgets.child_card import seen
from vaccine.dashboard.widgets.localise import localise_bindings

ICONS = {"known_abuse": "‼", "concerning": "⚠", "bypass": "⛔", "quiet": "⏸"}


def alert_content(alert: Alert, name: str, labels: Labels) -> Content:
    """Two lines: `⚠ Emma — Repeated attempts: adult` and the counts."""
    if alert.kind == "known_abuse":
        title = labels("alert.known_abuse")
        detail = labels("alert.known_abuse_detail")
    elif alert.kind == "concerning":
        title = labels("alert.concerning", category=labels.category(alert.category))
        parts = dict(alert.parts)
        detail = labels("alert.concerning_detail", sites=parts.get("sites", 0),
                        searches=parts.get("searches", 0))  # fmt: skip
    elif alert.kind == "bypass":
        title = labels("alert.bypass")
        detail = " · ".join(f"{labels(f'kind.{k}')} {n}" for k, n in alert.parts)
    else:
        title = labels("alert.quiet")
        detail = labels("alert.quiet_detail", since=seen(alert.last_seen or "", labels))
    style = "$warning" if alert.kind == "quiet" else "$error"
    lines = [
        Content.assemble((f"{ICONS[alert.kind]} ", style), (name, "bold"), " — ", (title, style))
    ]
    second: list[str | tuple[str, str]] = ["   ", detail]
    if alert.kind != "quiet":
        counts = labels("alert.counts", today=alert.today, week=alert.week)
        second += ["   ", (counts, "$text-muted")]
    lines.append(Content.assemble(*second))
    return Content("\n").join(lines)


class AlertItem(Static, can_focus=True):
    DEFAULT_CSS = """
    AlertItem {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
        border-left: outer $error 60%;
        &.-quiet { border-left: outer $warning 60%; }
        &:focus { background: $boost; border-left: outer $accent; }
        &:hover { background: $boost; }
    }
    """
    BINDINGS = [Binding("enter", "open", "key.open")]

    class Selected(Message):
        def __init__(self, profile_id: str) -> None:
            super().__init__()
            self.profile_id = profile_id

    def __init__(self, alert: Alert, name: str, labels: Labels) -> None:
        super().__init__(alert_content(alert, name, labels), classes=f"-{alert.kind}")
        self.alert = alert
        localise_bindings(self, labels)

    def action_open(self) -> None:
        self.post_message(self.Selected(self.alert.profile))

    def on_click(self, event: Click) -> None:
        event.stop()
        self.post_message(self.Selected(self.alert.profile))
