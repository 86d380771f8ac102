"""The decision log written by a separate process, so writing never stalls filtering.

Measured (bench/bench_log.py): with the writer as a thread of the proxy, its aggregation and
its SQLite statements hold the interpreter lock for stretches of milliseconds, and the
records in flight feed the proxy's garbage collector; the event loop waited 3-10 ms more at
p99 than without a log. Here the proxy's side is a bounded `deque.append` per record and, every
20 ms, a thread that turns up to 256 queued records into one `marshal` frame (about 70 µs,
then a write that releases the lock) for `python -m vaccine.proxy.store.child`, which owns the
database. Everything the thread writer promised holds: `submit` never blocks or raises, records
past the bound are counted as dropped and the count reaches `meta.dropped_records`, `flush`
returns once everything before it is written, `close` writes everything.

A proxy killed with kill -9 loses only what was still queued here (at most ~20 ms): the child
sees its input end and writes what it received. A child that dies is started again (and the
records it may not have written are counted as dropped, at most the ones it had not yet
confirmed); until it is back, records wait here within the bound.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType

from vaccine.proxy.store.batch import add_dropped_in_file
from vaccine.proxy.store.frames import BrokenStream, FrameReader, encode
from vaccine.proxy.store.problems import WriterStats
from vaccine.proxy.store.records import Record

log = logging.getLogger("vaccine.store")

BATCH = 256  # records per frame: ~70 µs of encoding, the longest the event loop can wait on it
SHIP_EVERY = 0.02
_PIPE_SIZE = 1 << 20  # F_SETPIPE_SZ: room for ~20,000 records while the child is busy
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_RESTART_PAUSE = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

# (pending, held, written, dropped, batches, problem, received, day, usage) from the child
_NO_REPORT: tuple = (0, 0, 0, 0, 0, None, 0, "", {})


class WriterUnavailable(Exception):
    """The writer process could not be started."""


class WriterProcess:
    """`LogWriter`'s interface (submit, flush, close, stats, minutes_today, retention_days),
    with the writing done by a child process."""

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 100_000,
        flush_interval: float = 1.0,
        retention_days: int | None = None,
        clock: Callable[[], datetime] = datetime.now,
        python: str = sys.executable,
    ) -> None:
        self.path = Path(path)
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.clock = clock
        self.python = python
        self._retention = retention_days
        self._retention_sent = retention_days  # what the current child was told
        self._queue: deque[Record] = deque()
        self._closed = False
        self._lock = threading.RLock()  # the pipe, the child's handle, the counters below
        self._stop = threading.Event()
        self._drop_lock = threading.Lock()
        self._reported: set[str] = set()
        self._dropped_here = 0  # dropped in this process (queue full, closed, child lost)
        self._forwarded = 0  # of those, sent to a child to be written to meta.dropped_records
        self._proc: subprocess.Popen[bytes] | None = None
        self._fd = -1  # our end of the child's input
        self._unsent = b""
        self._shipped = 0  # records sent to the current child
        self._report: tuple = _NO_REPORT  # the current child's latest report
        self._written_before = 0  # by children that have exited
        self._dropped_before = 0
        self._batches_before = 0
        self._last_problem: str | None = None  # of the last child; "error" when it died
        self._usage: tuple[str, dict[str, dict[str, int]]] = ("", {})
        self._flushes: dict[int, list[object]] = {}  # id → [Event, ok]
        self._ids = itertools.count(1)
        self._children = 0
        self._restart_at = 0.0
        self._shipper: threading.Thread | None = None

    # -- the proxy's side --------------------------------------------------------------------

    @property
    def retention_days(self) -> int | None:
        return self._retention

    @retention_days.setter
    def retention_days(self, days: int | None) -> None:
        self._retention = days  # a policy reload; the shipping thread tells the child

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
        pending, held, written, dropped, batches, problem, *_ = self._report
        return WriterStats(
            pending=len(self._queue) + pending,
            held=held,
            written=self._written_before + written,
            dropped=self._dropped_here + self._dropped_before + dropped,
            batches=self._batches_before + batches,
            problem=problem if self._proc is not None else self._last_problem,
        )

    def minutes_today(self, profile: str) -> dict[str, int]:
        """Active minutes per category today, as of the child's last write (no I/O)."""
        day, usage = self._usage
        if day != self.clock().date().isoformat():
            return {}
        return usage.get(profile, {})

    def start(self) -> None:
        """Start the child and the shipping thread. WriterUnavailable if the child cannot be
        started at all (the caller may fall back to a writer thread)."""
        if self._shipper is not None:
            return
        with self._lock:
            self._spawn()
        self._shipper = threading.Thread(
            target=self._ship_loop, name="vaccine-log-ship", daemon=True
        )
        self._shipper.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything submitted so far, now. True when it is in the database."""
        if self._shipper is None or self._closed:
            return False
        deadline = time.monotonic() + timeout
        done = threading.Event()
        with self._lock:
            if self._proc is None:
                return False
            fid = next(self._ids)
            self._flushes[fid] = [done, False]
            sent = self._ship(deadline)
            self._forward_drops(deadline)
            if not sent or not self._send(("f", fid, timeout), wait=True, deadline=deadline):
                self._flushes.pop(fid, None)
                return False
        done.wait(max(0.0, deadline - time.monotonic()))
        entry = self._flushes.pop(fid, None)
        return done.is_set() and entry is not None and bool(entry[1])

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then stop the child. Idempotent. Blocks up to `timeout`."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        self._closed = True
        self._stop.set()
        if self._shipper is not None:
            self._shipper.join()
        with self._lock:
            proc = self._proc
            if proc is not None:
                self._ship(deadline)
                self._forward_drops(deadline)
                os.close(self._fd)  # the end of its input: the child writes and exits
                self._fd = -1
        if proc is not None:
            try:
                proc.wait(max(0.5, deadline - time.monotonic()) + 1.0)
            except subprocess.TimeoutExpired:
                log.error("decision log %s: the writer did not finish in time", self.path)
                proc.kill()
                proc.wait()
            self._reader.join(5.0)
            with self._lock:
                self._child_gone(proc, expected=True)
        left = len(self._queue)
        self._queue.clear()
        if left:
            self._drop(left, "closed", "records could not be sent to the writer; they are dropped")
        unsent = self._dropped_here - self._forwarded
        if unsent > 0:
            self._forwarded += unsent
            add_dropped_in_file(self.path, unsent, 1.0)

    def __enter__(self) -> WriterProcess:
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
            self._dropped_here += n
            if kind in self._reported:
                return
            self._reported.add(kind)
        log.error("decision log %s: %s (counted as dropped)", self.path, message)

    def _spawn(self) -> None:
        """Start a child (under the lock). WriterUnavailable if it cannot be started."""
        r_in, w_in = os.pipe()
        r_out, w_out = os.pipe()
        cmd = [self.python, "-m", "vaccine.proxy.store.child", "--db", str(self.path),
               "--report-fd", str(w_out), "--flush-interval", str(self.flush_interval),
               "--max-pending", str(self.max_pending)]  # fmt: skip
        if self._retention is not None:
            cmd += ["--retention-days", str(self._retention)]
        self._retention_sent = self._retention
        try:
            proc = subprocess.Popen(
                cmd, stdin=r_in, stdout=subprocess.DEVNULL, pass_fds=(w_out,), close_fds=True
            )
        except OSError as e:
            for fd in (r_in, w_in, r_out, w_out):
                os.close(fd)
            raise WriterUnavailable(type(e).__name__) from None
        os.close(r_in)
        os.close(w_out)
        with contextlib.suppress(OSError):  # a bigger pipe where the kernel allows it
            fcntl.fcntl(w_in, _F_SETPIPE_SZ, _PIPE_SIZE)
        os.set_blocking(w_in, False)
        self._proc, self._fd, self._unsent = proc, w_in, b""
        self._shipped, self._report = 0, _NO_REPORT
        self._children += 1
        self._reader = threading.Thread(
            target=self._read_reports, args=(proc, r_out), name="vaccine-log-reports", daemon=True
        )
        self._reader.start()

    def _read_reports(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        reader = FrameReader(fd)
        try:
            while True:
                message = reader.read()
                if message[0] == "s":
                    self._report = tuple(message[1:])
                    self._usage = (message[8], message[9])
                elif message[0] == "f":
                    entry = self._flushes.get(message[1])
                    if entry is not None:
                        entry[1] = message[2]
                        entry[0].set()  # type: ignore[attr-defined]
                elif message[0] == "bye":
                    break
        except (EOFError, BrokenStream, OSError):
            pass
        finally:
            os.close(fd)
        if not self._closed:
            proc.wait()
            with self._lock:
                self._child_gone(proc, expected=False)

    def _child_gone(self, proc: subprocess.Popen[bytes], *, expected: bool) -> None:
        """Under the lock: fold a child's counters into ours; if it died, count what it may
        not have written and plan a restart."""
        if self._proc is not proc:
            return
        _, _, written, dropped, batches, problem, *_ = self._report
        self._written_before += written
        self._dropped_before += dropped
        self._batches_before += batches
        self._last_problem = problem
        self._report = _NO_REPORT
        self._proc = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        for entry in self._flushes.values():
            entry[0].set()  # type: ignore[attr-defined]  # answered "not written"
        if expected:
            return
        self._last_problem = "error"
        lost = max(0, self._shipped - written)
        with self._drop_lock:
            self._dropped_here += lost
        pause = _RESTART_PAUSE[min(self._children - 1, len(_RESTART_PAUSE) - 1)]
        self._restart_at = time.monotonic() + pause
        log.error(
            "decision log %s: the writer process stopped (exit status %s); starting it again, "
            "%d records it may not have written are counted as dropped",
            self.path,
            proc.returncode,
            lost,
        )

    # -- shipping ----------------------------------------------------------------------------

    def _ship_loop(self) -> None:
        while not self._stop.wait(SHIP_EVERY):
            with self._lock:
                if self._proc is None:
                    if self._closed or time.monotonic() < self._restart_at:
                        continue
                    try:
                        self._spawn()
                    except WriterUnavailable:
                        self._restart_at = time.monotonic() + _RESTART_PAUSE[-1]
                        continue
                self._ship(None)
                self._forward_drops(None)
                days = self._retention
                if days != self._retention_sent and self._send(("t", days), wait=False):
                    self._retention_sent = days

    def _ship(self, deadline: float | None) -> bool:
        """Under the lock: send what is queued, a frame of up to BATCH records at a time.
        Without a deadline, stop when the pipe is full (records wait in the queue); with one,
        wait for room until then. True when everything queued was sent."""
        q = self._queue
        while True:
            if self._unsent and not self._write(deadline):
                return False
            n = min(len(q), BATCH)
            if n == 0:
                return True
            batch = [tuple(q.popleft()) for _ in range(n)]
            self._unsent = encode(("r", batch))
            self._shipped += n

    def _forward_drops(self, deadline: float | None) -> None:
        n = self._dropped_here - self._forwarded
        if n > 0 and self._send(("d", n), wait=deadline is not None, deadline=deadline):
            self._forwarded += n

    def _send(self, message: object, *, wait: bool, deadline: float | None = None) -> bool:
        """Under the lock: queue one control frame behind what is unsent and try to send it."""
        if self._proc is None:
            return False
        if self._unsent and not self._write(deadline if wait else None):
            return False
        self._unsent = encode(message)
        return self._write(deadline if wait else None) or not wait

    def _write(self, deadline: float | None) -> bool:
        """Under the lock: write `_unsent`; True when all of it went."""
        while self._unsent:
            if self._fd < 0:
                return False
            try:
                sent = os.write(self._fd, self._unsent)
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    return False
                select.select([], [self._fd], [], min(0.1, deadline - time.monotonic()))
                continue
            except OSError:  # the child is gone; the report reader notices and restarts it
                return False
            self._unsent = self._unsent[sent:]
        return True
