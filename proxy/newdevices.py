"""Addresses seen recently that no profile recognises ("new devices"), for a parent to assign.

The decision log holds no addresses (privacy), so the proxy keeps this small table apart:
`unknown-devices.json` beside the log, 0600, at most `MAX_ENTRIES` addresses, each with only
the minute it was last seen — never a site, a port or a login. `vaccine devices list` and the
dashboard read it; `vaccine devices assign` gives an address to a profile.
"""

from __future__ import annotations

import ipaddress
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vaccine.proxy.util.files import write_atomically

FILE_NAME = "unknown-devices.json"
MAX_ENTRIES = 256
#: How long an address stays on the list after it was last seen.
RECENT = timedelta(days=7)


def seen_file(db: Path) -> Path:
    return db.parent / FILE_NAME


@dataclass(frozen=True)
class Seen:
    address: str
    last_seen: datetime  # to the minute


class SeenTable:
    """Last-seen minute per address, bounded: the oldest address goes when a new one comes.

    `note` is called from the proxy's hooks, so it only touches memory; `save` writes the file
    (from a thread: it is file I/O)."""

    def __init__(self, path: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.path = path
        self.max_entries = max_entries
        self._seen: OrderedDict[str, str] = OrderedDict()
        self.dirty = False
        for entry in read_seen(path, recent=None):
            self._seen[entry.address] = _minute(entry.last_seen)

    def note(self, address: str, now: datetime) -> None:
        minute = _minute(now)
        if self._seen.get(address) == minute:
            return
        self._seen[address] = minute
        self._seen.move_to_end(address)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        self.dirty = True

    def forget(self, address: str) -> None:
        if self._seen.pop(address, None) is not None:
            self.dirty = True

    def save(self) -> None:
        rows = [{"address": a, "last_seen": m} for a, m in self._seen.items()]
        self.dirty = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, (json.dumps(rows, indent=1) + "\n").encode(), mode=0o600)


def read_seen(
    path: Path, *, now: datetime | None = None, recent: timedelta | None = RECENT
) -> list[Seen]:
    """The table, most recently seen first; entries older than `recent` are left out. A
    missing or damaged file is an empty table (it is only a convenience)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = []
    for row in rows if isinstance(rows, list) else []:
        try:
            address = str(ipaddress.ip_address(str(row["address"])))
            when = datetime.strptime(str(row["last_seen"]), "%Y-%m-%d %H:%M")
        except (KeyError, TypeError, ValueError):
            continue
        out.append(Seen(address, when))
    if recent is not None:
        cutoff = (now or datetime.now()) - recent
        out = [s for s in out if s.last_seen >= cutoff]
    return sorted(out, key=lambda s: s.last_seen, reverse=True)


def forget_address(path: Path, address: str) -> None:
    """Drop `address` from the file (it now belongs to a profile)."""
    if not path.exists():
        return
    table = SeenTable(path)
    table.forget(address)
    if table.dirty:
        table.save()


def _minute(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")
