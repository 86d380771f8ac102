"""Progress: a bar redrawn in place on a terminal, plain lines every few seconds elsewhere."""

from __future__ import annotations

import io

from vaccine.proxy.lists.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_terminal_gets_one_bar_redrawn_in_place() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(out, tty=True, clock=clock)
    p.step("ut1", 4 << 20)
    for done in (1 << 20, 2 << 20, 4 << 20):
        clock.now += 1
        p.advance(done)
    p.finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert last == "\x1b[Kut1 [########################] 4.0 MiB of 4.0 MiB (100%)"
    assert "[######------------------] 1.0 MiB of 4.0 MiB (25%)" in text


def test_a_log_gets_plain_lines_at_most_every_interval() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(out, tty=False, interval=5, clock=clock)
    p.step("compiling", 10, unit="files")
    for i in range(1, 11):
        clock.now += 1
        p.advance(i, note=f"{i * 1000:,} entries")
    p.finish()
    assert out.getvalue().splitlines() == [
        "compiling: 5 files of 10 files (50%), 5,000 entries",
        "compiling: 10 files of 10 files (100%), 10,000 entries",
    ]


def test_a_quick_step_writes_nothing_in_a_log() -> None:
    out = io.StringIO()
    p = Progress(out, tty=False, interval=5, clock=Clock())
    p.step("bad")
    p.advance(100)
    p.finish()
    assert out.getvalue() == ""
