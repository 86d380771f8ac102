from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from vaccine.proxy.store import LogWriter, Record
from vaccine.proxy.store.retention import cutoff, purge
from vaccine.proxy.store.schema import connect

NOW = datetime(2026, 3, 31, 12, 0)


def seed(path: Path, days: int) -> None:
    """One allowed decision at noon on each of the `days` days up to NOW."""
    with LogWriter(path, flush_interval=3600) as w:
        for d in range(days):
            day = NOW.date() - timedelta(days=d)
            w.submit(Record(f"{day} 12:00", "emma", "youtube.com", "video", "allowed", "default"))
    with Database(path) as db:
        db.conn.executemany(
            "INSERT INTO access_requests (profile, domain, created, status, approved_until) "
            "VALUES ('emma', ?, ?, ?, ?)",
            [
                ("old-denied.example", "2026-01-01T10:00:00", "denied", None),
                ("old-expired.example", "2026-01-01T10:00:00", "approved", "2026-01-02T10:00:00"),
                ("old-in-force.example", "2026-01-01T10:00:00", "approved", "2026-04-30T10:00:00"),
                ("old-pending.example", "2026-01-01T10:00:00", "pending", None),
                ("recent.example", "2026-03-30T10:00:00", "denied", None),
            ],
        )
        db.conn.commit()


def days_left(path: Path) -> dict[str, str | None]:
    with Database(path) as db:
        return {
            t: db.execute(f"SELECT min({c}) FROM {t}").fetchone()[0]
            for t, c in [
                ("decisions", "minute"),
                ("activity", "minute"),
                ("daily_totals", "day"),
                ("daily_activity", "day"),
            ]
        }


def test_cutoff_keeps_today_and_the_retention_days_before() -> None:
    assert cutoff(date(2026, 3, 31), 30) == date(2026, 3, 1)
    assert cutoff(date(2026, 3, 31), 0) == date(2026, 3, 31)


def test_purge_deletes_old_rows_in_every_table_in_short_steps(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    seed(path, 45)
    db = connect(path)
    try:
        calls = 1
        while not purge(db.conn, NOW, 30, max_days=7):
            calls += 1
        assert calls == 2  # 14 days too old: two steps of 7 days
        left = db.execute("SELECT domain FROM access_requests ORDER BY domain").fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert set(days_left(path).values()) <= {"2026-03-01", "2026-03-01 12:00"}
    assert left == [("old-in-force.example",), ("recent.example",)]
    assert meta["last_retention"] == "2026-03-31T12:00:00"


def test_purge_on_an_empty_log_is_done_at_once(tmp_path: Path) -> None:
    db = connect(tmp_path / "log.db")
    try:
        assert purge(db.conn, NOW, 30)
    finally:
        db.close()


@pytest.mark.parametrize(("retention", "oldest"), [(None, "2026-02-20"), (7, "2026-03-24")])
def test_the_writer_purges_in_the_background(
    tmp_path: Path, retention: int | None, oldest: str
) -> None:
    path = tmp_path / "log.db"
    seed(path, 40)
    w = LogWriter(path, flush_interval=3600, retention_days=retention, clock=lambda: NOW)
    w.start()
    try:
        assert w.flush() and w.flush()  # the second turn starts after the first's purge
    finally:
        w.close()
    assert days_left(path)["daily_totals"] == oldest
