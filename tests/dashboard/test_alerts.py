"""The alert rules, table-driven, on plain rows."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from vaccine.dashboard.alerts import BYPASS, CONCERNING, QUIET_HOURS, find_alerts, last_moment
from vaccine.dashboard.summaries import week_of
from vaccine.proxy.store.summary import ActivityRow, TotalRow

TODAY = date(2026, 3, 8)
DAYS = week_of(TODAY)
NOW = datetime(2026, 3, 8, 19, 5)


def blocked(day: str, category: str, n: int, rule: str = "block.categories") -> TotalRow:
    return TotalRow(day, "emma", "", category, "blocked", rule, n)


def kinds(rows: list[TotalRow]) -> list[tuple[str, str, int, int]]:
    found = find_alerts(rows, [], DAYS, NOW, {}, ["emma"])
    return [(a.kind, a.category, a.today, a.week) for a in found]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([blocked("2026-03-08", "adult", 2)], []),  # twice is not yet "repeated"
        (
            [blocked("2026-03-08", "adult", 2), blocked("2026-03-03", "adult", 1)],
            [("concerning", "adult", 2, 3)],
        ),  # fmt: skip
        ([blocked("2026-03-01", "adult", 9)], []),  # before the week
        (
            [blocked("2026-03-06", "self_harm", 1, "search_terms")],
            [("concerning", "self_harm", 0, 1)],
        ),  # fmt: skip
        ([TotalRow("2026-03-08", "emma", "x.com", "adult", "allowed", "default", 9)], []),
        ([blocked("2026-03-08", "gambling", 50)], []),  # blocked, but not a concern here
        ([blocked("2026-03-08", "proxy_bypass", 1)], [("bypass", "", 1, 1)]),
        ([blocked("2026-03-08", "doh", 4)], []),  # browsers try encrypted DNS by themselves
        ([blocked("2026-03-08", "doh", 5)], [("bypass", "", 5, 5)]),
        ([blocked("2026-03-07", "", 5, "ip_literal")], [("bypass", "", 0, 5)]),
    ],
)
def test_rules(rows: list[TotalRow], expected: list[tuple[str, str, int, int]]) -> None:
    assert kinds(rows) == expected


def test_thresholds_are_the_documented_ones() -> None:
    assert CONCERNING == {"self_harm": 1, "adult": 3}
    assert BYPASS == {"proxy_bypass": 1, "doh": 5, "ip_literal": 5}
    assert QUIET_HOURS == 24


def test_concerning_splits_sites_and_searches_and_self_harm_comes_first() -> None:
    rows = [
        blocked("2026-03-08", "adult", 2),
        blocked("2026-03-08", "adult", 1, "search_terms"),
        blocked("2026-03-02", "self_harm", 1, "search_terms"),
        blocked("2026-03-08", "proxy_bypass", 1),
        blocked("2026-03-08", "", 2, "ip_literal"),
    ]
    found = find_alerts(rows, [], DAYS, NOW, {}, ["emma"])
    assert [(a.kind, a.category) for a in found] == [
        ("concerning", "self_harm"),
        ("concerning", "adult"),
        ("bypass", ""),
    ]
    assert dict(found[1].parts) == {"sites": 2, "searches": 1}
    assert found[2].parts == (("proxy_bypass", 1), ("ip_literal", 2))


def online(days: list[str], profile: str = "leo") -> list[ActivityRow]:
    return [ActivityRow(d, profile, "online", "", 30) for d in days]


@pytest.mark.parametrize(
    ("active", "last_seen", "watched", "quiet"),
    [
        (["2026-03-05", "2026-03-06", "2026-03-07"], "2026-03-07 19:04", ["leo"], True),
        (["2026-03-05", "2026-03-06", "2026-03-07"], "2026-03-07 19:06", ["leo"], False),  # 23h59
        (["2026-03-06", "2026-03-07"], "2026-03-07 10:00", ["leo"], False),  # not used enough
        (["2026-03-05", "2026-03-06", "2026-03-07"], "2026-03-07 10:00", [], False),  # unwatched
        (["2026-03-02", "2026-03-03", "2026-03-04"], "2026-03-04", ["leo"], True),  # day alone
    ],
)
def test_quiet(active: list[str], last_seen: str, watched: list[str], quiet: bool) -> None:
    found = find_alerts([], online(active), DAYS, NOW, {"leo": last_seen}, watched)
    assert [a.kind for a in found] == (["quiet"] if quiet else [])
    if quiet:
        assert found[0].last_seen == last_seen


def test_a_day_alone_counts_as_its_last_minute() -> None:
    assert last_moment("2026-03-07") == datetime(2026, 3, 7, 23, 59)
    assert last_moment("2026-03-07 10:00") == datetime(2026, 3, 7, 10, 0)


def test_known_abuse_alerts_at_the_first_attempt_and_comes_first() -> None:
    rows = [
        blocked("2026-03-08", "self_harm", 1, "search_terms"),
        blocked("2026-03-07", "", 1, "known_abuse"),
        blocked("2026-03-08", "", 2, "known_abuse"),
    ]
    assert kinds(rows) == [("known_abuse", "", 2, 3), ("concerning", "self_harm", 1, 1)]


def test_the_known_abuse_alert_says_what_to_do_in_every_language() -> None:
    from vaccine.dashboard.i18n import LANGUAGES, Labels
    from vaccine.dashboard.snapshot import Alert
    from vaccine.dashboard.widgets.alert_item import alert_content

    alert = Alert("emma", "known_abuse", "", 1, 3)
    for lang in LANGUAGES:
        text = alert_content(alert, "Emma", Labels(lang)).plain
        assert "Emma" in text and "reporting_line" in text, (lang, text)
