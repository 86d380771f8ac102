"""When the proxy fetches the lists by itself: at once on a first start, then every
`lists.refresh` counted from the last update that reached the sites, later after a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vaccine.proxy.addons.fetcher import RETRY_SECONDS, next_fetch
from vaccine.proxy.lists.fetch import State
from vaccine.proxy.lists.sources import Source

NOW = 1_800_000_000.0
DAY = 24 * 60
UT1 = Source("ut1", "ut1", "ut1", "http://lists.example/ut1.tar.gz", {"adult": ("adult",)})
HOSTS = Source("bad", "hosts", "bad.hosts", "http://lists.example/hosts", category=("malware",))


def fetched(root: Path, src: Source, at: float) -> None:
    (root / src.into).write_text("x.example\n")
    State(entries=1, checked=at).write(root, src.name)


@pytest.mark.parametrize(
    ("fetch_on_start", "refresh", "state", "expected"),
    [
        (True, DAY, {}, NOW),  # a first start: at once
        (False, DAY, {}, None),  # ...unless turned off
        (True, DAY, {"ut1": NOW - 3600, "bad": NOW - 7200}, NOW - 7200 + DAY * 60),
        (True, DAY, {"ut1": NOW - 2 * DAY * 60, "bad": NOW}, NOW - DAY * 60),  # overdue
        (True, 0, {"ut1": NOW - 3600, "bad": NOW - 7200}, None),  # refresh: off
        (True, 0, {"ut1": NOW - 3600}, NOW),  # off, but one source never fetched
        (True, 12 * 60, {"ut1": NOW}, NOW),
    ],
)
def test_next_fetch(
    tmp_path: Path,
    fetch_on_start: bool,
    refresh: int,
    state: dict[str, float],
    expected: float | None,
) -> None:
    for src in (UT1, HOSTS):
        if src.name in state:
            fetched(tmp_path, src, state[src.name])
    due = next_fetch(
        tmp_path, [UT1, HOSTS], fetch_on_start=fetch_on_start, refresh_minutes=refresh, now=NOW
    )
    assert due == expected


def test_a_failed_update_is_retried_later_not_at_once(tmp_path: Path) -> None:
    args = {"fetch_on_start": True, "refresh_minutes": DAY, "now": NOW}
    assert next_fetch(tmp_path, [HOSTS], failed_at=NOW, **args) == NOW + RETRY_SECONDS  # type: ignore[arg-type]


def test_a_copy_placed_by_hand_counts_from_its_date(tmp_path: Path) -> None:
    (tmp_path / "bad.hosts").write_text("x.example\n")
    os.utime(tmp_path / "bad.hosts", (NOW - 600, NOW - 600))
    due = next_fetch(tmp_path, [HOSTS], fetch_on_start=True, refresh_minutes=60, now=NOW)
    assert due == NOW - 600 + 3600


def test_no_source_to_fetch(tmp_path: Path) -> None:
    assert next_fetch(tmp_path, [], fetch_on_start=True, refresh_minutes=DAY, now=NOW) is None
