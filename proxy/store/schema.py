"""The decision log's schema, as named migrations, and how its connections are opened.

Only the writer (the proxy's `LogWriter`) applies migrations; every reader opens the file
read-only (`readonly.open_readonly`) and refuses one that is not up to date, so a report never
half-upgrades a file the proxy is writing.

Tables (times are local wall-clock, `YYYY-MM-DD HH:MM`; days `YYYY-MM-DD`):

- `decisions`: one row per minute, profile, site, category, action and rule, with a count.
- `activity`: one row per minute a profile was active: kind `online` (name ""), kind
  `category` (name = a category, "" when uncategorised) and kind `site` (name = a site).
- `daily_totals`, `daily_activity`: the same per day, kept up to date by triggers so that
  reports over weeks read a few thousand rows instead of every minute.
- `access_requests`: the ask-a-parent queue.
- `meta`: what this file is and what happened to it (records dropped, last retention run).

Every table is keyed by time first: reports read a range of days, retention deletes the oldest,
and the writer appends near the end. No secondary indexes: each would cost every insert a
second wide B-tree write (measured: 2.5x slower) to speed up a per-profile filter over a few
thousand rows.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database, Migrations

from vaccine.proxy.store.errors import NotADecisionLog
from vaccine.proxy.store.readonly import MIGRATION_SET
from vaccine.proxy.util.files import private_file

APPLICATION = "digital-vaccine decision log"

migrations = Migrations(MIGRATION_SET)


@migrations(name="m001_decision_log")
def m001_decision_log(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE decisions (
            minute TEXT NOT NULL,
            profile TEXT NOT NULL,
            site TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL
                CHECK (action IN ('allowed', 'blocked', 'rewritten', 'passed-through')),
            rule TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (minute, profile, site, category, action, rule)
        ) WITHOUT ROWID, STRICT;

        CREATE TABLE activity (
            minute TEXT NOT NULL,
            profile TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('online', 'category', 'site')),
            name TEXT NOT NULL,
            PRIMARY KEY (minute, profile, kind, name)
        ) WITHOUT ROWID, STRICT;
        """
    )


@migrations(name="m002_access_requests")
def m002_access_requests(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE access_requests (
            id INTEGER PRIMARY KEY,
            profile TEXT NOT NULL,
            domain TEXT NOT NULL,
            category TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 200),
            created TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'denied')),
            answered_at TEXT,
            approved_until TEXT
        ) STRICT;
        CREATE INDEX access_requests_status ON access_requests (status, profile);
        CREATE INDEX access_requests_domain ON access_requests (profile, domain);
        """
    )


@migrations(name="m003_meta")
def m003_meta(db: Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT")
    db.execute(
        "INSERT INTO meta VALUES ('application', ?), ('created', ?), ('dropped_records', '0')",
        [APPLICATION, datetime.now(UTC).isoformat(timespec="seconds")],
    )


@migrations(name="m004_daily_totals")
def m004_daily_totals(db: Database) -> None:
    """Per-day tables, maintained by triggers, backfilled from the minutes already there."""
    db.executescript(
        """
        CREATE TABLE daily_totals (
            day TEXT NOT NULL,
            profile TEXT NOT NULL,
            site TEXT NOT NULL,
            category TEXT NOT NULL,
            action TEXT NOT NULL,
            rule TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (day, profile, site, category, action, rule)
        ) WITHOUT ROWID, STRICT;

        CREATE TABLE daily_activity (
            day TEXT NOT NULL,
            profile TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            minutes INTEGER NOT NULL,
            PRIMARY KEY (day, profile, kind, name)
        ) WITHOUT ROWID, STRICT;

        INSERT INTO daily_totals
            SELECT substr(minute, 1, 10), profile, site, category, action, rule, sum(count)
            FROM decisions GROUP BY 1, 2, 3, 4, 5, 6;
        INSERT INTO daily_activity
            SELECT substr(minute, 1, 10), profile, kind, name, count(*)
            FROM activity GROUP BY 1, 2, 3, 4;

        -- Retention deletes minutes and days separately: no DELETE triggers on purpose.
        CREATE TRIGGER decisions_to_daily AFTER INSERT ON decisions BEGIN
            INSERT INTO daily_totals
            VALUES (substr(NEW.minute, 1, 10), NEW.profile, NEW.site, NEW.category,
                    NEW.action, NEW.rule, NEW.count)
            ON CONFLICT DO UPDATE SET count = count + excluded.count;
        END;
        CREATE TRIGGER decisions_count_to_daily AFTER UPDATE OF count ON decisions BEGIN
            UPDATE daily_totals SET count = count + NEW.count - OLD.count
            WHERE day = substr(NEW.minute, 1, 10) AND profile = NEW.profile
              AND site = NEW.site AND category = NEW.category
              AND action = NEW.action AND rule = NEW.rule;
        END;
        -- The writer inserts activity with OR IGNORE: only a minute not yet seen fires this.
        CREATE TRIGGER activity_to_daily AFTER INSERT ON activity BEGIN
            INSERT INTO daily_activity
            VALUES (substr(NEW.minute, 1, 10), NEW.profile, NEW.kind, NEW.name, 1)
            ON CONFLICT DO UPDATE SET minutes = minutes + 1;
        END;
        """
    )


def migration_names() -> list[str]:
    return [m.name for m in migrations._migrations]


def connect(path: Path, *, busy_timeout: float = 1.0) -> Database:
    """A read-write connection for the writer thread: WAL, migrated, owned by that thread.

    The log holds each child's sites minute by minute: it (and so its WAL and SHM) is made
    readable by its owner only before SQLite creates it."""
    private_file(path)
    conn = sqlite3.connect(path, timeout=busy_timeout)
    try:
        db = Database(conn, execute_plugins=False)
        _refuse_foreign(db, path)
        db.enable_wal()
        # WAL + NORMAL: a commit never waits for fsync; a power cut may lose the last second
        # of the log, never corrupt it. Right for a log, wrong for a bank.
        db.execute("PRAGMA synchronous=NORMAL")
        migrations.apply(db)
    except BaseException:
        conn.close()
        raise
    return db


def _refuse_foreign(db: Database, path: Path) -> None:
    tables = set(db.table_names())
    if tables and "decisions" not in tables and migrations.migrations_table not in tables:
        raise NotADecisionLog(f"{path} is an SQLite file but not a decision log")
