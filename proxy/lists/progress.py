"""Progress a person can watch: a bar on a terminal, a plain line every few seconds in a log.

One `Progress` per command. `step(label, total, unit)` starts a stage (bytes of a download,
then entries compiled); `advance(done)` moves it; `finish()` ends the bar's line. On a
terminal the bar is redrawn at most ten times a second; elsewhere (a service's journal, a
pipe) a plain line is written every `interval` seconds while a stage lasts (a quick stage
writes none: its result line says it all).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

_BAR = 24


def amount(n: float, unit: str) -> str:
    if unit == "bytes":
        return f"{n / 2**20:.1f} MiB"
    return f"{int(n):,} {unit}"


class Progress:
    def __init__(
        self,
        out: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.interval = interval if not self.tty else 0.1
        self.clock = clock
        self.label = ""
        self.total: int | None = None
        self.unit = "bytes"
        self.done = 0
        self.note = ""  # shown after the amount: "1,234,567 entries"
        self._last = 0.0
        self._drawn = False

    def step(self, label: str, total: int | None = None, unit: str = "bytes") -> None:
        self.finish()
        self.label, self.total, self.unit, self.done, self.note = label, total, unit, 0, ""
        self._last = self.clock()

    def advance(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done, self.note = done, note
        if total is not None:
            self.total = total
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            self._bar()
        else:
            self._line()

    def finish(self) -> None:
        """End the bar's line, so the next message starts on a line of its own."""
        if self._drawn:
            self._bar()
            self.out.write("\n")
            self.out.flush()
            self._drawn = False

    def _text(self) -> str:
        text = amount(self.done, self.unit)
        if self.total:
            share = min(self.done / self.total, 1.0)
            text += f" of {amount(self.total, self.unit)} ({share:.0%})"
        return f"{text}, {self.note}" if self.note else text

    def _line(self) -> None:
        self.out.write(f"{self.label}: {self._text()}\n")
        self.out.flush()

    def _bar(self) -> None:
        if self.total:
            full = round(_BAR * min(self.done / self.total, 1.0))
            bar = "#" * full + "-" * (_BAR - full)
        else:  # no size announced: a bar would lie, the amount alone does not
            bar = "." * (int(self.done / 2**20) % _BAR + 1) if self.unit == "bytes" else ""
        self.out.write(f"\r\x1b[K{self.label} [{bar:<{_BAR}}] {self._text()}")
        self.out.flush()
        self._drawn = True
