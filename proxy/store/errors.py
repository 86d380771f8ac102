"""The decision log's expected failures, each a clean one-line CLI error.

Messages name files and kinds of failure, never a record's contents.
"""

from __future__ import annotations

from vaccine.proxy.errors import VaccineError


class StoreError(VaccineError):
    """The decision log cannot be read as asked."""


class LogMissing(StoreError):
    """There is no database file at the path (the proxy has not run yet, or a wrong --db)."""


class NotADecisionLog(StoreError):
    """The file is corrupt, not SQLite, or an SQLite file this product did not create."""


class LogNeedsUpgrade(StoreError):
    """The file was written by an older version; only the writer (the proxy) migrates it."""


class BadRecord(ValueError):
    """A record field holds something it may not; the message names the field, not the value."""
