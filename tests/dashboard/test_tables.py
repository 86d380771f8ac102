"""A child's tables fit the column they are in: the sites give way, the time is never cut or
wrapped onto a line of its own (80 and 120 columns, where it used to wrap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from vaccine.dashboard.screens.child import ChildScreen, fit_columns, text_table

from .conftest import MakeApp
from .test_app import settle

ROWS = [("youtube.com", "video", "7 h 46 min"), ("cloudflare-dns.com", "encrypted DNS", "1 h")]
HEAD = ("Site", "Category", "Time")


@pytest.mark.parametrize(
    ("room", "widths"),
    [
        (80, (20, 15, 0)),  # room to spare: each column as wide as its widest cell
        (45, (20, 15, 0)),  # exactly enough
        (40, (15, 15, 0)),  # the site gives way first
        (30, (10, 10, 0)),  # then the category; neither below 8 + the gap
        (10, (10, 10, 0)),
    ],
)
def test_fit_columns(room: int, widths: tuple[int, ...]) -> None:
    assert fit_columns(ROWS, HEAD, room) == widths


def test_a_cell_too_long_ends_in_an_ellipsis_and_the_last_column_is_whole() -> None:
    text = str(text_table(ROWS, (10, 10, 0), HEAD)).splitlines()
    assert text[2] == "cloudfl…  encrypt…  1 h"
    assert text[1].endswith("7 h 46 min")


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 48)])
async def test_most_used_sites_fit_without_wrapping(
    seeded: Path, make_app: MakeApp, size: tuple[int, int]
) -> None:
    app = make_app(seeded)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChildScreen)
        child = app.snapshot.child("emma")  # type: ignore[union-attr]
        assert child is not None and child.week.top_sites
        for widget_id, rows in [
            ("#sites", child.week.top_sites),
            ("#blocked-sites", child.week.blocked_sites),
        ]:
            table = screen.query_one(widget_id, Static)
            # one line for the head, one per site: nothing wrapped
            assert table.size.height == len(rows) + 1, (widget_id, size)
            assert table.size.width <= size[0]
