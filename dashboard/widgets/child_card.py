"""One child on the overview: time online today against the limits, the most used
categories, blocked attempts, requests and alerts. Focusable; Enter or a click opens the page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from textual.binding import Binding
from textual.content import Content
from textual.events import Click
from textual.message import Message
from textual.widget import Widget

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.policy_words import window_name
from vaccine.dashboard.snapshot import Alert, Child, LimitUse, Request
from vaccine.dashboard.widgets.localise import localise_bindings

BAR = 10  # cells of a limit's bar
LABEL = 11  # cells of a limit's category name
TOP = 3  # categories on the "most used" line


def limit_line(use: LimitUse, labels: Labels, label: int = LABEL) -> Content:
    filled = round(use.ratio * BAR)
    style = "$error" if use.used_up else "$warning" if use.ratio >= 0.8 else "$success"
    name = labels.category(use.category)[: label - 1].ljust(label)
    if use.used_up:
        amount = (labels("card.used_up", limit=labels.short(use.limit)), f"bold {style}")
    else:
        used, limit = labels.short(use.used), labels.short(use.limit)
        amount = (labels("card.limit", used=used, limit=limit), "")
    return Content.assemble(
        name, ("█" * filled, style), ("░" * (BAR - filled), "$foreground 30%"), " ", amount
    )


SPARKS = "▁▂▃▄▅▆▇█"


def spark_text(values: Sequence[int]) -> str:
    """`▁▃█▅`: one cell per value, on a scale from 0 to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[round(v / top * (len(SPARKS) - 1))] for v in values)


def seen(last_seen: str, labels: Labels, today: date | None = None) -> str:
    """`16:59` today, `Sat 07 16:59` another day (`Sat 07` when only the day is known)."""
    day = date.fromisoformat(last_seen[:10])
    clock = last_seen[11:16]
    if today is not None and day == today:
        return clock
    return f"{labels.day(day)} {clock}".strip()


def child_today(child: Child) -> date:
    return date.fromisoformat(child.today.minutes_by_day[-1].day)


def fit(parts: Sequence[Content], width: int, sep: str = " · ") -> list[Content]:
    """`parts` joined by `sep` on as few lines of `width` as they take (longer words: their
    own line), so that no line wraps and the card's height stays exact."""
    lines: list[Content] = []
    line: Content | None = None
    for part in parts:
        if line is None:
            line = part
        elif line.cell_length + len(sep) + part.cell_length <= width:
            line = Content.assemble(line, sep, part)
        else:
            lines.append(line)
            line = part
    if line is not None:
        lines.append(line)
    return lines


def card_content(
    child: Child,
    alerts: tuple[Alert, ...],
    pending: tuple[Request, ...],
    labels: Labels,
    width: int = 36,
) -> Content:
    """The card's lines for a card `width` cells wide inside (its title and subtitle are on
    its border)."""
    today = child.today
    lines: list[Content] = [
        Content.assemble(
            (labels("card.online"), "$text-muted"),
            "  ",
            (labels.duration(today.minutes_online), "bold"),
        )
    ]
    label = min(LABEL, 1 + max((len(labels.category(u.category)) for u in child.limits), default=0))
    lines += [limit_line(u, labels, label) for u in child.limits]
    top = [
        f"{labels.category(c.category)} {labels.short(c.minutes)}"
        for c in today.minutes_by_category
        if c.minutes
    ]
    if top:
        head = labels("card.top") + "  "
        shown = top[:1]  # as many as fit on the line, at least one
        for item in top[1:TOP]:
            if len(head) + len(" · ".join([*shown, item])) > width:
                break
            shown.append(item)
        lines.append(Content.assemble((head, "$text-muted"), " · ".join(shown)))
    else:
        lines.append(Content.styled(labels("card.nothing"), "$text-muted italic"))
    week = child.week
    lines.append(
        Content.assemble(
            (labels("card.week"), "$text-muted"),
            "  ",
            (spark_text([d.minutes for d in week.minutes_by_day]), "$accent"),
            "  ",
            labels.duration(week.minutes_online),
        )
    )

    def count(key: str, n: int, style: str) -> Content:
        return Content.assemble(
            (labels(key), "$text-muted"), " ", (str(n), f"bold {style}" if n else "")
        )

    counts = [
        count("card.blocked", today.blocked_total, "$warning"),
        count("card.requests", len(pending), "$accent"),
        count("card.alerts", len(alerts), "$error"),
    ]
    lines += fit(counts, width)
    return Content("\n").join(lines)


class ChildCard(Widget, can_focus=True):
    DEFAULT_CSS = """
    ChildCard {
        height: auto;
        border: round $foreground 30%;
        border-title-color: $text;
        border-title-style: bold;
        border-subtitle-color: $text-muted;
        padding: 0 1;
        &:hover { border: round $foreground 60%; }
        &:focus { border: round $accent; background: $boost; }
        &.-alert { border-title-color: $error; }
    }
    """
    BINDINGS = [Binding("enter", "open", "key.open")]

    class Selected(Message):
        def __init__(self, profile_id: str) -> None:
            super().__init__()
            self.profile_id = profile_id

    def __init__(self, profile_id: str, labels: Labels) -> None:
        super().__init__(id=f"card-{profile_id}")
        self.profile_id = profile_id
        self._data: tuple[Child, tuple[Alert, ...], tuple[Request, ...], Labels] | None = None
        localise_bindings(self, labels)

    def show(
        self, child: Child, alerts: tuple[Alert, ...], pending: tuple[Request, ...], labels: Labels
    ) -> None:
        self._data = (child, alerts, pending, labels)
        self.border_title = f"⚠ {child.name}" if alerts else child.name
        self.set_class(bool(alerts), "-alert")
        if child.quiet_window:
            self.border_subtitle = labels("card.now_quiet", name=window_name(child.quiet_window))
        elif child.last_seen:
            self.border_subtitle = labels(
                "card.last_seen", when=seen(child.last_seen, labels, child_today(child))
            )
        else:
            self.border_subtitle = labels("card.never_seen")
        self.refresh(layout=True)

    def render(self) -> Content:
        return self._content(self.size.width)

    def _content(self, width: int) -> Content:
        if self._data is None:
            return Content("")
        return card_content(*self._data, width=width or 36)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        # the lines depend on the width (what fits on the "most used" line)
        return len(self._content(width).split("\n"))

    def on_resize(self) -> None:
        self.refresh()

    def action_open(self) -> None:
        self.post_message(self.Selected(self.profile_id))

    def on_click(self, event: Click) -> None:
        event.stop()
        self.focus()
        self.post_message(self.Selected(self.profile_id))
