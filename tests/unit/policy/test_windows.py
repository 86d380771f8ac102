"""Which schedule windows would still block a site allowed "always" (proxy.policy.windows)."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

import pytest

from vaccine.proxy.policy.model import Profile, Window
from vaccine.proxy.policy.windows import window_end, window_words, windows_blocking

BEDTIME = Window("bedtime", frozenset({6, 0, 1, 2, 3}), time(19, 30), time(7, 0), True,
                 frozenset(), ("khanacademy.org",))  # fmt: skip
NIGHT_GAMES = Window("no-games", frozenset(range(7)), time(22), time(23), False,
                     frozenset({"games", "video"}))  # fmt: skip
NEVER = Window("never", frozenset(), time(1), time(2), True, frozenset())
KID = Profile("kid", "Kid", Path("kid.yaml"), schedule=(BEDTIME, NIGHT_GAMES, NEVER))


@pytest.mark.parametrize(
    ("domain", "categories", "names"),
    [
        ("roblox.com", {"games"}, ["bedtime", "no-games"]),
        ("wiki.org", {""}, ["bedtime"]),  # uncategorised: only "everything" windows
        ("shop.example", {"shopping"}, ["bedtime"]),
        ("www.khanacademy.org", {"education"}, []),  # bedtime's own allow covers it
        ("khanacademy.org", {"video"}, ["no-games"]),
    ],
)
def test_windows_that_would_still_block(
    domain: str, categories: set[str], names: list[str]
) -> None:
    assert [w.name for w in windows_blocking(KID, domain, categories)] == names


def test_words_and_end() -> None:
    assert window_words(BEDTIME) == "bedtime (Mon, Tue, Wed, Thu, Sun 19:30–07:00)"
    assert window_words(NIGHT_GAMES) == "no-games (every day 22:00–23:00)"
    sunday_evening = datetime(2026, 3, 8, 21, 0)
    assert window_end(BEDTIME, sunday_evening) == datetime(2026, 3, 9, 7, 0)
    assert window_end(BEDTIME, datetime(2026, 3, 9, 6, 0)) == datetime(2026, 3, 9, 7, 0)
    assert window_end(BEDTIME, datetime(2026, 3, 9, 12, 0)) is None
    assert window_end(NIGHT_GAMES, datetime(2026, 3, 9, 22, 30)) == datetime(2026, 3, 9, 23, 0)
