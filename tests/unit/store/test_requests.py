"""proxy.store.requests: the ask-a-parent queue in the decision log."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from vaccine.proxy.store import LogMissing, LogNeedsUpgrade, NotADecisionLog, StoreError
from vaccine.proxy.store.requests import (
    ALWAYS_BRIDGE,
    AlreadyAnswered,
    RequestNotFound,
    add_request,
    answer,
    approvals_in_force,
    get_request,
    list_requests,
    stamp,
)
from vaccine.proxy.store.schema import connect

NOW = datetime(2026, 3, 8, 19, 0, 0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A decision log as the proxy's writer leaves it: created and migrated."""
    path = tmp_path / "log.db"
    connect(path).close()
    return path


def add(db: Path, domain: str, profile: str = "emma", at: datetime = NOW, **kw: int) -> str:
    return add_request(db, profile, domain, "games", "", at, **kw).outcome


def rows(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT profile, domain, category, message, created, status FROM access_requests"
        ).fetchall()
    finally:
        conn.close()


def test_a_request_is_recorded_with_only_what_the_contract_allows(db: Path) -> None:
    result = add_request(db, "emma", "roblox.com", "games", "for school", NOW)
    assert result.outcome == "created" and result.request_id == 1
    assert rows(db) == [("emma", "roblox.com", "games", "for school", "2026-03-08T19:00:00",
                         "pending")]  # fmt: skip


def test_a_second_request_for_the_same_site_is_a_duplicate(db: Path) -> None:
    first = add_request(db, "emma", "roblox.com", "games", "", NOW)
    again = add_request(db, "emma", "roblox.com", "games", "please", NOW + timedelta(minutes=1))
    assert (again.outcome, again.request_id) == ("duplicate", first.request_id)
    assert add(db, "roblox.com", profile="leo") == "created"  # another child may ask too
    assert len(rows(db)) == 2


def test_asking_again_after_an_answer_is_a_new_request(db: Path) -> None:
    add(db, "roblox.com")
    answer(db, 1, approve=False, until=None, now=NOW)
    assert add(db, "roblox.com", at=NOW + timedelta(minutes=5)) == "created"


@pytest.mark.parametrize(
    ("per_hour", "max_pending", "asks", "expected"),
    [
        (5, 20, 5, ["created"] * 5),
        (5, 20, 6, ["created"] * 5 + ["rate_limited"]),
        (2, 20, 3, ["created", "created", "rate_limited"]),
        (5, 3, 4, ["created"] * 3 + ["rate_limited"]),
    ],
)
def test_rate_limit_per_profile(
    db: Path, per_hour: int, max_pending: int, asks: int, expected: list[str]
) -> None:
    got = [
        add(db, f"site{i}.com", at=NOW + timedelta(minutes=i), per_hour=per_hour,
            max_pending=max_pending)
        for i in range(asks)
    ]  # fmt: skip
    assert got == expected
    assert add(db, "other.com", profile="leo", per_hour=per_hour) == "created"


def test_the_hourly_limit_slides_but_the_pending_limit_waits_for_answers(db: Path) -> None:
    for i in range(3):
        assert add(db, f"site{i}.com", per_hour=3, max_pending=4) == "created"
    assert add(db, "late.com", at=NOW + timedelta(minutes=59), per_hour=3) == "rate_limited"
    later = NOW + timedelta(hours=1, seconds=1)
    assert add(db, "late.com", at=later, per_hour=3, max_pending=4) == "created"
    assert add(db, "later.com", at=later + timedelta(hours=2), max_pending=4) == "rate_limited"
    answer(db, 1, approve=False, until=None, now=later)
    assert add(db, "later.com", at=later + timedelta(hours=2), max_pending=4) == "created"


def test_concurrent_taps_record_one_request(db: Path) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def tap() -> None:
        barrier.wait()
        outcomes.append(add(db, "roblox.com"))

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 7


@pytest.mark.parametrize(
    ("profile", "domain", "message"),
    [("", "a.com", ""), ("emma", "", ""), ("emma", "a.com", "x" * 201)],
)
def test_bad_fields_are_refused(db: Path, profile: str, domain: str, message: str) -> None:
    with pytest.raises(ValueError):
        add_request(db, profile, domain, "", message, NOW)
    assert rows(db) == []


def test_list_and_get(db: Path) -> None:
    add(db, "b.com", at=NOW + timedelta(minutes=1))
    add(db, "a.com")
    add(db, "c.com", profile="leo")
    answer(db, 2, approve=True, until=NOW + timedelta(hours=1), now=NOW)
    assert [r.domain for r in list_requests(db)] == ["c.com", "b.com"]
    assert [r.domain for r in list_requests(db, None)] == ["a.com", "c.com", "b.com"]
    assert [r.domain for r in list_requests(db, "approved")] == ["a.com"]
    assert [r.domain for r in list_requests(db, None, profile="leo")] == ["c.com"]
    got = get_request(db, 2)
    assert (got.status, got.answered_at, got.approved_until) == (
        "approved", "2026-03-08T19:00:00", "2026-03-08T20:00:00")  # fmt: skip
    with pytest.raises(RequestNotFound, match="#9"):
        get_request(db, 9)


@pytest.mark.parametrize(
    ("approve", "until", "status", "approved_until"),
    [
        (True, NOW + timedelta(minutes=15), "approved", "2026-03-08T19:15:00"),
        (True, None, "approved", None),
        (False, NOW + timedelta(minutes=15), "denied", None),  # a denial has no end
    ],
)
def test_answer(
    db: Path, approve: bool, until: datetime | None, status: str, approved_until: str | None
) -> None:
    add(db, "roblox.com")
    row = answer(db, 1, approve=approve, until=until, now=NOW)
    assert (row.status, row.answered_at, row.approved_until) == (
        status, "2026-03-08T19:00:00", approved_until)  # fmt: skip


def test_answering_twice_or_a_missing_request_is_a_clean_error(db: Path) -> None:
    add(db, "roblox.com")
    answer(db, 1, approve=False, until=None, now=NOW)
    with pytest.raises(AlreadyAnswered, match="already denied"):
        answer(db, 1, approve=True, until=None, now=NOW)
    assert get_request(db, 1).status == "denied"
    with pytest.raises(RequestNotFound):
        answer(db, 7, approve=True, until=None, now=NOW)


def test_approvals_in_force_expire(db: Path) -> None:
    for domain in ("quarter.com", "hour.com", "always.com", "denied.com", "waiting.com"):
        add(db, domain)
    add(db, "hour.com", profile="leo")
    answer(db, 1, approve=True, until=NOW + timedelta(minutes=15), now=NOW)
    answer(db, 2, approve=True, until=NOW + timedelta(hours=1), now=NOW)
    answer(db, 3, approve=True, until=None, now=NOW)
    answer(db, 4, approve=False, until=None, now=NOW)
    answer(db, 6, approve=True, until=NOW + timedelta(minutes=30), now=NOW)
    quarter, hour = NOW + timedelta(minutes=15), NOW + timedelta(hours=1)
    assert approvals_in_force(db, NOW) == {
        "emma": {"quarter.com": quarter, "hour.com": hour, "always.com": None},
        "leo": {"hour.com": NOW + timedelta(minutes=30)},
    }
    assert approvals_in_force(db, quarter) == {
        "emma": {"hour.com": hour},  # past the bridge: "always" is in the YAML file by now
        "leo": {"hour.com": NOW + timedelta(minutes=30)},
    }
    assert approvals_in_force(db, hour) == {}


def test_an_always_row_bridges_only_until_the_file_is_reloaded(db: Path) -> None:
    add(db, "always.com")
    answer(db, 1, approve=True, until=None, now=NOW)
    before = NOW + ALWAYS_BRIDGE - timedelta(seconds=1)
    assert approvals_in_force(db, before) == {"emma": {"always.com": None}}
    assert approvals_in_force(db, NOW + ALWAYS_BRIDGE) == {}


@pytest.mark.parametrize(
    ("untils", "expected"),
    [
        ([timedelta(minutes=15), timedelta(hours=1)], NOW + timedelta(hours=1)),
        ([timedelta(hours=1), timedelta(minutes=15)], NOW + timedelta(hours=1)),
        ([timedelta(minutes=15), None], None),
        ([None, timedelta(minutes=15)], None),
    ],
)
def test_two_approvals_for_one_site_the_longer_holds(
    db: Path, untils: list[timedelta | None], expected: datetime | None
) -> None:
    for i, delta in enumerate(untils, start=1):
        add(db, "roblox.com")
        answer(db, i, approve=True, until=None if delta is None else NOW + delta, now=NOW)
    assert approvals_in_force(db, NOW) == {"emma": {"roblox.com": expected}}


def test_approvals_in_force_reads_only_and_uses_the_status_index(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT profile, domain, approved_until FROM access_requests "
            "WHERE status = 'approved' "
            "AND (approved_until > ? OR (approved_until IS NULL AND answered_at > ?))",
            ["x", "y"],
        ).fetchall()
    finally:
        conn.close()
    assert "access_requests_status" in " ".join(str(r) for r in plan)
    db.chmod(0o444)
    try:
        assert approvals_in_force(db, NOW) == {}
    finally:
        db.chmod(0o644)


def test_times_with_a_zone_are_written_as_local_wall_clock() -> None:
    aware = datetime(2026, 3, 8, 19, 0).astimezone()
    assert stamp(aware) == "2026-03-08T19:00:00"


def test_a_missing_foreign_or_old_file_is_a_store_error(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    with pytest.raises(LogMissing):
        add_request(missing, "emma", "a.com", "", "", NOW)
    assert not missing.exists()  # never created here: only the writer creates the log
    with pytest.raises(LogMissing):
        approvals_in_force(missing, NOW)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(NotADecisionLog):
        add_request(junk, "emma", "a.com", "", "", NOW)
    empty = tmp_path / "other.db"
    conn = sqlite3.connect(empty)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NotADecisionLog):
        answer(empty, 1, approve=False, until=None, now=NOW)
    old = tmp_path / "old.db"
    connect(old).close()
    conn = sqlite3.connect(old)
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_daily_totals'")
    conn.commit()
    conn.close()
    with pytest.raises(LogNeedsUpgrade):
        add_request(old, "emma", "a.com", "", "", NOW)
    assert issubclass(RequestNotFound, StoreError) and issubclass(AlreadyAnswered, StoreError)


def test_a_locked_database_gives_up_after_the_busy_timeout(db: Path) -> None:
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            add_request(db, "emma", "a.com", "", "", NOW, busy_timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert add(db, "a.com") == "created"
