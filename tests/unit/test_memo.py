"""vaccine.proxy.memo: a remembered decision is always the one `decide` would make now."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaccine.proxy.decision import Decision, Facts, Usage, decide
from vaccine.proxy.household import Household, load_household
from vaccine.proxy.paths import ASK_PATH

ROOT = Path(__file__).resolve().parents[2]
# Emma (the example household): bedtime Sun-Thu 19:30-07:00, games 1 h a day, safe search.
MONDAY = datetime(2026, 11, 23)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Household:
    tmp = tmp_path_factory.mktemp("home")
    shutil.copytree(ROOT / "policies", tmp / "policies")
    shutil.copytree(ROOT / "blocklists", tmp / "lists", ignore=shutil.ignore_patterns(".*"))
    (tmp / "lists/local/adult").mkdir()
    (tmp / "lists/local/adult/urls").write_text("mixed.example/adult/\n")
    return load_household(tmp / "policies", tmp / "lists")


NONE = Usage()


def fresh(home: Household, facts: Facts, now: datetime, usage: Usage = NONE) -> Decision:
    return decide(
        facts, home.policies.profiles["emma"], home.lists, now, usage, home.terms,
        never_decrypt=home.policies.settings.never_decrypt, onboarding_host="mitm.it",
    )  # fmt: skip


def memo(home: Household, facts: Facts, now: datetime, usage: Usage = NONE) -> Decision:
    return home.decide(facts, home.policies.profiles["emma"], now, usage, onboarding_host="mitm.it")


def test_a_host_seen_this_minute_is_not_decided_again(home: Household) -> None:
    facts, now = Facts(("wikipedia.org",), stage="connect"), MONDAY.replace(hour=12)
    first = memo(home, facts, now)
    hits = home.memo.hits
    assert (
        memo(home, Facts(("wikipedia.org",), stage="connect"), now + timedelta(seconds=30)) is first
    )
    assert home.memo.hits == hits + 1


def test_a_schedule_window_starts_on_the_minute(home: Household) -> None:
    facts = Facts(("wikipedia.org",), "/")
    assert not memo(home, facts, MONDAY.replace(hour=19, minute=29, second=59)).blocked
    assert memo(home, facts, MONDAY.replace(hour=19, minute=30)).rule == "schedule"


def test_a_new_approval_and_one_ending_mid_minute(home: Household) -> None:
    facts, now = Facts(("www.tiktok.com",), "/"), MONDAY.replace(hour=12, second=10)
    assert memo(home, facts, now).rule == "block.domains"
    until = now.replace(second=40)
    approved = Usage(approvals={"tiktok.com": until})
    assert memo(home, facts, now, approved).rule == "approval"  # a new approvals object
    assert memo(home, facts, now.replace(second=39), approved).rule == "approval"
    assert memo(home, facts, now.replace(second=41), approved).rule == "block.domains"


def test_a_limit_used_up_blocks_at_once(home: Household) -> None:
    facts, now = Facts(("www.roblox.com",), "/"), MONDAY.replace(hour=15)
    games = home.lists.categories("www.roblox.com")
    assert "games" in games, "the starter lists should know roblox.com"
    assert not memo(home, facts, now, Usage(minutes_today={"games": 59})).blocked
    assert memo(home, facts, now, Usage(minutes_today={"games": 60})).rule == "limits"
    assert not memo(home, facts, now, Usage(minutes_today={"games": 59, "video": 5})).blocked


def test_the_path_counts_where_a_url_entry_or_the_ask_form_makes_it(home: Household) -> None:
    now = MONDAY.replace(hour=12)
    assert not memo(home, Facts(("mixed.example",), "/news"), now).blocked
    assert memo(home, Facts(("mixed.example",), "/adult/x"), now).blocked
    assert not memo(home, Facts(("mixed.example",), "/news"), now).blocked
    blocked = Facts(("www.tiktok.com",), "/")
    assert memo(home, blocked, now).treatment == "page"
    assert memo(home, Facts(("www.tiktok.com",), ASK_PATH), now).treatment == "ask"


def test_a_reload_starts_a_new_memo(home: Household) -> None:
    import dataclasses

    again = dataclasses.replace(home)
    assert again.memo is not home.memo and again.memo.hits == 0


HOSTS = ["wikipedia.org", "www.tiktok.com", "www.google.com", "www.roblox.com", "mixed.example",
         "khanacademy.org", "pornhub.com", "10.0.0.1", "xn--bcher-kva.example",
         "mitm.it"]  # fmt: skip
PATHS = [None, "/", "/adult/x", "/search?q=cats", ASK_PATH]


@settings(max_examples=400, deadline=None)
@given(
    # around noon, the start of bedtime and its end the next morning
    base=st.sampled_from([MONDAY.replace(hour=11, minute=58), MONDAY.replace(hour=19, minute=28),
                          MONDAY.replace(hour=6, minute=58) + timedelta(days=1)]),
    steps=st.lists(
        st.tuples(
            # one form of the host, or two (an SNI and a Host header that differ)
            st.one_of(st.sampled_from(HOSTS).map(lambda h: (h,)),
                      st.tuples(st.sampled_from(HOSTS), st.sampled_from(HOSTS))),
            st.sampled_from(PATHS),  # (shrinks towards the first host, path and stage)
            st.sampled_from([None, "request", "connect", "handshake", "tunnel"]),
            st.integers(0, 240),  # seconds from the base, in order
            st.sampled_from([None, 10, 59, 60, 90]),  # games minutes used today
            st.sampled_from([None, "always", 5, 30, 300]),  # tiktok approved: until now + s
        ),
        min_size=1,
        max_size=60,
    ),
)  # fmt: skip
def test_remembered_decisions_equal_fresh_ones(
    home: Household, base: datetime, steps: list
) -> None:
    home.memo._entries.clear()
    approvals: dict[object, dict[str, datetime | None]] = {}
    for hosts, path, stage, second, games, approval in sorted(steps, key=lambda s: s[3]):
        now = base + timedelta(seconds=second)
        # As proxy.addons.shared builds it: the minutes afresh at each call, the approvals
        # object the poller last swapped in (or a new empty one), one object per approval.
        minutes = {"games": games} if games is not None else {}
        if approval is None:
            usage = Usage(approvals={}, minutes_today=minutes)
        else:
            until = None if approval == "always" else base + timedelta(seconds=approval)
            in_force = approvals.setdefault((approval, until), {"tiktok.com": until})
            usage = Usage(approvals=in_force, minutes_today=minutes)
        facts = Facts(hosts, path, stage=stage)
        assert memo(home, facts, now, usage) == fresh(home, facts, now, usage), (hosts, path, now)


MIXED = ["mixed.example", "www.mixed.example", "wikipedia.org"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(MIXED).map(lambda h: (h,)),
                      st.tuples(st.sampled_from(MIXED), st.sampled_from(MIXED))),
            st.sampled_from([None, "/", "/adult/x", "/adult/y?z=1", "/news", ASK_PATH]),
            st.sampled_from([None, "request", "connect"]),
        ),
        min_size=2,
        max_size=20,
    )
)  # fmt: skip
def test_a_path_under_a_url_entry_is_never_answered_for_another(
    home: Household, steps: list
) -> None:
    """Where only the path decides (a URL entry under any form of the host), the memo must
    tell paths apart; everywhere else it may answer any path alike."""
    home.memo._entries.clear()
    now = MONDAY.replace(hour=12)
    for hosts, path, stage in steps:
        facts = Facts(hosts, path, stage=stage)
        assert memo(home, facts, now) == fresh(home, facts, now), (hosts, path, stage)


def test_no_approvals_is_one_state_whatever_object_says_so(home: Household) -> None:
    facts, now = Facts(("wikipedia.org",), "/"), MONDAY.replace(hour=12)
    first = memo(home, facts, now, Usage(approvals={}, minutes_today={"games": 5}))
    again = memo(home, facts, now, Usage(approvals={}, minutes_today={"games": 6}))
    assert again is first
    approved = Usage(approvals={"wikipedia.org": None}, minutes_today={"games": 6})
    assert memo(home, facts, now, approved).rule == "approval"


def test_what_must_not_stay_in_memory_is_never_kept(home: Household) -> None:
    now = MONDAY.replace(hour=12)
    home.memo._entries.clear()
    memo(home, Facts(("x" * 1_000_000,), "/"), now)  # refused: not a host name
    memo(home, Facts(("www.google.com",), "/search?q=x", search="x"), now)
    memo(home, Facts(("wikipedia.org",), "/" + "a" * 3000), now)
    assert home.memo._entries == {}
    memo(home, Facts(("wikipedia.org",), "/a"), now)
    assert len(home.memo._entries) == 1
