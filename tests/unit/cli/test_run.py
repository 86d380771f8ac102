"""`vaccine run`'s start-up path (proxy.cli.run) and the worker count (proxy.cli.workers)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaccine.proxy.cli import workers

# Everything `vaccine run` imports up to listening, then the log's writer started and ready.
PROXY_START = """
import sys
from pathlib import Path
import mitmproxy.tools.dump
import vaccine.proxy.addons, vaccine.proxy.addons.fetcher, vaccine.proxy.console
import vaccine.proxy.newdevices, vaccine.proxy.startup
from vaccine.proxy.cli import run
journal = run.start_journal(Path(sys.argv[1]), None)
ok = journal.flush(60)
journal.close()
print(ok, type(journal).__name__, "sqlite_utils" in sys.modules)
"""


def test_the_proxy_leaves_sqlite_utils_to_its_writer_process(tmp_path: Path) -> None:
    """sqlite-utils costs ~40 ms of start-up; only the writer process needs it."""
    db = tmp_path / "log" / "vaccine.db"
    done = subprocess.run(
        [sys.executable, "-c", PROXY_START, str(db)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "WriterProcess", "False"]
    assert db.is_file()  # made (and migrated) by the writer process


@pytest.mark.parametrize(
    ("affinity", "cpu_count", "expected"),
    [
        ({0, 1, 2, 3}, 8, 4),  # taskset / a cpuset: the cores we may use, not the machine's
        ({5}, 8, 1),
        (None, 6, 6),  # no affinity call (not Linux): the machine's count
        (None, None, 1),
    ],
)
def test_the_default_is_one_worker_per_usable_core(
    monkeypatch: pytest.MonkeyPatch,
    affinity: set[int] | None,
    cpu_count: int | None,
    expected: int,
) -> None:
    if affinity is None:
        monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    else:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: affinity)
    monkeypatch.setattr(os, "cpu_count", lambda: cpu_count)
    assert workers.default_count() == expected
