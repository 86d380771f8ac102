"""The log-writer process: `python -m vaccine.proxy.store.child --db PATH --report-fd N`.

The proxy (`process.WriterProcess`) sends batches of records on this process's standard input;
a `LogWriter` here aggregates and writes them, so none of that work, and none of the garbage
it makes, shares the proxy's interpreter lock or its collector. Reports go back on the file
descriptor `--report-fd`: the writer's counters and today's active minutes (for daily limits)
whenever they change, and the answer to each flush.

The end of the input is the only way to stop: everything received is written first. SIGINT and
SIGTERM are ignored, because a Ctrl-C or a service manager's stop reaches the whole process
group, and the proxy still has records to send when it stops. When the proxy dies (kill -9),
the input ends too, and what it had sent is written.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from vaccine.proxy.store.frames import BrokenStream, FrameReader, encode
from vaccine.proxy.store.records import Record
from vaccine.proxy.store.writer import LogWriter
from vaccine.proxy.util.exc import where

REPORT_EVERY = 0.2

log = logging.getLogger("vaccine.store")


class _Private(logging.Formatter):
    """`vaccine: message`, and an exception as its type and place only (console.py's rule)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"vaccine: {record.getMessage()}{where(record.exc_info)}"


class Reporter:
    """Writes report frames to the proxy; from the reading loop and the periodic thread."""

    def __init__(self, fd: int, engine: LogWriter) -> None:
        self.fd = fd
        self.engine = engine
        self.received = 0
        self.forwarded = 0  # drops counted in the proxy, added to this writer's count
        self._lock = threading.Lock()
        self._last: tuple[object, ...] = ()

    def state(self) -> tuple[object, ...]:
        s = self.engine.stats()
        day, usage = self.engine.usage()
        own_dropped = s.dropped - self.forwarded
        return (s.pending, s.held, s.written, own_dropped, s.batches, s.problem, self.received,
                day, usage)  # fmt: skip

    def send(self, message: object) -> None:
        data = encode(message)
        with self._lock:
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError:  # the proxy is gone; the input will end too
                pass

    def report(self, *, force: bool = False) -> None:
        state = self.state()
        if force or state != self._last:
            self._last = state
            self.send(("s", *state))

    def every(self, stop: threading.Event) -> None:
        while not stop.wait(REPORT_EVERY):
            self.report()


def serve(args: argparse.Namespace) -> int:
    engine = LogWriter(
        Path(args.db),
        max_pending=args.max_pending,
        flush_interval=args.flush_interval,
        retention_days=args.retention_days,
    )
    engine.start()
    reporter = Reporter(args.report_fd, engine)
    stop = threading.Event()
    ticker = threading.Thread(target=reporter.every, args=(stop,), daemon=True)
    ticker.start()
    reader = FrameReader(0)
    try:
        while True:
            try:
                message = reader.read()
            except EOFError:
                break
            kind = message[0]
            if kind == "r":
                # Checked when the proxy made them (Record's constructor refuses anything a
                # record may not hold); the pipe is ours alone, so only the shape is checked
                # again, at a seventh of the cost of building each one anew.
                submit, make = engine.submit, tuple.__new__
                for fields in message[1]:
                    if type(fields) is tuple and len(fields) == 8:
                        submit(make(Record, fields))
                    else:  # cannot come from the proxy; counted
                        engine.add_dropped(1)
                reporter.received += len(message[1])
            elif kind == "f":  # flush: answer once everything before it is written
                ok = engine.flush(message[2])
                reporter.report(force=True)  # first: the answer finds the counters current
                reporter.send(("f", message[1], ok))
            elif kind == "d":
                engine.add_dropped(message[1])
                reporter.forwarded += message[1]
            elif kind == "t":
                engine.retention_days = message[1]
    except BrokenStream as e:
        log.error("decision log: the proxy sent something unreadable to the writer (%s)", e)
    finally:
        engine.close(args.close_timeout)
        stop.set()
        ticker.join()
        reporter.report(force=True)
        reporter.send(("bye",))
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Private())
    root = logging.getLogger("vaccine")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    ap = argparse.ArgumentParser(prog="vaccine-log-writer")
    ap.add_argument("--db", required=True)
    ap.add_argument("--report-fd", type=int, required=True)
    ap.add_argument("--flush-interval", type=float, default=1.0)
    ap.add_argument("--max-pending", type=int, default=100_000)
    ap.add_argument("--retention-days", type=int, default=None)
    ap.add_argument("--close-timeout", type=float, default=10.0)
    return serve(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
