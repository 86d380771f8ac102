"""The decision log: what kind of thing happened, per minute, never the full URL.

The proxy builds a `Record` with `record_for` and hands it to `LogWriter.submit` (never blocks,
never raises); the writer thread owns the only write connection. Readers (`vaccine report`, the
dashboard) use `open_readonly`, the `queries` module and the pure `summary` module.
"""

from .errors import BadRecord, LogMissing, LogNeedsUpgrade, NotADecisionLog, StoreError
from .records import (
    OUTCOMES,
    Outcome,
    Record,
    minute_key,
    minutes_between,
    record_for,
    records_for_minutes,
)
from .schema import open_readonly
from .writer import LogWriter, WriterStats

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
