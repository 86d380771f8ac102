from __future__ import annotations

import inspect
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store import BadRecord, Record, minutes_between, record_for, records_for_minutes
from vaccine.proxy.store.records import minute_key

EMMA = Profile(id="emma", name="Emma", source=Path("emma.yaml"))
LEO = Profile(id="leo", name="Leo", source=Path("leo.yaml"), parents_see="categories")
WHEN = datetime(2026, 3, 8, 20, 15, 42)


def decision(host: str, cats: set[str], action: str = "allow", rule: str = "default") -> Decision:
    return Decision(action, rule, f"{rule}: detail", host, frozenset(cats))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("profile", "d", "outcome", "expected"),
    [
        (
            EMMA,
            decision("www.youtube.com", {"video", "social_networks"}),
            "allowed",
            Record("2026-03-08 20:15", "emma", "youtube.com", "social_networks", "allowed",
                   "default", ("video",)),
        ),
        (  # parents see categories only: no site at all
            LEO,
            decision("www.youtube.com", {"video"}),
            "passed-through",
            Record("2026-03-08 20:15", "leo", "", "video", "passed-through", "default"),
        ),
        (  # the most worrying category leads, whatever the set's order
            EMMA,
            decision("a.b.example.co.uk", {"search", "adult", "games"}, "block",
                     "block.categories"),
            "blocked",
            Record("2026-03-08 20:15", "emma", "example.co.uk", "adult", "blocked",
                   "block.categories", ("games", "search")),
        ),
        (  # uncategorised, unknown category names dropped
            EMMA,
            decision("10.1.2.3", {"not-a-category"}, "block", "ip_literal"),
            "blocked",
            Record("2026-03-08 20:15", "emma", "10.1.2.3", "", "blocked", "ip_literal"),
        ),
        (  # no host (a bad request): still a blocked attempt, with nowhere to name it
            EMMA,
            decision("", set(), "block", "bad_host"),
            "blocked",
            Record("2026-03-08 20:15", "emma", "", "", "blocked", "bad_host"),
        ),
        (
            EMMA,
            decision("www.google.com", {"search"}),
            "rewritten",
            Record("2026-03-08 20:15", "emma", "google.com", "search", "rewritten", "default"),
        ),
    ],
)  # fmt: skip
def test_record_for(profile: Profile, d: Decision, outcome: str, expected: Record) -> None:
    assert record_for(profile, d, outcome, WHEN) == expected


def test_record_for_ignores_unknown_outcomes_and_never_raises() -> None:
    assert record_for(EMMA, decision("example.com", set()), "maybe", WHEN) is None
    odd = Profile(id="no/slash", name="x", source=Path("x"))
    assert record_for(odd, decision("example.com", set()), "allowed", WHEN) is None


def test_rule_codes_that_are_not_codes_become_other() -> None:
    rec = record_for(EMMA, decision("example.com", set(), rule="Weird Rule!"), "allowed", WHEN)
    assert rec is not None and rec.rule == "other"


def test_minute_key_is_local_wall_clock() -> None:
    assert minute_key(WHEN) == "2026-03-08 20:15"
    aware = datetime(2026, 3, 8, 20, 15, tzinfo=UTC)
    assert minute_key(aware) == minute_key(aware.astimezone().replace(tzinfo=None))


def test_the_record_has_no_field_for_anything_but_its_shape() -> None:
    params = list(inspect.signature(Record.__new__).parameters)[1:]
    expected = ["minute", "profile", "site", "category", "action", "rule", "others", "counted"]
    assert params == expected
    rec = Record("2026-03-08 20:15", "emma", "youtube.com", "video", "allowed", "default")
    assert pickle.loads(pickle.dumps(rec)) == rec
    assert rec.day == "2026-03-08" and rec.counted == 1 and rec.others == ()


SECRET = "q=how+to+hide+from+parents"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("site", "google.com/search?" + SECRET),
        ("site", "google.com?" + SECRET),
        ("site", "Cookie: " + SECRET),
        ("site", "user:" + SECRET + "@example.com"),
        ("site", "how to hide from parents"),
        ("site", "x" * 300),
        ("category", SECRET),
        ("rule", SECRET),
        ("rule", "block.domains: tiktok.com/@someone"),
        ("profile", "emma?" + SECRET),
        ("minute", "2026-03-08T20:15:00 " + SECRET),
        ("action", SECRET),
    ],
)
def test_nowhere_to_put_a_path_query_or_secret(field: str, value: str) -> None:
    good = {
        "minute": "2026-03-08 20:15",
        "profile": "emma",
        "site": "google.com",
        "category": "search",
        "action": "allowed",
        "rule": "default",
    }
    with pytest.raises(BadRecord) as e:
        Record(**{**good, field: value})  # type: ignore[arg-type]
    assert SECRET not in str(e.value) and value not in str(e.value)


def test_others_and_counted_take_only_their_shapes() -> None:
    base = ("2026-03-08 20:15", "emma", "google.com", "search", "allowed", "default")
    with pytest.raises(BadRecord):
        Record(*base, others=(SECRET,))
    with pytest.raises(BadRecord):
        Record(*base, others=["video"])  # type: ignore[arg-type]
    with pytest.raises(BadRecord):
        Record(*base, counted=-1)
    with pytest.raises(BadRecord):
        Record(*base, counted=True)


@given(st.text(min_size=1, max_size=80).filter(lambda s: any(c in s for c in "/?=&% #@;\n\"'")))
def test_no_site_holds_url_or_header_punctuation(text: str) -> None:
    with pytest.raises(BadRecord):
        Record("2026-03-08 20:15", "emma", text, "", "allowed", "default")


def test_further_minutes_of_a_connection_count_time_not_decisions() -> None:
    start = datetime(2026, 3, 8, 20, 58, 30)
    minutes = minutes_between(start, datetime(2026, 3, 8, 21, 1, 5))
    assert [m.strftime("%H:%M") for m in minutes] == ["20:59", "21:00", "21:01"]
    assert minutes_between(start, start) == []
    assert len(minutes_between(start, datetime(2026, 3, 10), limit=60)) == 60
    recs = records_for_minutes(EMMA, decision("discord.com", {"chat"}), "passed-through", minutes)
    assert [(r.minute[-5:], r.counted) for r in recs] == [("20:59", 0), ("21:00", 0), ("21:01", 0)]
