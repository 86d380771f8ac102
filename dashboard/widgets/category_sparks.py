"""A row per category: its name, a `Sparkline` of its minutes on each day, the week's total."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import CategorySeries

CELLS = 3  # per day: a week is 21 cells


def stretch(data: Sequence[int]) -> list[int]:
    """Each day CELLS times: a Sparkline as wide as its data gives every day the same width
    (it spreads fewer values unevenly)."""
    return [v for v in data for _ in range(CELLS)]


class SparkRow(Horizontal):
    DEFAULT_CSS = """
    SparkRow {
        height: 1;
        .name { width: 18; color: $text-muted; }
        Sparkline { width: 21; margin-right: 1; }
        .total { width: auto; }
    }
    """

    def __init__(self, name: str, data: Sequence[int], total: str) -> None:
        super().__init__()
        self._label, self._data, self._total = name, stretch(data), total

    def compose(self) -> ComposeResult:
        yield Label(self._label, classes="name")
        yield Sparkline(self._data)
        yield Label(self._total, classes="total")

    def update(self, data: Sequence[int], total: str) -> None:
        self.query_one(Sparkline).data = stretch(data)
        self.query_one(".total", Label).update(total)


class CategorySparks(Vertical):
    """Sparklines for the biggest `top` categories (each on its own scale: the shape of the
    week, not a comparison between categories; the totals compare)."""

    DEFAULT_CSS = """
    CategorySparks {
        height: auto;
    }
    """

    def __init__(self, labels: Labels, top: int = 6, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels
        self.top = top
        self._shown: list[str] = []

    def show(self, series: Sequence[CategorySeries]) -> None:
        series = [s for s in series if s.total][: self.top]
        names = [s.category for s in series]
        labels = self.labels
        if names != self._shown:
            self._shown = names
            self.remove_children()
            self.mount_all(
                SparkRow(labels.category(s.category), s.minutes, labels.duration(s.total))
                for s in series
            )
            return
        for row, s in zip(self.query(SparkRow), series, strict=True):
            row.update(s.minutes, labels.duration(s.total))
