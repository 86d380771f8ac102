from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from vaccine.proxy.store import LogMissing, LogNeedsUpgrade, NotADecisionLog, open_readonly
from vaccine.proxy.store.readonly import MIGRATION_NAMES
from vaccine.proxy.store.schema import APPLICATION, connect, migration_names, migrations

TABLES = {
    "decisions",
    "activity",
    "daily_totals",
    "daily_activity",
    "access_requests",
    "meta",
    "_sqlite_migrations",
}


def applied(path: Path) -> list[str]:
    with Database(path) as db:
        return [m.name for m in migrations.applied(db)]


@pytest.mark.parametrize("start", ["missing", "empty file", "missing folder"])
def test_migrates_from_nothing(tmp_path: Path, start: str) -> None:
    path = tmp_path / "log.db"
    if start == "empty file":
        path.touch()
    elif start == "missing folder":
        path = tmp_path / "var" / "sub" / "log.db"
    db = connect(path)
    try:
        assert set(db.table_names()) == TABLES
        assert db.journal_mode == "wal"
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        assert meta["application"] == APPLICATION and meta["dropped_records"] == "0"
    finally:
        db.close()
    assert applied(path) == migration_names()
    connect(path).close()  # again: nothing left to apply, nothing applied twice
    assert applied(path) == migration_names()


def test_migrates_from_the_previous_schema_keeping_and_backfilling_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    with Database(path) as db:
        migrations.apply(db, stop_before=migration_names()[-1])
        db.conn.executemany(
            "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                ("2026-03-07 20:00", "emma", "youtube.com", "video", "allowed", "default", 3),
                ("2026-03-07 20:01", "emma", "youtube.com", "video", "allowed", "default", 4),
                ("2026-03-08 09:00", "emma", "youtube.com", "video", "allowed", "default", 1),
            ],
        )
        db.conn.executemany(
            "INSERT INTO activity VALUES (?, ?, ?, ?)",
            [
                ("2026-03-07 20:00", "emma", "online", ""),
                ("2026-03-07 20:01", "emma", "online", ""),
                ("2026-03-08 09:00", "emma", "online", ""),
            ],
        )
        db.conn.commit()
    with pytest.raises(LogNeedsUpgrade, match="start `vaccine run` once"):
        open_readonly(path)

    db = connect(path)
    try:
        totals = db.execute("SELECT day, count FROM daily_totals ORDER BY day").fetchall()
        minutes = db.execute("SELECT day, minutes FROM daily_activity ORDER BY day").fetchall()
        assert totals == [("2026-03-07", 7), ("2026-03-08", 1)]
        assert minutes == [("2026-03-07", 2), ("2026-03-08", 1)]
        # and from now on the triggers keep them in step
        db.execute(
            "INSERT INTO decisions VALUES ('2026-03-08 09:00', 'emma', 'youtube.com', 'video', "
            "'allowed', 'default', 5) ON CONFLICT DO UPDATE SET count = count + excluded.count"
        )
        for minute in ("09:00", "09:01"):  # 09:00 is already there: not a new minute
            db.execute(
                "INSERT OR IGNORE INTO activity VALUES (?, 'emma', 'online', '')",
                [f"2026-03-08 {minute}"],
            )
        day = "WHERE day = '2026-03-08'"
        assert db.execute(f"SELECT count FROM daily_totals {day}").fetchone() == (6,)
        assert db.execute(f"SELECT minutes FROM daily_activity {day}").fetchone() == (2,)
    finally:
        db.close()
    assert applied(path) == migration_names()


def test_readers_know_every_migration_without_importing_sqlite_utils() -> None:
    assert migration_names() == list(MIGRATION_NAMES)
    code = (
        "import sys, proxy.cli.report, proxy.store.queries, proxy.store.summary; "
        "sys.exit('sqlite_utils' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_readers_open_read_only(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    connect(path).close()
    db = open_readonly(path)
    try:
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("DELETE FROM meta")
    finally:
        db.close()


def test_readers_refuse_what_is_not_a_decision_log(tmp_path: Path) -> None:
    with pytest.raises(LogMissing, match="no decision log at"):
        open_readonly(tmp_path / "nothing.db")

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all\x00\xff" * 200)
    with pytest.raises(NotADecisionLog, match="corrupt"):
        open_readonly(garbage)

    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(NotADecisionLog, match="none of its tables"):
        open_readonly(empty)


def test_the_writer_refuses_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "photos.db"
    with Database(path) as other:
        other["photos"].insert({"name": "beach.jpg"})
    with pytest.raises(NotADecisionLog, match="not a decision log"):
        connect(path)
    with Database(path) as other:
        assert other.table_names() == ["photos"]
