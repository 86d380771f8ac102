"""Opens the listener of a WireGuard device added while the proxy runs (`vaccine devices add
--wireguard` writes its `- mode:` rule; the reloader swaps in the new household): the
mitmproxy `mode` option gets the device's mode, and mitmproxy starts that server. Listeners
are only added here: a device rule that disappears leaves its listener until a restart, and
its traffic then falls to `unknown_devices`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mitmproxy import ctx, exceptions

from vaccine.proxy.addons.reload import say
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.devices import with_device_listeners

log = logging.getLogger("vaccine")


class DeviceListeners:
    def __init__(self, shared: Shared, interval: float = 1.0) -> None:
        self.shared = shared
        self.interval = interval
        self._household = shared.household
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="vaccine-wg")

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def check(self) -> list[str]:
        """Add the listeners the household in force names and mitmproxy lacks; the new ones."""
        household = self.shared.household
        if household is self._household:
            return []
        self._household = household
        modes = list(ctx.options.mode)
        wanted = with_device_listeners(modes, household.policies)
        added = wanted[len(modes) :]
        if added:
            try:
                ctx.options.update(mode=wanted)
            except exceptions.OptionsError as e:
                log.warning("could not open the new device listeners (%s)", e)
                return []
        return added

    async def _watch(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.interval)
                for spec in self.check():
                    say(f"listening for a new WireGuard device on UDP {spec.rpartition('@')[2]}")
