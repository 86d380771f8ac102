"""`vaccine lists update`: every source with a `url`, one after the other, then the index.

One update at a time per lists folder (`.state/lock`, released by the kernel when the process
dies). While it runs, `.updating` holds its pid: a running proxy waits for the compiled index
instead of reading half-updated lists, and stops waiting as soon as that pid is gone (a
killed update). A swap is followed by a compile; `.state/compile-pending` remembers one that
was swapped but never compiled (the update was killed), so the next update compiles even
when every source answers "unchanged".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.lists.fetch import STATE_DIR, FetchFailed, fetch, reason
from vaccine.proxy.lists.layout import SOURCES_FILE, UPDATING_FILE
from vaccine.proxy.lists.progress import Progress
from vaccine.proxy.lists.sources import Source, load_sources
from vaccine.proxy.util.words import plural

COMPILE_PENDING = f"{STATE_DIR}/compile-pending"


def update(
    directory: Path,
    only: list[str] | tuple[str, ...] = (),
    timeout: float = 60.0,
    *,
    compile_after: bool = True,
    allow_shrink: bool = False,
    progress: Progress | None = None,
    out: TextIO | None = None,
) -> int:
    """Exit status: 0 when every source is up to date, 1 when one failed (the others and
    the index are still updated)."""
    out = out or sys.stdout
    progress = progress or Progress(out)
    if not directory.is_dir():
        raise VaccineError(f"{directory}: no such lists folder")
    sources = url_sources(directory)
    unknown = sorted(set(only) - {s.name for s in sources})
    if unknown:
        raise VaccineError(f"no source named {', '.join(unknown)} in {directory / SOURCES_FILE}")
    todo = [s for s in sources if not only or s.name in only]
    if not todo:
        print(f"nothing to download: no source in {directory / SOURCES_FILE} has a url", file=out)
        return 0
    failed = 0
    with _locked(directory), _marked(directory):
        _clean_leftovers(directory, todo)
        pending = directory / COMPILE_PENDING
        changed = pending.exists()
        for src in todo:
            start = time.monotonic()
            progress.step(src.name, unit="bytes")
            try:
                outcome = fetch(
                    src,
                    directory,
                    timeout,
                    lambda done, total: progress.advance(done, total),
                    allow_shrink=allow_shrink,
                )
            except (FetchFailed, OSError, urllib.error.URLError, ValueError, EOFError) as e:
                progress.finish()
                failed += 1
                keep = (
                    "keeping the previous copy"
                    if os.path.lexists(directory / src.into)
                    else "nothing downloaded yet: its categories have the starter lists only"
                )
                why = reason(e, src.url, directory)
                print(f"{src.name}: failed ({why}); {keep}", file=out, flush=True)
                continue
            progress.finish()
            if outcome.changed and not changed:
                pending.parent.mkdir(exist_ok=True)
                pending.touch()
                changed = True
            took = time.monotonic() - start
            verb = "updated, " if outcome.changed else ""
            print(f"{src.name}: {verb}{outcome.summary} ({took:.1f} s)", file=out, flush=True)
        if compile_after and changed:
            compile_lists(directory, progress, out)
            pending.unlink(missing_ok=True)
        elif compile_after:
            print("the index is up to date: nothing changed", file=out, flush=True)
    return 1 if failed else 0


def compile_lists(directory: Path, progress: Progress, out: TextIO | None = None) -> None:
    """Build the index, showing progress (files read, entries so far)."""
    from vaccine.proxy.lists.index import compile_index
    from vaccine.proxy.lists.layout import checked_sources, plan

    files = sum(not p.local for p in plan(directory, checked_sources(directory))[0])
    progress.step("compiling", files, unit="files")

    def on_file(entries: int, files_done: int) -> None:
        progress.advance(files_done, note=f"{entries:,} entries")

    try:
        result = compile_index(directory, progress=on_file)
    except OSError as e:
        raise VaccineError(
            f"cannot write the index in {directory}: {reason(e, where=directory)}"
        ) from None
    finally:
        progress.finish()
    print(
        f"compiled {plural(result.entries, 'entry', 'entries')} from "
        f"{plural(result.files, 'file')} into {result.path} in {result.seconds:.1f} s",
        file=out or sys.stdout,
        flush=True,
    )


def url_sources(directory: Path) -> list[Source]:
    """The sources of a lists folder that `update` downloads (a `url`)."""
    sources, problems = load_sources(directory / SOURCES_FILE)
    if problems:
        raise ProblemsError(problems)
    return [s for s in sources.values() if s.url]


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    state = directory / STATE_DIR
    try:
        state.mkdir(exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise VaccineError(f"cannot update {directory}: {reason(e, where=directory)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VaccineError(f"another update of {directory} is running") from None
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _marked(directory: Path) -> Iterator[None]:
    marker = directory / UPDATING_FILE
    try:
        marker.write_text(f"{os.getpid()}\n")  # a running proxy waits for the compiled index
    except OSError as e:
        raise VaccineError(f"cannot update {directory}: {reason(e, where=directory)}") from None
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def _clean_leftovers(directory: Path, sources: list[Source]) -> None:
    """Temporary folders of an update that was killed (we hold the lock: none is in use)."""
    for parent in {(directory / s.into).parent for s in sources}:
        for tmp in parent.glob(".update-*"):
            shutil.rmtree(tmp, ignore_errors=True)
