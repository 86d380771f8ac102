"""Time online for connections the proxy passes through and never sees inside.

Requests inside a decrypted connection are recorded one by one; a passed-through connection
only tells us that it is open. It counts for the minute it opens and then for each further
minute it stays open, up to `CAP`: phones keep idle connections open for hours, which would
otherwise eat a child's daily limits while the screen is off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.model import Profile

CAP = timedelta(minutes=30)


@dataclass
class _Open:
    profile: Profile
    decision: Decision
    opened: datetime
    last_minute: datetime


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


class OpenConnections:
    """Passed-through connections by client connection id; `record` logs one further minute."""

    def __init__(self, record: Callable[[Profile, Decision], None]) -> None:
        self._record = record
        self._open: dict[str, _Open] = {}

    def __len__(self) -> int:
        return len(self._open)

    def opened(self, conn_id: str, profile: Profile, decision: Decision, now: datetime) -> None:
        """The connection's first minute is recorded by the caller, with its decision."""
        self._open[conn_id] = _Open(profile, decision, now, _minute(now))

    def closed(self, conn_id: str, now: datetime) -> None:
        c = self._open.pop(conn_id, None)
        if c is not None:  # its last minute counts too
            self._count(c, now)

    def tick(self, now: datetime) -> None:
        """Record the current minute for every connection still open (call every few s)."""
        for c in list(self._open.values()):
            self._count(c, now)

    def clear(self, now: datetime) -> None:
        self.tick(now)
        self._open.clear()

    def _count(self, c: _Open, now: datetime) -> None:
        minute = _minute(now)
        if minute > c.last_minute and now - c.opened <= CAP:
            c.last_minute = minute
            self._record(c.profile, c.decision)
