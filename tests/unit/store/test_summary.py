from __future__ import annotations

from datetime import date

import pytest

from vaccine.proxy.store.summary import (
    ActivityRow,
    CategoryCount,
    CategoryMinutes,
    DayMinutes,
    PendingRequest,
    ProfileInfo,
    ReportRows,
    RequestRow,
    SiteCount,
    SiteUse,
    TotalRow,
    day_range,
    format_minutes,
    summarise,
)

FIRST, LAST = date(2026, 3, 6), date(2026, 3, 8)

TOTALS = [
    TotalRow("2026-03-07", "emma", "youtube.com", "video", "allowed", "default", 40),
    TotalRow("2026-03-08", "emma", "youtube.com", "video", "passed-through", "default", 2),
    TotalRow("2026-03-08", "emma", "youtube.com", "social_networks", "allowed", "default", 1),
    TotalRow("2026-03-08", "emma", "roblox.com", "games", "allowed", "default", 9),
    TotalRow("2026-03-08", "emma", "google.com", "search", "rewritten", "default", 5),
    TotalRow("2026-03-08", "emma", "bet365.com", "gambling", "blocked", "block.categories", 3),
    TotalRow("2026-03-08", "emma", "tiktok.com", "", "blocked", "block.domains", 3),
    TotalRow("2026-03-08", "emma", "", "", "blocked", "bad_host", 1),
    # failed TLS handshakes (no certificate): not blocked attempts, shown apart by the dashboard
    TotalRow("2026-03-08", "emma", "", "", "blocked", "no_ca", 6),
    TotalRow("2026-03-01", "emma", "old.example", "video", "allowed", "default", 99),  # outside
    TotalRow("2026-03-08", "leo", "", "video", "allowed", "default", 7),
]
ACTIVITY = [
    ActivityRow("2026-03-07", "emma", "online", "", 30),
    ActivityRow("2026-03-08", "emma", "online", "", 20),
    ActivityRow("2026-03-07", "emma", "category", "video", 30),
    ActivityRow("2026-03-08", "emma", "category", "video", 5),
    ActivityRow("2026-03-08", "emma", "category", "games", 15),
    ActivityRow("2026-03-08", "emma", "category", "", 15),
    ActivityRow("2026-03-07", "emma", "site", "youtube.com", 30),
    ActivityRow("2026-03-08", "emma", "site", "youtube.com", 5),
    ActivityRow("2026-03-08", "emma", "site", "roblox.com", 35),
    ActivityRow("2026-03-08", "leo", "online", "", 7),
    ActivityRow("2026-03-08", "leo", "category", "video", 7),
    ActivityRow("2026-03-08", "leo", "site", "youtube.com", 7),  # recorded before the switch
    ActivityRow("2026-03-01", "leo", "online", "", 500),  # outside the range
]
REQUESTS = [
    RequestRow(4, "emma", "tiktok.com", "social_networks", "school project", "2026-03-08T19:02:00"),
    RequestRow(2, "emma", "roblox.com", "games", "", "2026-03-08T19:01:00"),
]
ROWS = ReportRows(TOTALS, ACTIVITY, REQUESTS, dropped_records=12)
POLICIES = [
    ProfileInfo("emma", "Emma"),
    ProfileInfo("leo", "Leo", parents_see="categories"),
    ProfileInfo("zoe", "Zoë"),
]


def test_a_profile_summary_from_rows() -> None:
    report = summarise(ROWS, FIRST, LAST, profiles=POLICIES, top=2)
    assert (report.days, report.dropped_records) == (3, 12)
    emma = report.profiles[0]
    assert (emma.profile, emma.name, emma.sites_visible) == ("emma", "Emma", True)
    assert emma.minutes_online == 50
    assert emma.minutes_by_day == (
        DayMinutes("2026-03-06", 0),
        DayMinutes("2026-03-07", 30),
        DayMinutes("2026-03-08", 20),
    )
    assert emma.minutes_by_category == (
        CategoryMinutes("video", 35),
        CategoryMinutes("games", 15),
        CategoryMinutes("", 15),  # uncategorised after every name on a tie
    )
    assert emma.top_sites == (
        SiteUse("youtube.com", "video", 35, 43),
        SiteUse("roblox.com", "games", 35, 9),
    )
    assert emma.blocked_total == 7
    assert emma.blocked_by_category == (CategoryCount("", 4), CategoryCount("gambling", 3))
    assert emma.blocked_sites == (SiteCount("bet365.com", 3), SiteCount("tiktok.com", 3))
    assert (emma.rewritten_searches, emma.rewritten_by_site) == (5, (SiteCount("google.com", 5),))
    assert [r.id for r in emma.pending_requests] == [2, 4]
    assert emma.pending_requests[1] == PendingRequest(
        4, "tiktok.com", "social_networks", "school project", "2026-03-08T19:02:00"
    )


def test_sites_stay_hidden_for_profiles_whose_parents_see_categories() -> None:
    leo = summarise(ROWS, FIRST, LAST, profiles=POLICIES).profiles[1]
    assert (leo.profile, leo.sites_visible, leo.top_sites) == ("leo", False, ())
    assert leo.minutes_online == 7
    assert leo.minutes_by_category == (CategoryMinutes("video", 7),)


def test_profiles_without_activity_are_listed_and_only_filters() -> None:
    report = summarise(ROWS, FIRST, LAST, profiles=POLICIES)
    assert [p.profile for p in report.profiles] == ["emma", "leo", "zoe"]
    zoe = report.profiles[2]
    assert (zoe.minutes_online, zoe.blocked_total, zoe.top_sites) == (0, 0, ())
    only = summarise(ROWS, FIRST, LAST, profiles=POLICIES, only="leo")
    assert [p.profile for p in only.profiles] == ["leo"]


def test_without_policies_profiles_come_from_the_rows_and_sites_show() -> None:
    report = summarise(ROWS, FIRST, LAST)
    assert [(p.profile, p.name, p.sites_visible) for p in report.profiles] == [
        ("emma", None, True),
        ("leo", None, True),
    ]
    # a site known only from its minutes has no category to show
    assert report.profiles[1].top_sites == (SiteUse("youtube.com", "", 7, 0),)


def test_no_rows_no_profiles() -> None:
    report = summarise(ReportRows([], [], []), LAST, LAST)
    assert (report.profiles, report.days) == ((), 1)


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "0 min"), (59, "59 min"), (60, "1 h 00 min"), (725, "12 h 05 min")]
)
def test_format_minutes(minutes: int, text: str) -> None:
    assert format_minutes(minutes) == text


def test_day_range_includes_both_ends() -> None:
    assert day_range(LAST, 3) == (FIRST, LAST)
    assert day_range(LAST, 1) == (LAST, LAST)


def test_daily_limits_are_measured_on_the_last_day_of_the_range() -> None:
    limited = [ProfileInfo("emma", "Emma", limits=(("games", 60), ("video", 5), ("chat", 30)))]
    (emma,) = summarise(ROWS, FIRST, LAST, profiles=limited, only="emma").profiles
    # 2026-03-08: games 15, video 5 (the 30 video minutes of the 7th do not count)
    assert [(u.category, u.limit, u.used, u.left) for u in emma.limits] == [
        ("games", 60, 15, 45),
        ("video", 5, 5, 0),
        ("chat", 30, 0, 30),
    ]
    assert summarise(ROWS, FIRST, LAST, profiles=POLICIES).profiles[0].limits == ()
