"""Files change, the proxy follows: poll the inputs, rebuild off the loop, swap in one step.

Polling (size + mtime of every input, once a second) needs no extra package and works on
every filesystem a router or a school server may use; a whole fingerprint costs well under a
millisecond for a household and a few for the big public lists, and runs in a thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from mitmproxy import ctx

from vaccine.proxy import wireguard
from vaccine.proxy.addons.record import Journal
from vaccine.proxy.addons.setup import start_lines
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.devices import device_key_files
from vaccine.proxy.errors import ProblemsError
from vaccine.proxy.household import inputs_fingerprint, load_household, vanished_lists
from vaccine.proxy.lists.layout import update_in_progress
from vaccine.proxy.util.files import Fingerprint
from vaccine.proxy.util.words import plural
from vaccine.proxy.util.worker import announce_ready, worker

log = logging.getLogger(__name__)


def say(message: str) -> None:
    """The proxy's own console lines (stderr, one line each, never a URL)."""
    print(f"vaccine: {message}", file=sys.stderr, flush=True)


class Reloader:
    def __init__(
        self,
        shared: Shared,
        policies_dir: Path,
        lists_dir: Path | None,
        interval: float = 1.0,
        journal: Journal | None = None,
    ) -> None:
        self.shared = shared
        self.journal = journal
        self.policies_dir = policies_dir
        self.lists_dir = lists_dir  # None: whatever settings.yaml names
        self.interval = interval
        self._lock = asyncio.Lock()
        self._failed: Fingerprint | None = None  # inputs that last failed: no reports each poll
        self._task: asyncio.Task[None] | None = None
        self._after: list[Callable[[], object]] = []

    def after_listening(self, fn: Callable[[], object]) -> None:
        """Run `fn` on the event loop once the proxy listens, before it reads a request; what it
        makes is then kept out of the collector's full passes, as start-up's is."""
        self._after.append(fn)

    def running(self) -> None:
        ps = ctx.master.addons.get("proxyserver")
        addrs = ", ".join(f"{a[0] or '*'}:{a[1]}" for a in ps.listen_addrs()) if ps else "?"
        h = self.shared.household
        me = worker()
        say(
            f"proxy running on {addrs} "
            f"({plural(len(h.policies.profiles), 'profile')}, "
            f"{plural(h.lists.entry_count, 'list entry', 'list entries')})"
            + (f" (worker {me[0] + 1} of {me[1]})" if me else "")
        )
        announce_ready()
        # What mitmproxy made while starting its listeners and addons lives as long as the
        # process: out of the collector's full passes too (`vaccine run` froze the modules
        # and the household just before; full passes over all of it were 50-60 ms stalls).
        gc.freeze()
        if ps is not None:
            for line in start_lines(ps.servers):
                say(line)
            devices = device_key_files(h.policies)
            for path in wireguard.write_client_confs(ps.servers, ctx.options.confdir, devices):
                say(f"WireGuard client configuration for a device: {path}")
        if self.interval > 0:
            self._task = asyncio.create_task(self._poll(), name="vaccine-reloader")
        if self._after:
            asyncio.get_running_loop().call_soon(self._run_after)

    def _run_after(self) -> None:
        after, self._after = self._after, []
        for fn in after:
            try:
                fn()
            except Exception:  # a first request would then build it: slower, not wrong
                log.exception("after listening: %s failed", getattr(fn, "__name__", fn))
        gc.freeze()

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _current(self) -> Fingerprint:
        h = self.shared.household
        return inputs_fingerprint(
            self.policies_dir, self.lists_dir or h.lists_dir, h.policies.settings.proxy_auth
        )

    def _look(self) -> tuple[bool, Fingerprint]:
        """(a lists update is at work, the inputs' fingerprint): file I/O, run in a thread."""
        lists_dir = self.lists_dir or self.shared.household.lists_dir
        return update_in_progress(lists_dir), self._current()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                busy, fp = await asyncio.to_thread(self._look)
                if busy:  # `vaccine lists update` is at work: reload once, from its index
                    continue
                if fp != self.shared.household.fingerprint and fp != self._failed:
                    await self.reload()
            except Exception as e:  # the watcher must never die: filtering goes on regardless
                say(f"watching the policy files failed ({type(e).__name__}); will retry")

    async def reload(self) -> bool:
        """Build a whole new household; swap it in, or keep the last good one and report."""
        async with self._lock:
            try:
                household = await asyncio.to_thread(
                    load_household, self.policies_dir, self.lists_dir
                )
                gone = vanished_lists(self.shared.household, household)
                if gone:
                    raise ProblemsError(gone)
            except ProblemsError as e:
                self._failed = await asyncio.to_thread(self._current)
                say("reload failed, keeping the last good policy")
                for p in e.problems:
                    print(p, file=sys.stderr, flush=True)
                return False
            except Exception as e:
                self._failed = await asyncio.to_thread(self._current)
                say(f"reload failed ({type(e).__name__}: {e}), keeping the last good policy")
                return False
            self.shared.household = household
            if self.journal is not None:
                self.journal.retention_days = household.policies.settings.retention_days
            self._failed = None
            say(
                f"reloaded ({plural(len(household.policies.profiles), 'profile')}, "
                f"{plural(household.lists.entry_count, 'list entry', 'list entries')})"
            )
            return True
