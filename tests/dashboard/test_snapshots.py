"""What a parent sees, as SVG snapshots at 80×24, 120×40 and 160×48, over the seeded week at a
frozen clock. After a deliberate change: `pytest tests/dashboard --snapshot-update`, then look at
the report before committing the new SVGs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from .conftest import MakeApp
from .seed import empty_log

SIZES = [
    pytest.param((80, 24), id="80x24"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((160, 48), id="160x48"),
]


async def loaded(pilot: Pilot[None]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "press",
    [
        pytest.param((), id="overview"),
        pytest.param(("enter",), id="child-emma"),
        pytest.param(("right", "enter"), id="child-leo-categories-only"),
        pytest.param(("2",), id="requests"),
        pytest.param(("2", "down", "a"), id="approve-dialog"),
        pytest.param(("3",), id="alerts"),
        pytest.param(("4",), id="live"),
    ],
)
def test_screens(
    snap_compare: Callable[..., bool],
    make_app: MakeApp,
    seeded: Path,
    press: tuple[str, ...],
    size: tuple[int, int],
) -> None:
    assert snap_compare(make_app(seeded), press=press, terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_first_run(
    snap_compare: Callable[..., bool],
    make_app: MakeApp,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    monkeypatch.chdir(tmp_path)  # the screen names the file: keep its name the same every run
    empty = Path("var/vaccine.db")
    empty_log(empty)
    assert snap_compare(make_app(empty), terminal_size=size, run_before=loaded)


def test_light_theme_in_polish(
    snap_compare: Callable[..., bool], make_app: MakeApp, seeded: Path
) -> None:
    app = make_app(seeded, language="pl", theme="textual-light")
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)
