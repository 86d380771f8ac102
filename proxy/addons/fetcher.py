"""The lists fetch and refresh themselves: `vaccine lists update` run by the proxy.

At start, a line says what the lists hold (entries per category group) and what is missing.
When a source of sources.yaml was never downloaded (a fresh install has only the starter
lists) and `lists.fetch_on_start` is on, the update starts at once; afterwards it runs every
`lists.refresh` (daily by default), counted from the last update that reached the sites (kept
in the lists folder, so a restart does not fetch again early).

The update is a child process (`vaccine lists update`): the download, the checks and the
compile never touch the event loop or the proxy's memory, and a failed or killed update
leaves the lists in force untouched. When it ends, the reloader builds a whole new household
and swaps it in (or keeps the last good one); the running proxy never restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from vaccine.proxy.addons.reload import Reloader, say
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.lists import coverage
from vaccine.proxy.lists.fetch import State
from vaccine.proxy.lists.layout import read_sources
from vaccine.proxy.lists.sources import Source
from vaccine.proxy.util.words import plural
from vaccine.proxy.util.worker import worker

#: After a failed update (offline), the next try comes this much later.
RETRY_SECONDS = 30 * 60


def next_fetch(
    directory: Path,
    sources: Sequence[Source],
    *,
    fetch_on_start: bool,
    refresh_minutes: int,
    now: float,
    failed_at: float | None = None,
) -> float | None:
    """When the next update should start (a wall-clock time; `now` or earlier: at once), or
    None when none is due ever (no url source, or nothing to fetch and refresh off)."""
    if not sources:
        return None
    checked = []
    for s in sources:
        state = State.read(directory, s.name)
        if state is not None and state.checked:
            checked.append(state.checked)
        elif os.path.lexists(directory / s.into):  # placed by hand, or by an older version
            checked.append((directory / s.into).lstat().st_mtime)
        elif fetch_on_start:
            checked.append(float("-inf"))  # never downloaded
    if not checked:
        return None
    due = min(checked) + refresh_minutes * 60 if refresh_minutes else None
    if min(checked) == float("-inf"):
        due = now
    if due is not None and failed_at is not None:
        due = max(due, failed_at + RETRY_SECONDS)
    return due


class ListFetcher:
    def __init__(
        self,
        shared: Shared,
        reloader: Reloader,
        lists_dir: Path | None,
        *,
        command: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shared = shared
        self.reloader = reloader
        self.lists_dir = lists_dir  # None: whatever settings.yaml names
        self.command = list(command) if command else [sys.executable, "-m", "vaccine.proxy"]
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._child: asyncio.subprocess.Process | None = None

    def running(self) -> None:
        me = worker()
        if me is not None and me[0] > 0:  # `--workers`: the first one fetches for all
            return
        self._task = asyncio.create_task(self._run(), name="vaccine-lists-fetcher")

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._child is not None and self._child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._child.terminate()  # safe at any moment: the lists in force stay

    def _directory(self) -> Path:
        return self.lists_dir or self.shared.household.lists_dir

    def _sources(self) -> list[Source]:
        sources, problems = read_sources(self._directory())
        return [] if problems else [s for s in sources.values() if s.url]

    async def _run(self) -> None:
        household = self.shared.household
        lists, settings = household.lists, household.policies.settings
        sources = await asyncio.to_thread(self._sources)
        missing = [s for s in sources if not os.path.lexists(self._directory() / s.into)]
        line = coverage.start_line(lists.stats(), lists.entry_count)
        if missing and len(missing) == len(sources):
            line += "; starter lists only"
        if missing and settings.fetch_on_start:
            line += f": fetching {plural(len(missing), 'source')} in the background"
        elif missing:
            line += " (lists.fetch_on_start is off: run `vaccine lists update`)"
        say(line)
        failed_at: float | None = None
        while True:
            settings = self.shared.household.policies.settings
            sources = await asyncio.to_thread(self._sources)
            due = await asyncio.to_thread(
                next_fetch,
                self._directory(),
                sources,
                fetch_on_start=settings.fetch_on_start,
                refresh_minutes=settings.refresh_minutes,
                now=self.clock(),
                failed_at=failed_at,
            )
            if due is None:  # nothing to do now; settings may change: look again later
                await asyncio.sleep(RETRY_SECONDS)
                continue
            wait = due - self.clock()
            if wait > 0:
                # Wake at least every half hour: a settings edit or a clock jump is seen.
                await asyncio.sleep(min(wait, RETRY_SECONDS))
                continue
            ok = await self._update()
            failed_at = None if ok else self.clock()
            await self.reloader.reload()

    async def _update(self) -> bool:
        """One `vaccine lists update`, its lines passed on; True when every source is current."""
        argv = [*self.command, "lists", "update", "--lists", str(self._directory())]
        argv += ["--progress-interval", "10"]
        try:
            self._child = child = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as e:
            say(f"lists: cannot start the update ({type(e).__name__}); the lists in force stay")
            return False
        assert child.stdout is not None
        async for raw in child.stdout:
            text = raw.decode("utf-8", "replace").strip()
            if text:
                say(f"lists: {text.removeprefix('vaccine lists: ')}")
        code = await child.wait()
        if code != 0:
            say("lists: the update did not complete; the lists in force stay for what failed")
        return code == 0
