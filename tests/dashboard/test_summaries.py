"""The pure summaries behind the screens, without any UI."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from vaccine.dashboard.summaries import (
    blocked_days,
    build_children,
    category_days,
    limit_uses,
    live_rows,
    printable,
    quiet_window,
    shown_profiles,
    week_of,
)
from vaccine.proxy.policy.model import Device, Profile, Window
from vaccine.proxy.store.summary import ActivityRow, ReportRows, TotalRow, summarise

TODAY = date(2026, 3, 8)
DAYS = week_of(TODAY)


def profile(pid: str, name: str, **kw: object) -> Profile:
    return Profile(pid, name, Path(f"{pid}.yaml"), **kw)  # type: ignore[arg-type]


PHONE = (Device("address"),)


def test_week_of_is_seven_days_ending_today() -> None:
    assert DAYS[0] == date(2026, 3, 2) and DAYS[-1] == TODAY and len(DAYS) == 7


def test_shown_profiles_children_by_name_then_unknown_devices_then_log_only() -> None:
    profiles = {
        "zoe": profile("zoe", "Anna", devices=PHONE),  # sorted by the name a parent reads
        "leo": profile("leo", "Leo", devices=PHONE),
        "guest": profile("guest", "Guests"),
        "defaults": profile("defaults", "Defaults"),  # a base: no devices, no activity
    }
    order = shown_profiles(profiles, ["old-tablet", "leo"], "guest")
    assert order == ["zoe", "leo", "guest", "old-tablet"]


def test_category_days_per_day_biggest_week_first() -> None:
    rows = [
        ActivityRow("2026-03-07", "emma", "category", "games", 10),
        ActivityRow("2026-03-08", "emma", "category", "games", 5),
        ActivityRow("2026-03-08", "emma", "category", "video", 30),
        ActivityRow("2026-03-08", "emma", "category", "", 40),
        ActivityRow("2026-03-08", "emma", "online", "", 60),  # not a category
        ActivityRow("2026-03-08", "leo", "category", "video", 99),  # another profile
        ActivityRow("2026-03-01", "emma", "category", "games", 99),  # before the week
    ]
    series = category_days(rows, DAYS, "emma")
    assert [(s.category, s.minutes) for s in series] == [
        ("", (0, 0, 0, 0, 0, 0, 40)),
        ("video", (0, 0, 0, 0, 0, 0, 30)),
        ("games", (0, 0, 0, 0, 0, 10, 5)),
    ]
    assert series[2].total == 15


def test_blocked_days_counts_only_blocked() -> None:
    rows = [
        TotalRow("2026-03-08", "emma", "x.com", "adult", "blocked", "block.categories", 3),
        TotalRow("2026-03-08", "emma", "y.com", "games", "allowed", "default", 50),
        TotalRow("2026-03-02", "emma", "", "", "blocked", "ip_literal", 1),
    ]
    assert blocked_days(rows, DAYS, "emma") == (1, 0, 0, 0, 0, 0, 3)


def test_limit_uses_fullest_first() -> None:
    uses = limit_uses({"games": 60, "video": 90}, {"video": 95, "games": 30})
    assert [(u.category, u.used, u.limit, u.used_up) for u in uses] == [
        ("video", 95, 90, True),
        ("games", 30, 60, False),
    ]
    assert uses[0].ratio == 1.0 and uses[1].ratio == 0.5


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 8, 19, 29), None),  # Sunday, before bedtime
        (datetime(2026, 3, 8, 19, 30), "bedtime"),
        (datetime(2026, 3, 9, 6, 59), "bedtime"),  # Monday morning: Sunday's window
        (datetime(2026, 3, 7, 21, 0), None),  # Saturday: not a school night
    ],
)
def test_quiet_window(now: datetime, expected: str | None) -> None:
    bedtime = Window(
        "bedtime", frozenset({6, 0, 1, 2, 3}), time(19, 30), time(7), True, frozenset()
    )
    assert quiet_window(profile("emma", "Emma", schedule=(bedtime,)), now) == expected
    assert quiet_window(None, now) is None


def test_live_rows_hide_sites_of_categories_only_profiles() -> None:
    rows = [
        ("2026-03-08 19:00", "leo", "instagram.com", "social_networks", "allowed", "default", 2),
        ("2026-03-08 19:00", "leo", "", "social_networks", "allowed", "default", 1),
        ("2026-03-08 19:00", "emma", "youtube.com", "video", "passed-through", "default", 1),
        ("2026-03-08 19:00", "emma", "youtube.com", "video", "allowed", "default", 3),
        ("2026-03-08 19:01", "emma", "youtube.com", "video", "passed-through", "default", 0),
    ]
    live = live_rows(rows, ["leo"])
    assert [(r.profile, r.site, r.action, r.count) for r in live] == [
        ("emma", "youtube.com", "allowed", 4),  # passed through is allowed, to a parent
        ("leo", "", "allowed", 3),  # the site recorded before the switch is gone
    ]


def test_build_children_has_the_reports_numbers() -> None:
    totals = [
        TotalRow("2026-03-08", "emma", "roblox.com", "games", "allowed", "default", 9),
        TotalRow("2026-03-08", "emma", "bet.com", "gambling", "blocked", "block.categories", 2),
        TotalRow("2026-03-07", "emma", "bet.com", "gambling", "blocked", "block.categories", 1),
    ]
    activity = [
        ActivityRow("2026-03-08", "emma", "online", "", 20),
        ActivityRow("2026-03-08", "emma", "category", "games", 20),
        ActivityRow("2026-03-07", "emma", "online", "", 30),
    ]
    rows = ReportRows(totals, activity, [])
    emma = profile("emma", "Emma", devices=PHONE, limits={"games": 60})
    now = datetime(2026, 3, 8, 12)
    (child,) = build_children(rows, DAYS, ["emma"], {"emma": emma}, {"emma": "x"}, now)
    report = summarise(rows, DAYS[0], TODAY).profiles[0]
    assert child.week.minutes_online == report.minutes_online == 50
    assert child.today.minutes_online == 20 and child.today.blocked_total == 2
    assert child.week.blocked_total == report.blocked_total == 3
    assert [(u.category, u.used) for u in child.limits] == [("games", 20)]
    assert child.blocked_by_day[-2:] == (1, 2)
    assert child.last_seen == "x" and child.name == "Emma"


def test_printable_drops_escapes() -> None:
    assert printable("\x1b[31mhi\x07 there\n") == "[31mhi  there"
