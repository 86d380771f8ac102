"""The decision log: what kind of thing happened, per minute, never the full URL.

The proxy builds a `Record` with `record_for` and hands it to `submit` (never blocks, never
raises) of a `process.WriterProcess`, which feeds a `LogWriter` in a child process: its writer
thread owns the only write connection. Readers (`vaccine report`, the
dashboard) use `open_readonly`, the `queries` module and the pure `summary` module.

`LogWriter` is imported on first use: readers should not pay for importing sqlite-utils.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vaccine.proxy.store.errors import (
    BadRecord,
    LogMissing,
    LogNeedsUpgrade,
    NotADecisionLog,
    StoreError,
)
from vaccine.proxy.store.readonly import open_readonly
from vaccine.proxy.store.records import (
    OUTCOMES,
    Outcome,
    Record,
    minute_key,
    minutes_between,
    record_for,
    records_for_minutes,
)

if TYPE_CHECKING:
    from vaccine.proxy.store.writer import LogWriter, WriterStats


def __getattr__(name: str) -> Any:
    if name in ("LogWriter", "WriterStats"):
        from vaccine.proxy.store import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OUTCOMES",
    "BadRecord",
    "LogMissing",
    "LogNeedsUpgrade",
    "LogWriter",
    "NotADecisionLog",
    "Outcome",
    "Record",
    "StoreError",
    "WriterStats",
    "minute_key",
    "minutes_between",
    "open_readonly",
    "record_for",
    "records_for_minutes",
]
