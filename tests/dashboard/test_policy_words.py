"""A profile's policy in a parent's words."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.policy_words import days_words, describe_policy, window_name
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.policy.model import Profile, Window

from .seed import ROOT

EN, PL = Labels("en"), Labels("pl")


def window(days: set[int], start: time, end: time) -> Window:
    return Window("bedtime", frozenset(days), start, end, True, frozenset())


@pytest.mark.parametrize(
    ("days", "start", "end", "en", "pl"),
    [
        ({6, 0, 1, 2, 3}, time(20, 30), time(7), "on school nights", "w noce przed szkołą"),
        (set(range(7)), time(21), time(7), "every day", "codziennie"),
        ({0, 1, 2, 3, 4}, time(9), time(15), "on weekdays", "w dni robocze"),
        ({5, 6}, time(9), time(12), "at weekends", "w weekendy"),
        ({0, 2}, time(9), time(12), "on Mon, Wed", "w dni: pon., śr."),
        ({6, 0, 1, 2, 3}, time(9), time(12), "on Mon, Tue, Wed, Thu, Sun", None),  # not nights
    ],
)
def test_days(days: set[int], start: time, end: time, en: str, pl: str | None) -> None:
    assert days_words(window(days, start, end), EN) == en
    if pl is not None:
        assert days_words(window(days, start, end), PL) == pl


def test_window_name() -> None:
    assert window_name("school-night") == "School night"
    assert window_name("bedtime") == "Bedtime"


def test_the_shipped_household_in_words() -> None:
    profiles = load_policies(ROOT / "policies").profiles
    emma = describe_policy(profiles["emma"], EN)
    assert emma[0] == (
        "Bedtime 19:30–07:00 on school nights (except khanacademy.org); "
        "games 1 h a day; video 1 h 30 min a day"
    )
    assert "Blocked sites: tiktok.com" in emma
    assert emma[-1] == "You see the sites visited (never full addresses)."
    leo = describe_policy(profiles["leo"], EN)
    assert leo[0] == (
        "School night 22:00–06:30 on school nights: chat, games, social networks, video; "
        "games 2 h a day"
    )
    assert leo[-1] == "You see only the kind of site, not which site."
    assert describe_policy(profiles["leo"], PL)[0] == (
        "School night 22:00–06:30 w noce przed szkołą: czat, gry, media społecznościowe, wideo; "
        "gry: 2 h dziennie"
    )


def test_nothing_to_say() -> None:
    bare = Profile("x", "X", Path("x.yaml"))
    assert describe_policy(bare, EN) == [
        "No schedule and no limits.",
        "You see the sites visited (never full addresses).",
    ]
