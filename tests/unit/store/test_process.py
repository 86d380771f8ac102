"""The log written by a child process: the same promises as the writer thread, plus the
child's own faults (killed, never started) and the proxy's (killed with its records sent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from vaccine.proxy.store import Record
from vaccine.proxy.store.frames import FrameReader, encode
from vaccine.proxy.store.process import WriterProcess, WriterUnavailable

SLOW = 3600.0  # no timer-driven commits: `flush()` and `close()` are the synchronisation
TODAY = datetime.now().strftime("%Y-%m-%d")


def rec(i: int = 0, *, profile: str = "", minute: str = "") -> Record:
    return Record(
        minute or f"{TODAY} 10:{i % 60:02d}",
        profile or ("emma", "leo", "zoe")[i % 3],
        f"site{i % 50}.example",
        ("video", "games")[i % 2],
        "allowed",
        "default",
    )


def totals(path: Path) -> tuple[int, int]:
    with Database(path) as db:
        n = db.execute("SELECT coalesce(sum(count), 0) FROM decisions").fetchone()[0]
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    return n, int(meta["dropped_records"])


def until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., WriterProcess]]:
    made: list[WriterProcess] = []

    def make(**kw: object) -> WriterProcess:
        kw.setdefault("flush_interval", SLOW)
        w = WriterProcess(tmp_path / "log.db", **kw)  # type: ignore[arg-type]
        made.append(w)
        return w

    yield make
    for w in made:
        w.close(timeout=5)


def child_pid(w: WriterProcess) -> int:
    proc = w._proc  # the test needs the child to fault it
    assert proc is not None
    return proc.pid


def test_frames_round_trip(tmp_path: Path) -> None:
    r, wfd = os.pipe()
    messages = [("r", [tuple(rec(i)) for i in range(300)]), ("f", 1, 2.0), ("bye",)]
    data = b"".join(encode(m) for m in messages)
    for i in range(0, len(data), 7):  # frames split anywhere arrive whole
        os.write(wfd, data[i : i + 7])
    os.close(wfd)
    reader = FrameReader(r)
    got = [reader.read() for _ in messages]
    with pytest.raises(EOFError):
        reader.read()
    os.close(r)
    assert got[0][1][5] == tuple(rec(5)) and got[1:] == [("f", 1, 2.0), ("bye",)]


def test_submitted_records_are_written_and_usage_comes_back(
    make: Callable[..., WriterProcess],
) -> None:
    w = make()
    w.start()
    for i in range(5000):
        w.submit(rec(i, profile="emma"))
    assert w.flush(10)
    assert totals(w.path) == (5000, 0)
    s = w.stats()
    assert (s.written, s.dropped, s.pending, s.problem) == (5000, 0, 0, None)
    # active minutes for daily limits: one per minute seen, per category
    until(lambda: w.minutes_today("emma"))
    assert w.minutes_today("emma") == {"video": 30, "games": 30}
    assert w.minutes_today("nobody") == {}


def test_close_writes_everything_without_a_flush(make: Callable[..., WriterProcess]) -> None:
    w = make()
    w.start()
    for i in range(20_000):
        w.submit(rec(i))
    w.close()
    assert totals(w.path) == (20_000, 0)
    assert w.stats().written == 20_000
    assert w._proc is None  # the child has exited


def test_a_full_queue_and_a_closed_writer_count_what_they_drop(
    make: Callable[..., WriterProcess], caplog: pytest.LogCaptureFixture
) -> None:
    w = make(max_pending=100)
    w.start()
    with w._lock:  # nothing is shipped while the test fills the queue
        for i in range(150):
            w.submit(rec(i))
    assert w.flush(10)
    assert totals(w.path) == (100, 50)
    w.close()
    w.submit(rec())  # counted, never written: submit does no I/O (and the child is gone)
    assert w.stats().dropped == 51
    assert totals(w.path) == (100, 50)
    assert caplog.text.count("more than 100 records wait") == 1


def test_the_proxy_killed_its_sent_records_are_still_written(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    script = textwrap.dedent(f"""
        import os, signal, time
        from vaccine.proxy.store import Record
        from vaccine.proxy.store.process import WriterProcess
        w = WriterProcess({str(db)!r}, flush_interval=3600.0)
        w.start()
        assert w.flush(10)
        for i in range(3000):
            w.submit(Record("{TODAY} 10:00", "emma", "site%d.example" % (i % 9), "video",
                            "allowed", "default"))
        while w.stats().pending:  # sent, not yet written (no commit for an hour)
            time.sleep(0.01)
        print(w._proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout)
    until(lambda: not os.path.exists(f"/proc/{child}") or _zombie(child))
    assert totals(db) == (3000, 0)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_a_killed_child_is_started_again_and_its_loss_counted(
    make: Callable[..., WriterProcess], caplog: pytest.LogCaptureFixture
) -> None:
    w = make()
    w.start()
    for i in range(300):
        w.submit(rec(i))
    assert w.flush(10)
    first = child_pid(w)
    with w._lock:  # queued for the child, then the child dies before writing them
        for i in range(40):
            w.submit(rec(i))
        w._ship(None)
        os.kill(first, signal.SIGKILL)
    until(lambda: w._proc is not None and w._proc.pid != first)
    for i in range(200):
        w.submit(rec(i))
    until(lambda: w.flush(2))
    w.close()
    written, dropped = totals(w.path)
    assert (written, dropped) == (500, 40)
    assert w.stats().written == 500 and w.stats().dropped == 40
    assert "the writer process stopped" in caplog.text


def test_ctrl_c_reaching_the_child_does_not_lose_records(
    make: Callable[..., WriterProcess],
) -> None:
    # A terminal's Ctrl-C (and a service manager's SIGTERM) reaches the whole process group.
    w = make()
    w.start()
    assert w.flush(10)
    os.kill(child_pid(w), signal.SIGINT)
    os.kill(child_pid(w), signal.SIGTERM)
    for i in range(1000):
        w.submit(rec(i))
    w.close()
    assert totals(w.path) == (1000, 0)


def test_a_retention_change_reaches_the_child(make: Callable[..., WriterProcess]) -> None:
    w = make(retention_days=100_000)
    w.start()
    old = rec(minute="2020-01-01 10:00")
    w.submit(old)
    w.submit(rec(1))
    assert w.flush(10)
    assert totals(w.path) == (2, 0)
    w.retention_days = 30  # a policy reload; the next day's purge uses it
    until(lambda: w._retention_sent == 30)
    w.close()
    # a new child (a restart of the proxy) purges on its first write; the old row is gone
    w2 = WriterProcess(w.path, flush_interval=SLOW, retention_days=w.retention_days)
    w2.start()
    w2.submit(rec(2))
    assert w2.flush(10)
    until(lambda: totals(w.path)[0] == 2, 10)
    w2.close()


def test_a_writer_that_cannot_start_says_so(tmp_path: Path) -> None:
    w = WriterProcess(tmp_path / "log.db", python=str(tmp_path / "no-python"))
    with pytest.raises(WriterUnavailable):
        w.start()


def test_the_child_speaks_privately(
    make: Callable[..., WriterProcess], capfd: pytest.CaptureFixture[str]
) -> None:
    # The child's lines go to the proxy's stderr in the console's form; a moved log is one.
    w = make()
    w.start()
    w.submit(rec(1))
    assert w.flush(10)
    os.rename(w.path, w.path.with_suffix(".old"))
    w.submit(rec(2))
    assert w.flush(10)
    w.close()
    err = capfd.readouterr().err
    assert "vaccine: decision log" in err and "deleted, moved or replaced" in err
    assert "site" not in err.replace(str(w.path), "")
