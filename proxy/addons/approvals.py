"""Parents' approvals, polled from the decision log once a second and handed to the decision.

An approval made with `vaccine requests approve` or the dashboard applies without a restart.
The read runs in a thread; a failing read keeps the last approvals and says so once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.store.errors import LogMissing
from vaccine.proxy.store.requests import approvals_in_force

log = logging.getLogger("vaccine")


class Approvals:
    def __init__(self, shared: Shared, db_path: Path, interval: float = 1.0) -> None:
        self.shared = shared
        self.db_path = db_path
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll(), name="vaccine-approvals")

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def poll_once(self) -> None:
        """Read the approvals in force now (raises when the log cannot be read)."""
        try:
            self.shared.approvals = await asyncio.to_thread(
                approvals_in_force, self.db_path, self.shared.clock()
            )
        except LogMissing:  # nothing written yet, so nothing approved yet
            self.shared.approvals = {}

    async def _poll(self) -> None:
        failed = False
        while True:
            try:
                await self.poll_once()
                failed = False
            except Exception as e:  # keep the last approvals; say so once
                if not failed:
                    log.warning(
                        "cannot read parents' approvals from the log (%s)", type(e).__name__
                    )
                failed = True
            await asyncio.sleep(self.interval)
