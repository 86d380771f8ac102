"""Retention: the log forgets what is older than `retention_days` (PRODUCT.md, privacy).

Today and the `retention_days` days before it are kept, in every table: per-minute rows, the
per-day totals and answered access requests. An approval still in force is kept whatever its
age: deleting it would take back what a parent granted.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

_OLDEST = """
    SELECT min(m) FROM (
        SELECT min(minute) AS m FROM decisions UNION ALL SELECT min(minute) FROM activity
    )
"""


def cutoff(today: date, retention_days: int) -> date:
    """The first day kept."""
    return today - timedelta(days=max(0, retention_days))


def purge(
    conn: sqlite3.Connection, now: datetime, retention_days: int, *, max_days: int = 7
) -> bool:
    """Delete what is older than the retention period; True when nothing old is left.

    At most `max_days` days of per-minute rows go per call, each call one short transaction,
    so a first purge of a large file never holds the write lock (or the writer) for long.
    """
    first_kept = cutoff(now.date(), retention_days)
    oldest = conn.execute(_OLDEST).fetchone()[0]
    upto = first_kept
    if oldest is not None:
        upto = min(first_kept, date.fromisoformat(oldest[:10]) + timedelta(days=max_days))
    before_minute = f"{upto.isoformat()} 00:00"
    before_day = first_kept.isoformat()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DELETE FROM decisions WHERE minute < ?", (before_minute,))
        conn.execute("DELETE FROM activity WHERE minute < ?", (before_minute,))
        conn.execute("DELETE FROM daily_totals WHERE day < ?", (before_day,))
        conn.execute("DELETE FROM daily_activity WHERE day < ?", (before_day,))
        conn.execute(
            "DELETE FROM access_requests WHERE created < ? AND NOT (status = 'approved' "
            "AND (approved_until IS NULL OR approved_until > ?))",
            (before_day, now.isoformat(timespec="seconds")),
        )
        conn.execute(
            "INSERT INTO meta VALUES ('last_retention', ?) "
            "ON CONFLICT DO UPDATE SET value = excluded.value",
            (now.isoformat(timespec="seconds"),),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return upto >= first_kept
