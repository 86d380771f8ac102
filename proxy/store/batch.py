"""What one transaction writes: records aggregated into per-minute rows and active minutes.

Owned by the writer thread. Aggregation happens in memory first, so a minute with a thousand
requests to one site costs one upsert, and so rows can wait here, bounded, while the database
is unavailable.
"""

from __future__ import annotations

import contextlib
import sqlite3

from .records import Record

_UPSERT = (
    "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET count = count + excluded.count"
)
# Only a minute not seen before inserts a row, and so fires the per-day trigger.
_ACTIVITY = "INSERT OR IGNORE INTO activity VALUES (?, ?, ?, ?)"
_ADD_DROPPED = (
    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'dropped_records'"
)


class Batch:
    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.rows: dict[tuple[str, ...], int] = {}  # decisions key → count
        self.activity: set[tuple[str, str, str, str]] = set()  # (minute, profile, kind, name)
        self.records = 0  # records aggregated into the rows

    def add(self, rec: Record, k: int) -> bool:
        """Aggregate `k` copies of `rec`; False when it would need a new row past the bound."""
        rows = self.rows
        key = rec[:6]
        if key in rows:
            rows[key] += k * rec[7]
        elif len(rows) >= self.max_rows:
            return False
        else:
            rows[key] = k * rec[7]
        self.records += k
        if rec[4] != "blocked":  # a blocked attempt is not time spent on anything
            minute, profile = rec[0], rec[1]
            acts = self.activity
            acts.add((minute, profile, "online", ""))
            acts.add((minute, profile, "category", rec[3]))
            for c in rec[6]:
                acts.add((minute, profile, "category", c))
            if rec[2]:
                acts.add((minute, profile, "site", rec[2]))
        return True

    def write(self, conn: sqlite3.Connection, dropped: int = 0) -> None:
        """One transaction; `dropped` is added to `meta.dropped_records`. On error, rolled back
        and the batch left whole for the next attempt."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Generators, not lists: one row's Python work between two GIL-free steps, never
            # one long stretch building a list of every row.
            conn.executemany(_UPSERT, ((*key, n) for key, n in self.rows.items()))
            conn.executemany(_ACTIVITY, iter(self.activity))
            if dropped:
                conn.execute(_ADD_DROPPED, (dropped,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                # the connection is reopened after any failure but a lock
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def clear(self) -> None:
        self.rows.clear()
        self.activity.clear()
        self.records = 0
