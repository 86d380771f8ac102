"""`vaccine run`'s start-up path (proxy.cli.run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
