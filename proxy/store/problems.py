"""What the writer reports: the kinds of database failure and its counters.

A failure is logged once per kind (not per row), by a fixed sentence: an SQLite error message
never carries a row's values, but a fixed sentence is certain not to.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from vaccine.proxy.store.errors import NotADecisionLog

#: what each kind of failure means, for the one log line it gets (no record content, ever)
PROBLEMS = {
    "locked": "the database is locked by another program",
    "readonly": "the database is read-only",
    "full": "the disk or the database is full",
    "corrupt": "the file is corrupt or not SQLite (move it aside and a new log is started)",
    "cannot_open": "the file cannot be opened or created",
    "io": "a disk input/output error",
    "not_a_log": "the file is another program's SQLite database",
    "error": "an unexpected database error",
}
_BY_CODE = {5: "locked", 6: "locked", 8: "readonly", 13: "full", 11: "corrupt", 26: "corrupt"}
_BY_CODE |= {14: "cannot_open", 10: "io"}


def classify(error: BaseException) -> str:
    """The kind of failure, one of PROBLEMS."""
    if isinstance(error, NotADecisionLog):
        return "not_a_log"
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return _BY_CODE.get(code & 0xFF, "error") if isinstance(code, int) else "error"
    if isinstance(error, OSError):
        return "cannot_open"
    return "error"


@dataclass(frozen=True)
class WriterStats:
    pending: int  #: records queued, not yet taken by the writer thread (and flush markers)
    held: int  #: records taken and aggregated, not yet written
    written: int  #: records committed to the database
    dropped: int  #: records given up (memory bound reached, or unwritable until close)
    batches: int  #: transactions committed
    problem: str | None  #: the current kind of failure (a key of PROBLEMS), None when all is well
