"""Time online per day as horizontal bars, each split by category, with a legend.

One bar per day, all on one scale (the week's longest day fills the width), so days compare at
a glance; the colours are the theme's, so the chart follows light and dark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from textual.content import Content
from textual.widget import Widget

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import CategorySeries

#: colours of the biggest categories, in order; the rest share the last one
PALETTE = ("$primary", "$accent", "$success", "$warning", "$secondary", "$error")
OTHERS = "$foreground 35%"
DAY = 7  # "Sun 08 "
TOTAL = 11  # " 10 h 05 min"


def category_styles(series: Sequence[CategorySeries]) -> dict[str, str]:
    """A colour per category: the week's biggest first."""
    return {s.category: PALETTE[i] if i < len(PALETTE) else OTHERS for i, s in enumerate(series)}


def bar_cells(minutes: Sequence[int], cells: int) -> list[int]:
    """`cells` shared among the parts in proportion to `minutes`, by largest remainders, so
    the parts add up to exactly `cells` (a part under half a cell may vanish)."""
    total = sum(minutes)
    if total <= 0 or cells <= 0:
        return [0] * len(minutes)
    exact = [m / total * cells for m in minutes]
    out = [int(e) for e in exact]
    by_remainder = sorted(range(len(minutes)), key=lambda i: exact[i] - out[i], reverse=True)
    for i in by_remainder[: cells - sum(out)]:
        out[i] += 1
    return out


class DayBars(Widget):
    DEFAULT_CSS = """
    DayBars {
        height: auto;
    }
    """

    def __init__(self, labels: Labels, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels
        self.days: tuple[date, ...] = ()
        self.series: tuple[CategorySeries, ...] = ()
        self.online: tuple[int, ...] = ()

    def show(
        self, days: Sequence[date], series: Sequence[CategorySeries], online: Sequence[int]
    ) -> None:
        """`online`: minutes online each day (a minute may count in several categories, so
        the bar's length is time online, split in the categories' proportions)."""
        self.days, self.series, self.online = tuple(days), tuple(series), tuple(online)
        self.refresh(layout=True)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return len(self.days) + len(self._legend(width))

    def _legend(self, width: int) -> list[Content]:
        """The legend, wrapped to `width`."""
        styles = category_styles(self.series)
        lines: list[Content] = []
        line = Content(" " * DAY)
        for s in self.series:
            entry = Content.assemble(
                ("■", styles[s.category]), f" {self.labels.category(s.category)}  "
            )
            if line.cell_length + entry.cell_length > width and line.cell_length > DAY:
                lines.append(line)
                line = Content(" " * DAY)
            line = line + entry
        if self.series:
            lines.append(line)
        return lines

    def render(self) -> Content:
        labels = self.labels
        styles = category_styles(self.series)
        per_day = [[s.minutes[i] for s in self.series] for i in range(len(self.days))]
        totals = list(self.online)
        scale = max(totals, default=0)
        # "Sun 08 " in English; wider where a language's day names are longer ("niedz. 08").
        day_width = max([DAY, *(len(labels.day(d)) + 1 for d in self.days)])
        width = max(1, self.size.width - day_width - TOTAL - 1)
        lines = []
        for day, minutes, total in zip(self.days, per_day, totals, strict=True):
            parts: list[str | tuple[str, str]] = [(labels.day(day).ljust(day_width), "$text-muted")]
            length = round(total / scale * width) if scale else 0
            cells = bar_cells(minutes, length)
            for s, n in zip(self.series, cells, strict=True):
                if n:
                    parts.append(("█" * n, styles[s.category]))
            parts.append(" " * (width - sum(cells) + 1))
            parts.append(
                (labels.duration(total).rjust(TOTAL - 1), "bold" if total else "$text-muted")
            )
            lines.append(Content.assemble(*parts))
        lines += self._legend(self.size.width)
        return Content("\n").join(lines)
