"""Reading the decision log from outside the proxy, as a parent's tools would: read-only.

Read-only matters twice: a test must not change what it checks, and the proxy may still be
writing (WAL mode lets readers in while the writer commits).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote


def open_log(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=5.0)


def rows(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of one query; [] while the proxy has not created the tables yet."""
    if not path.exists():
        return []
    with closing(open_log(path)) as db:
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            raise


def counts_by_action(path: Path, profile: str) -> dict[str, int]:
    """Decisions recorded for a profile, summed over minutes, per action."""
    return {
        action: n
        for action, n in rows(
            path,
            "SELECT action, sum(count) FROM decisions WHERE profile = ? GROUP BY action",
            [profile],
        )
        if n
    }


def total(path: Path, profile: str) -> int:
    return sum(counts_by_action(path, profile).values())


def category_minutes(path: Path, profile: str, category: str) -> int:
    found = rows(
        path,
        "SELECT sum(minutes) FROM daily_activity "
        "WHERE profile = ? AND kind = 'category' AND name = ?",
        [profile, category],
    )
    return int(found[0][0] or 0) if found else 0


def integrity(path: Path) -> str:
    with closing(open_log(path)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def log_files(db: Path) -> list[Path]:
    """The database and its -wal / -shm companions, those that exist."""
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def leaks(secrets: Iterable[str], files: Iterable[Path], text: str = "") -> list[str]:
    """Where any secret appears: in a file's bytes (as UTF-8) or in `text` (process output)."""
    secrets = list(secrets)
    found = [f"{s!r} in the process output" for s in secrets if s in text]
    for path in files:
        data = path.read_bytes()
        found += [f"{s!r} in {path}" for s in secrets if s.encode() in data]
    return found
