from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from vaccine.proxy.store import LogWriter, Record

# No timer-driven writes in these tests: `flush()` is the only synchronisation.
SLOW = 3600.0


def rec(i: int = 0, *, site: str = "", action: str = "allowed", minute: int = 0) -> Record:
    return Record(
        f"2026-03-08 20:{minute:02d}",
        ("emma", "leo", "zoe")[i % 3],
        site or f"site{i % 50}.example",
        ("video", "games", "", "search")[i % 4],
        action,
        "default",
        ("social_networks",) if i % 5 == 0 else (),
    )


def totals(path: Path) -> dict[str, int]:
    with Database(path) as db:
        q = "SELECT coalesce(sum(count), 0) FROM {}"
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        return {
            "decisions": db.execute(q.format("decisions")).fetchone()[0],
            "daily": db.execute(q.format("daily_totals")).fetchone()[0],
            "dropped": int(meta["dropped_records"]),
        }


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., LogWriter]]:
    writers: list[LogWriter] = []

    def make(path: Path | None = None, **kw: object) -> LogWriter:
        kw.setdefault("flush_interval", SLOW)
        kw.setdefault("busy_timeout", 0.05)
        w = LogWriter(path or tmp_path / "log.db", **kw)  # type: ignore[arg-type]
        writers.append(w)
        return w

    yield make
    for w in writers:
        w.close(timeout=2)


@pytest.fixture
def lock(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """Another program holding the database with BEGIN EXCLUSIVE; call the result to let go."""
    conns: list[sqlite3.Connection] = []

    def take(path: Path = tmp_path / "log.db") -> Callable[[], None]:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        conns.append(conn)

        def release() -> None:
            conn.execute("ROLLBACK")
            conn.close()
            conns.remove(conn)

        return release

    yield take  # type: ignore[misc]
    for conn in conns:
        conn.close()


def test_close_writes_every_record_submitted(make, tmp_path: Path) -> None:
    w = make(flush_interval=0.01)
    w.start()
    n = 20_000
    for i in range(n):
        w.submit(rec(i, minute=i % 60))
    w.close()
    s = w.stats()
    assert (s.written, s.dropped, s.pending, s.held, s.problem) == (n, 0, 0, 0, None)
    assert totals(tmp_path / "log.db") == {"decisions": n, "daily": n, "dropped": 0}


def test_close_without_start_still_writes(make, tmp_path: Path) -> None:
    w = make()
    for i in range(10):
        w.submit(rec(i))
    w.close()
    assert totals(tmp_path / "log.db")["decisions"] == 10


def test_active_minutes_count_once_per_minute_and_never_for_blocked(make, tmp_path: Path) -> None:
    today = {"now": datetime(2026, 3, 8, 21, 0)}
    w = make(clock=lambda: today["now"])
    w.start()
    assert w.flush() and w.minutes_today("emma") == {}
    for _ in range(3):
        w.submit(Record("2026-03-08 20:00", "emma", "youtube.com", "video", "allowed", "default",
                        ("social_networks",)))  # fmt: skip
    w.submit(Record("2026-03-08 20:00", "emma", "roblox.com", "games", "passed-through", "default"))
    w.submit(Record("2026-03-08 20:01", "emma", "youtube.com", "video", "allowed", "default",
                    counted=0))  # fmt: skip
    w.submit(Record("2026-03-08 20:02", "emma", "bet365.com", "gambling", "blocked", "limits"))
    assert w.flush()
    with Database(tmp_path / "log.db") as db:
        minutes = db.execute(
            "SELECT kind, name, minutes FROM daily_activity ORDER BY kind, name"
        ).fetchall()
        counts = db.execute("SELECT site, sum(count) FROM decisions GROUP BY site").fetchall()
    assert minutes == [
        ("category", "games", 1),
        ("category", "social_networks", 1),
        ("category", "video", 2),
        ("online", "", 2),
        ("site", "roblox.com", 1),
        ("site", "youtube.com", 2),
    ]
    assert sorted(counts) == [("bet365.com", 1), ("roblox.com", 1), ("youtube.com", 3)]
    # what daily limits are checked against, without any I/O on the caller's side
    assert w.minutes_today("emma") == {"video": 2, "social_networks": 1, "games": 1}
    assert w.minutes_today("leo") == {}
    today["now"] = datetime(2026, 3, 9, 0, 0, 1)
    assert w.minutes_today("emma") == {}  # a new day, before the writer has looked again


def test_dns_lookups_are_counted_but_never_time_online(make, tmp_path: Path) -> None:
    """A lookup is not time spent: it is in the decisions, never in the active minutes."""
    today = {"now": datetime(2026, 3, 8, 21, 0)}
    w = make(clock=lambda: today["now"])
    w.start()
    for rule, action in (("dns.default", "allowed"), ("dns.safe_search", "rewritten")):
        w.submit(Record("2026-03-08 20:00", "emma", "youtube.com", "video", action, rule))
    w.submit(Record("2026-03-08 20:05", "emma", "youtube.com", "video", "allowed", "default"))
    assert w.flush()
    with Database(tmp_path / "log.db") as db:
        minutes = db.execute("SELECT kind, name, minutes FROM daily_activity").fetchall()
        rules = db.execute("SELECT rule, sum(count) FROM decisions GROUP BY rule").fetchall()
    assert sorted(minutes) == [
        ("category", "video", 1),
        ("online", "", 1),
        ("site", "youtube.com", 1),
    ]
    assert sorted(rules) == [("default", 1), ("dns.default", 1), ("dns.safe_search", 1)]
    assert w.minutes_today("emma") == {"video": 1}


def test_a_locked_database_never_blocks_submit(make, lock, tmp_path: Path, caplog) -> None:
    w = make()
    w.start()
    w.submit(rec(0))
    assert w.flush()
    release = lock()
    longest = 0.0
    for i in range(2_000):
        t = time.perf_counter()
        w.submit(rec(i))
        longest = max(longest, time.perf_counter() - t)
        if i in (500, 1500):
            assert not w.flush()  # a write was tried, and the lock refused it
    assert longest < 0.02  # a dict append, not a wait on the database's 50 ms busy timeout
    s = w.stats()
    assert s.problem == "locked" and s.held == 1501 and s.dropped == 0
    reported = [r for r in caplog.records if "locked" in r.getMessage()]
    assert len(reported) == 1  # once per kind of failure, not per row or per attempt
    release()
    assert w.flush()
    w.close()
    assert w.stats().problem is None
    assert totals(tmp_path / "log.db")["decisions"] == 2_001
    assert any("writing again" in r.getMessage() for r in caplog.records)


def test_a_corrupt_file_is_reported_once_and_replaced_when_moved_aside(
    make, tmp_path: Path, caplog
) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"\x00garbage, not a database\xff" * 500)
    w = make(path)
    w.start()
    for i in range(100):
        w.submit(rec(i))
    assert not w.flush()
    for i in range(100):
        w.submit(rec(i))
    assert not w.flush()
    s = w.stats()
    assert (s.problem, s.held, s.written) == ("corrupt", 200, 0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "corrupt" in errors[0].getMessage()
    assert "site" not in errors[0].getMessage()  # no record content in the report

    path.rename(tmp_path / "log.db.corrupt")  # what the message tells a parent to do
    assert w.flush()
    w.close()
    assert totals(path) == {"decisions": 200, "daily": 200, "dropped": 0}


def test_close_does_not_wait_on_a_file_that_will_not_mend(make, tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"\xff" * 8192)
    w = make(path)
    w.start()
    for i in range(10):
        w.submit(rec(i))
    t = time.monotonic()
    w.close(timeout=30)
    assert time.monotonic() - t < 5  # one last try, not thirty seconds of them
    assert (w.stats().written, w.stats().dropped, w.stats().problem) == (0, 10, "corrupt")


def test_full_or_read_only_databases_keep_rows_until_they_can_be_written(
    make, tmp_path: Path
) -> None:
    state = {"trouble": "full"}

    def on_connect(db: Database) -> None:
        if state["trouble"] == "full":
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
        elif state["trouble"] == "readonly":
            db.execute("PRAGMA query_only = 1")

    w = make(on_connect=on_connect)
    w.start()
    for i in range(500):
        w.submit(rec(i, minute=i % 60))
    assert not w.flush()
    assert w.stats().problem == "full"
    state["trouble"] = "readonly"
    assert not w.flush()
    assert w.stats().problem == "readonly"
    state["trouble"] = ""
    assert w.flush()
    w.close()
    assert totals(tmp_path / "log.db")["decisions"] == 500


def test_past_the_bound_records_are_dropped_and_counted(make, tmp_path: Path, caplog) -> None:
    w = make(max_pending=10)
    for i in range(25):  # not started: nothing drains the queue
        w.submit(rec(i))
    assert (w.stats().pending, w.stats().dropped) == (10, 15)
    w.close()
    assert (w.stats().written, w.stats().dropped) == (10, 15)
    assert totals(tmp_path / "log.db") == {"decisions": 10, "daily": 10, "dropped": 15}
    assert sum("dropped" in r.getMessage() for r in caplog.records) == 1


def test_rows_held_in_memory_are_bounded_too(make, lock, tmp_path: Path) -> None:
    w = make(max_pending=10)
    w.start()
    assert w.flush()
    release = lock()
    for i in range(8):
        w.submit(rec(i, site=f"a{i}.example"))
    assert not w.flush()
    for i in range(8):
        w.submit(rec(i, site=f"a{i}.example"))  # same rows: merged, nothing more held
    for i in range(8):
        w.submit(rec(i, site=f"b{i}.example"))  # new rows: 2 fit, 6 are dropped
    assert not w.flush()
    assert (w.stats().held, w.stats().dropped) == (18, 6)
    release()
    w.close()
    assert (w.stats().written, w.stats().dropped) == (18, 6)
    assert totals(tmp_path / "log.db") == {"decisions": 18, "daily": 18, "dropped": 6}


def test_close_gives_up_at_its_timeout_and_counts_what_is_lost(make, lock, caplog) -> None:
    w = make()
    w.start()
    assert w.flush()
    lock()  # never released while the writer lives
    for i in range(30):
        w.submit(rec(i))
    t = time.monotonic()
    w.close(timeout=0.3)
    assert time.monotonic() - t < 2.0
    assert (w.stats().written, w.stats().dropped) == (0, 30)
    assert any("30 records could not be written" in r.getMessage() for r in caplog.records)


def test_submit_after_close_or_of_a_non_record_is_counted(make) -> None:
    w = make()
    w.start()
    w.submit("emma visited example.com/secret")  # type: ignore[arg-type]
    w.close()
    w.submit(rec(1))
    assert w.stats().dropped == 2
    assert not w.flush()
