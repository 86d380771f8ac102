"""What one transaction writes: records aggregated into per-minute rows and active minutes.

Owned by the writer thread. Aggregation happens in memory first, so a minute with a thousand
requests to one site costs one upsert, and so rows can wait here, bounded, while the database
is unavailable.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from vaccine.proxy.store.records import DNS_RULE, Record

_UPSERT = (
    "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET count = count + excluded.count"
)
# Only a minute not seen before inserts a row, and so fires the per-day trigger.
_ACTIVITY = "INSERT OR IGNORE INTO activity VALUES (?, ?, ?, ?)"
ADD_DROPPED = (
    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'dropped_records'"
)


Activity = tuple[str, str, str, str]  # (minute, profile, kind, name)


def add_dropped_in_file(path: Path, n: int, timeout: float = 1.0) -> None:
    """Add `n` to `meta.dropped_records` with a connection of its own, once the writer has
    stopped (best effort: a file that cannot take it already had its problem reported)."""
    try:
        conn = sqlite3.connect(path, timeout=timeout)
    except sqlite3.Error:
        return
    try:
        with conn:
            conn.execute(ADD_DROPPED, (n,))
    except sqlite3.Error:
        pass
    finally:
        conn.close()


# Active minutes already committed are remembered for this many recent minutes: a busy minute
# is written every flush, and re-inserting every known (minute, site) each time was half of
# the writer's work for nothing (INSERT OR IGNORE).
_RECENT_MINUTES = 3


class Batch:
    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.rows: dict[tuple[str, ...], int] = {}  # decisions key → count
        self.activity: set[Activity] = set()
        self.records = 0  # records aggregated into the rows
        self._written: set[Activity] = set()  # committed, in the recent minutes
        self._written_minutes: set[str] = set()

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
        # A blocked attempt is not time spent on anything, and neither is a DNS lookup.
        if rec[4] != "blocked" and not rec[5].startswith(DNS_RULE):
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
        fresh = self.activity - self._written  # in C: no Python loop over every row
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Generators, not lists: one row's Python work between two GIL-free steps, never
            # one long stretch building a list of every row.
            conn.executemany(_UPSERT, ((*key, n) for key, n in self.rows.items()))
            conn.executemany(_ACTIVITY, iter(fresh))
            if dropped:
                conn.execute(ADD_DROPPED, (dropped,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                # the connection is reopened after any failure but a lock
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        self._remember(fresh)

    def _remember(self, fresh: set[Activity]) -> None:
        self._written |= fresh
        minutes = {a[0] for a in fresh}
        if minutes <= self._written_minutes:
            return
        self._written_minutes |= minutes
        if len(self._written_minutes) > _RECENT_MINUTES:  # once a minute: forget the oldest
            keep = set(sorted(self._written_minutes)[-_RECENT_MINUTES:])
            self._written = {a for a in self._written if a[0] in keep}
            self._written_minutes = keep

    def clear(self) -> None:
        self.rows.clear()
        self.activity.clear()
        self.records = 0
