"""The one writer thread: records are enqueued, this thread batches them into SQLite.

`vaccine run` runs it in a process of its own (`process.py`, `child.py`), fed in batches, so its
work never holds the proxy's interpreter lock; tests and tools use it directly.

Writing never slows or stops filtering:

- `submit` is a bounded `deque.append`: O(1), no lock, never blocks, never raises. Past the
  bound a record is counted as dropped (under a lock taken only on that path).
- The thread aggregates what is queued (in C, `Counter` over the tuple records) every 20 ms
  while records arrive, and every `flush_interval` writes it in one transaction: per-minute
  counts upserted, active minutes inserted once; triggers keep the per-day tables in step.
- A locked, read-only, full or corrupt database is logged once per kind of failure; the rows
  stay in memory, aggregated (up to `max_pending` distinct rows, then counted as dropped), and
  the thread retries with a growing pause, reopening the file after any failure but a lock.
  Records dropped are added to `meta.dropped_records` once the file is writable again.
- `close` writes everything still queued or held before it returns (or, if the database
  stays unwritable until `timeout`, counts what is left as dropped and says so).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sqlite_utils import Database

from vaccine.proxy.hosts import registrable_domain
from vaccine.proxy.store.batch import Batch, add_dropped_in_file
from vaccine.proxy.store.problems import PROBLEMS, WriterStats, classify
from vaccine.proxy.store.queries import minutes_on
from vaccine.proxy.store.records import Record
from vaccine.proxy.store.retention import purge
from vaccine.proxy.store.schema import connect

log = logging.getLogger("vaccine.store")

# The writer shares the GIL with the event loop. A waiting thread only forces a switch after
# `sys.getswitchinterval()` (5 ms), so Python work here is cut into slices of well under a
# millisecond with a real sleep between them, during which the loop takes the GIL at once.
# (SQLite itself releases the GIL on every statement step.)
_SLICE = 512
_YIELD = 0.0002
# While records arrive, they are aggregated every DRAIN_INTERVAL and written every
# flush_interval. Draining often is for the garbage collector: a record that waited half a
# second would have survived two collections into the oldest generation, and enough of those
# trigger full collections, which stall the event loop for tens of milliseconds.
DRAIN_INTERVAL = 0.02


class _Flush:
    """A marker in the queue: set once everything queued before it was written (or failed)."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class LogWriter:
    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 100_000,
        flush_interval: float = 1.0,
        retention_days: int | None = None,
        busy_timeout: float = 1.0,
        clock: Callable[[], datetime] = datetime.now,
        on_connect: Callable[[Database], None] | None = None,
    ) -> None:
        """`flush_interval`: seconds between transactions while records arrive. Longer means
        fewer upserts of the same busy rows (a second halves the writer's work at 50,000
        decisions/s compared with half a second) but a staler dashboard and daily-limit
        snapshot, and more lost if the process is killed without close().
        `retention_days`: minutes and days older than that are purged daily (None: never);
        may be reassigned at any time (a policy reload). `on_connect` runs on every new
        connection, in the writer thread (tests use it to make a database full or read-only).
        """
        self.path = Path(path)
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.retention_days = retention_days
        self.busy_timeout = busy_timeout
        self.clock = clock
        self.on_connect = on_connect
        self._queue: deque[Record | _Flush] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._deadline = 0.0
        self._thread: threading.Thread | None = None
        self._closed = False
        self._drop_lock = threading.Lock()
        self._reported: set[str] = set()  # kinds of problem logged since the last success
        self._dropped_submit = 0
        # Owned by the writer thread; other threads only read them (stats).
        self._db: Database | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file _db writes
        self._batch = Batch(max_pending)
        # (day, profile → category → active minutes): swapped whole, read by any thread
        self._usage: tuple[str, dict[str, dict[str, int]]] = ("", {})
        self._written = 0
        self._dropped_writer = 0
        self._dropped_persisted = 0
        self._batches = 0
        self._problem: str | None = None
        self._failures = 0
        self._next_try = 0.0
        self._retained_on: object = None

    # -- the proxy's side: any thread, never blocks ----------------------------------------

    def submit(self, record: Record) -> None:
        """Queue one record. O(1); never blocks, never raises."""
        q = self._queue
        if len(q) < self.max_pending and not self._closed and type(record) is Record:
            q.append(record)
            return
        if self._closed:
            self._drop(1, "closed", "a record was submitted after close; it is dropped")
        elif type(record) is not Record:
            self._drop(1, "not_a_record", "something other than a Record was submitted")
        else:
            self._drop(1, "queue_full", f"more than {self.max_pending} records wait to be written")

    def stats(self) -> WriterStats:
        return WriterStats(
            pending=len(self._queue),  # O(1): stats may be polled from the event loop
            held=self._batch.records,
            written=self._written,
            dropped=self._dropped_submit + self._dropped_writer,
            batches=self._batches,
            problem=self._problem,
        )

    def add_dropped(self, n: int) -> None:
        """Count `n` records lost before they reached this writer (in the proxy process, when
        this writer runs in its own): written to `meta.dropped_records` with the next commit."""
        with self._drop_lock:
            self._dropped_submit += n

    def usage(self) -> tuple[str, dict[str, dict[str, int]]]:
        """(day, profile → category → active minutes) as of the last write; a new tuple after
        each refresh, never changed in place."""
        return self._usage

    def minutes_today(self, profile: str) -> dict[str, int]:
        """Active minutes per category today, as of the last write: for daily `limits:`.

        No I/O: a snapshot the writer thread refreshes after each write (every
        `flush_interval` while there is traffic), so it may lag by that much.
        """
        day, usage = self._usage
        if day != self.clock().date().isoformat():
            return {}
        return usage.get(profile, {})

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="vaccine-log-writer", daemon=True)
        self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything submitted so far, now. True when it is in the database."""
        if self._thread is None or not self._thread.is_alive():
            return False
        marker = _Flush()
        self._queue.append(marker)  # past the bound on purpose: it is not a record
        self._wake.set()
        return marker.done.wait(timeout) and marker.ok

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued and held, then stop. Idempotent. Blocks up to `timeout`."""
        if self._closed:
            return
        self.start()
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._closed = True
        self._wake.set()
        assert self._thread is not None
        self._thread.join(timeout + self.busy_timeout + 1.0)
        if self._thread.is_alive():  # stuck in the disk; what it holds is as good as lost
            log.error("decision log %s: the writer did not finish in time", self.path)
            return
        left = sum(1 for x in self._queue if type(x) is Record)
        self._queue.clear()
        if left:  # submitted by another thread while the writer was finishing
            self._drop(left, "closed", "records were submitted while closing; they are dropped")
            add_dropped_in_file(self.path, left, self.busy_timeout)

    def __enter__(self) -> LogWriter:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _drop(self, n: int, kind: str, message: str) -> None:
        with self._drop_lock:
            self._dropped_submit += n
            if kind in self._reported:
                return
            self._reported.add(kind)
        log.error("decision log %s: %s (counted as dropped)", self.path, message)

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            registrable_domain("example.com")  # load the suffix list here, not on the loop
            busy = False
            next_write = time.monotonic() + self.flush_interval
            while True:
                self._wake.wait(DRAIN_INTERVAL if busy else self.flush_interval)
                self._wake.clear()
                stopping = self._stopping.is_set()
                before = len(self._queue)
                flushes = self._drain()
                busy = before > 0
                if flushes or time.monotonic() >= next_write:
                    next_write = time.monotonic() + self.flush_interval
                    self._attempt(forced=bool(flushes))
                    ok = self._batch.records == 0 and self._problem is None
                    for f in flushes:
                        f.ok = ok
                        f.done.set()
                if stopping:
                    self._finish()
                    return
                self._retain()
        except BaseException:
            log.exception("decision log %s: the writer thread failed", self.path)
            self._count_lost()
        finally:
            self._disconnect()
            for item in list(self._queue):
                if type(item) is _Flush:
                    item.done.set()

    def _drain(self) -> list[_Flush]:
        """Aggregate what is queued now into the held rows; return the flush markers seen."""
        q = self._queue
        flushes: list[_Flush] = []
        todo = len(q)  # not more: a busy loop could otherwise keep this going forever
        while todo > 0:
            n = min(todo, _SLICE)
            todo -= n
            chunk = [q.popleft() for _ in range(n)]
            for item, k in Counter(chunk).items():
                if type(item) is _Flush:
                    flushes.append(item)
                else:
                    self._hold(item, k)  # type: ignore[arg-type]
            if todo:
                time.sleep(_YIELD)
        return flushes

    def _hold(self, rec: Record, k: int) -> None:
        if self._batch.add(rec, k):
            return
        self._dropped_writer += k
        if "memory" not in self._reported:
            self._reported.add("memory")
            log.error(
                "decision log %s: %d rows wait in memory; further records are dropped "
                "and counted until the database can be written",
                self.path,
                len(self._batch.rows),
            )

    def _attempt(self, *, forced: bool) -> None:
        """Open the database if needed and write what is held; on failure, back off."""
        if not forced and time.monotonic() < self._next_try:
            return
        try:
            if self._db is not None and _file_id(self.path) != self._file:
                # A parent "resetting history", a clean-up script, a restore: the file we
                # write is no longer the one at the path. Writing on would go nowhere.
                log.warning(
                    "decision log %s was deleted, moved or replaced; starting a new log there",
                    self.path,
                )
                # What the WAL holds belongs to the file we had (moved: it goes with it), and
                # a WAL left at the path must not be read as the new file's.
                with contextlib.suppress(sqlite3.Error):
                    self._db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._disconnect()
            if self._db is None:
                self._db = connect(self.path, busy_timeout=self.busy_timeout)
                self._file = _file_id(self.path)
                if self.on_connect is not None:
                    self.on_connect(self._db)
            if not self._batch.records and not self._batch.rows:
                if self._problem == "locked":  # nothing to write: is it still locked?
                    self._db.conn.execute("BEGIN IMMEDIATE")
                    self._db.conn.execute("ROLLBACK")
                # Other writers (`vaccine run --workers`) add minutes too: read them while
                # idle as well, so a quiet worker's daily limits stay current.
                self._refresh_usage(self._db.conn)
                self._problem = None
                return
            self._commit(self._db.conn)
        except Exception as e:
            self._failed(e)
            return
        self._recovered()

    def _commit(self, conn: sqlite3.Connection) -> None:
        dropped = self._dropped_submit + self._dropped_writer
        self._batch.write(conn, dropped - self._dropped_persisted)
        self._dropped_persisted = dropped
        self._written += self._batch.records
        self._batch.clear()
        self._batches += 1
        self._refresh_usage(conn)

    def _refresh_usage(self, conn: sqlite3.Connection) -> None:
        day = self.clock().date()
        self._usage = (day.isoformat(), minutes_on(conn, day))

    def _failed(self, error: Exception) -> None:
        kind = classify(error)
        self._problem = kind
        self._failures += 1
        self._next_try = time.monotonic() + min(30.0, 0.5 * 2 ** min(self._failures, 6))
        if kind not in self._reported:
            self._reported.add(kind)
            code = getattr(error, "sqlite_errorname", None) or type(error).__name__
            log.error(
                "decision log %s: %s (%s); filtering goes on, records wait in memory",
                self.path,
                PROBLEMS[kind],
                code,
            )
        if kind != "locked":
            self._disconnect()

    def _recovered(self) -> None:
        """A commit went through: the episode of failures (if any) is over."""
        self._problem = None
        self._failures = 0
        if not self._reported:
            return
        with self._drop_lock:
            had_problem = bool(self._reported & PROBLEMS.keys())
            self._reported.clear()
        if had_problem:
            log.warning(
                "decision log %s: writing again (%d records dropped so far)",
                self.path,
                self._dropped_submit + self._dropped_writer,
            )

    def _retain(self) -> None:
        days = self.retention_days
        if days is None or self._db is None or self._problem is not None:
            return
        now = self.clock()
        if self._retained_on == now.date():
            return
        try:
            done = purge(self._db.conn, now, days)
        except sqlite3.Error as e:
            self._failed(e)
            return
        if done:  # else more is left; the next turn goes on
            self._retained_on = now.date()

    def _finish(self) -> None:
        """Closing: write everything; while the file is locked, keep trying until the deadline."""
        flushes: list[_Flush] = []
        while True:
            flushes += self._drain()
            self._attempt(forced=True)
            if self._batch.records == 0 and not self._queue and self._problem is None:
                break
            # Only a lock passes by itself; a corrupt, full or read-only file would only make
            # a parent's Ctrl-C wait for the whole timeout.
            if self._problem != "locked" or time.monotonic() >= self._deadline:
                self._count_lost()
                break
            time.sleep(min(0.1, max(0.0, self._deadline - time.monotonic())))
        for f in flushes:
            f.ok = self._problem is None
            f.done.set()

    def _count_lost(self) -> None:
        lost = self._batch.records
        self._batch.clear()
        while self._queue:
            item = self._queue.popleft()
            if type(item) is _Flush:
                item.done.set()
            else:
                lost += 1
        if lost:
            self._dropped_writer += lost
            log.error(
                "decision log %s: %d records could not be written before closing (%s)",
                self.path,
                lost,
                PROBLEMS.get(self._problem or "error"),
            )

    def _disconnect(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(sqlite3.Error):
                db.close()
