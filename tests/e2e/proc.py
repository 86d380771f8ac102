"""A proxy process whose output the test reads line by line, to synchronise on what it says.

Readiness and reloads are known from the process's own lines ("vaccine: proxy running on",
"vaccine: reloaded"), read by one thread per stream into a shared list; waiting is a condition
variable with a deadline, never a sleep.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0


class ProxyProcess:
    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path):
        self.argv = list(argv)
        self.lines: list[tuple[str, str]] = []  # (stream, line) in arrival order
        self._cond = threading.Condition()
        self._open_streams = 2
        self.proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=("stdout", self.proc.stdout), daemon=True),
            threading.Thread(target=self._read, args=("stderr", self.proc.stderr), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, name: str, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                with self._cond:
                    self.lines.append((name, line.rstrip("\n")))
                    self._cond.notify_all()
        with self._cond:
            self._open_streams -= 1
            self._cond.notify_all()

    # -- reading what it said -------------------------------------------------------------

    def mark(self) -> int:
        """A position in the output; `wait_for(..., since=mark)` only looks after it."""
        with self._cond:
            return len(self.lines)

    def output(self, stream: str | None = None) -> str:
        with self._cond:
            return "\n".join(
                f"[{s}] {line}" for s, line in self.lines if stream is None or s == stream
            )

    def stderr_lines(self, since: int = 0) -> list[str]:
        with self._cond:
            return [line for s, line in self.lines[since:] if s == "stderr"]

    def wait_for(
        self,
        pattern: str,
        *,
        since: int = 0,
        stream: str | None = "stderr",
        timeout: float = START_TIMEOUT,
    ) -> tuple[int, str]:
        """Wait for a line matching the regex `pattern` (searched); return (index, line).

        Fails with everything the process said so far when the deadline passes or the process
        ends first.
        """
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = since
        with self._cond:
            while True:
                while i < len(self.lines):
                    s, line = self.lines[i]
                    if (stream is None or s == stream) and rx.search(line):
                        return i, line
                    i += 1
                if self._open_streams == 0:
                    raise AssertionError(
                        f"process ended (exit {self.proc.wait()}) before printing a line "
                        f"matching {pattern!r}; it said:\n{self.output()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no line matching {pattern!r} within {timeout:.0f} s; "
                        f"the process said:\n{self.output()}"
                    )
                self._cond.wait(left)

    # -- signals ----------------------------------------------------------------------------

    def send(self, sig: int) -> None:
        assert self.proc.poll() is None, f"process already ended:\n{self.output()}"
        os.kill(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal it (unless it already ended), reap it, close the pipes; return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            for t in self._readers:
                t.join()
            raise AssertionError(
                f"did not exit within {STOP_TIMEOUT:.0f} s of {signal.Signals(sig).name}; "
                f"killed. It said:\n{self.output()}"
            ) from None
        for t in self._readers:
            t.join()
        return code

    def wait_exit(self, timeout: float = START_TIMEOUT) -> int:
        """For a process expected to end by itself (a refused start-up)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)
            raise AssertionError(
                f"still running after {timeout:.0f} s; it said:\n{self.output()}"
            ) from None
        for t in self._readers:
            t.join()
        return code
