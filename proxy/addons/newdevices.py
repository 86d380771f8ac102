"""Notes the source address of every connection that falls to `unknown_devices`, so a parent
can see new devices and assign them (proxy.newdevices: address and minute only, 0600).

The hook only touches memory; the file is written from a thread every few seconds when
something changed, and once more when the proxy stops."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path

from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.newdevices import SeenTable

log = logging.getLogger("vaccine")


class NewDevices:
    def __init__(self, shared: Shared, path: Path, interval: float = 5.0) -> None:
        self.shared = shared
        self.table = SeenTable(path)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        shared.on_unknown = self.note

    def note(self, peer: str) -> None:
        try:
            addr = ipaddress.ip_address(peer.partition("%")[0])
        except ValueError:
            return
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        self.table.note(str(addr), self.shared.clock())

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flush(), name="vaccine-seen")

    async def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.save()

    async def save(self) -> None:
        if not self.table.dirty:
            return
        try:
            await asyncio.to_thread(self.table.save)
        except OSError as e:
            log.warning("could not write the new devices list (%s)", type(e).__name__)

    async def _flush(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.interval)
                await self.save()
