"""Opening the decision log for reading: plain `sqlite3`, read-only, never migrating.

Kept apart from the schema module so `vaccine report` and the dashboard do not import
sqlite-utils (a tenth of a second of start-up) just to read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from vaccine.proxy.store.errors import LogMissing, LogNeedsUpgrade, NotADecisionLog

#: sqlite-utils' bookkeeping table and this log's migration set in it
MIGRATIONS_TABLE = "_sqlite_migrations"
MIGRATION_SET = "vaccine-log"
#: every migration, in order; schema.py registers exactly these (a test holds them equal)
MIGRATION_NAMES: tuple[str, ...] = (
    "m001_decision_log",
    "m002_access_requests",
    "m003_meta",
    "m004_daily_totals",
)


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection for reports and the dashboard; the caller closes it.

    Raises LogMissing, NotADecisionLog or LogNeedsUpgrade (VaccineErrors: one-line CLI errors).
    """
    path = Path(path)
    if not path.is_file():
        raise LogMissing(
            f"no decision log at {path} (the proxy creates it when it first runs; or use --db)"
        )
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=1.0)
    try:
        check_up_to_date(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def check_up_to_date(conn: sqlite3.Connection, path: Path) -> None:
    """Raise NotADecisionLog or LogNeedsUpgrade unless every migration was applied: the one
    check for readers and for `vaccine requests`' writer, which never migrates."""
    applied = _applied(conn, path)
    if not applied:
        raise NotADecisionLog(f"{path} is not a decision log (it has none of its tables)")
    if set(MIGRATION_NAMES) - applied:
        raise LogNeedsUpgrade(
            f"{path} was written by an older version: start `vaccine run` once to upgrade it"
        )


def _applied(conn: sqlite3.Connection, path: Path) -> set[str]:
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [MIGRATIONS_TABLE]
        ).fetchone()
        if not exists:
            return set()
        rows = conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ?", [MIGRATION_SET]
        )
        return {r[0] for r in rows}
    except sqlite3.DatabaseError:
        raise NotADecisionLog(
            f"{path} is not a decision log (corrupt, or not an SQLite file)"
        ) from None
