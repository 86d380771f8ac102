"""Starting and stopping `vaccine run`: signals end it cleanly, broken files stop it starting."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from .client import Client, open_socket
from .harness import E2E, READY
from .household import Household

pytestmark = pytest.mark.e2e


def good_household(hh: Household) -> None:
    hh.write_settings()
    hh.write_profile(
        "kid", "name: Kid\ndevices:\n  - address: 127.0.0.1\nblock:\n  domains: [blocked.test]\n"
    )
    hh.write_profile("guest", "name: Guest\n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_it_with_exit_0(e2e: E2E, tmp_path: Path, sig: int) -> None:
    hh = Household(tmp_path)
    good_household(hh)
    process, port = e2e.spawn_vaccine(hh)
    try:
        process.wait_for(READY)
        assert Client(port, e2e.issuers).get("http://blocked.test/").status == 403
    finally:
        code = process.stop(sig)
    assert code == 0, process.output()
    with pytest.raises(ConnectionRefusedError):
        open_socket(port).close()


BROKEN_AT_START = [
    pytest.param(
        "kid.yaml",
        "name: Kid\ndevices:\n  - address: 127.0.0.1\nblok:\n  domains: [blocked.test]\n",
        4,
        id="unknown-key",
    ),
    pytest.param(
        "kid.yaml",
        "name: Kid\ndevices:\n\t- address: 127.0.0.1\n",
        3,
        id="yaml-syntax-error",
    ),
    pytest.param(
        "kid.yaml",
        "name: Kid\ndevices:\n  - address: 127.0.0.1\ninspect: sometimes\n",
        4,
        id="bad-choice",
    ),
    pytest.param(
        "kid.yaml",
        "name: Kid\ndevices:\n  - address: 127.0.0.300\n",
        3,
        id="bad-address",
    ),
    pytest.param(
        "settings.yaml", "unknown_devices: guest\nlissen: 0.0.0.0:8080\n", 2, id="settings"
    ),
]


@pytest.mark.parametrize(("name", "content", "line"), BROKEN_AT_START)
def test_broken_file_at_start_up_exits_1_with_file_and_line(
    e2e: E2E, tmp_path: Path, name: str, content: str, line: int
) -> None:
    hh = Household(tmp_path)
    good_household(hh)
    hh.write(hh.policies / name, content)
    process, _ = e2e.spawn_vaccine(hh)
    code = process.wait_exit()
    err = process.stderr_lines()
    assert code == 1, process.output()
    assert any(f"{name}:{line}: " in e for e in err), process.output()
    assert not any(line_.startswith("vaccine: proxy running on ") for line_ in err), (
        process.output()
    )
    assert "Traceback" not in process.output()


def _corrupt(db: Path) -> None:
    db.write_bytes(b"this is not a SQLite database\n" * 200)


@pytest.mark.parametrize("damage", ["corrupt", "locked"])
def test_a_broken_database_never_stops_filtering(e2e: E2E, tmp_path: Path, damage: str) -> None:
    hh = Household(tmp_path)
    good_household(hh)
    lock = None
    if damage == "corrupt":
        _corrupt(hh.db)
    else:
        lock = sqlite3.connect(hh.db, isolation_level=None)
        lock.execute("CREATE TABLE someone_elses (x)")
        lock.execute("BEGIN EXCLUSIVE")
    try:
        with e2e.vaccine(hh) as proxy:
            client = proxy.client()
            assert client.get("http://blocked.test/").status == 403
            assert client.get("http://allowed.test/").status == 200
            # Filtering goes on; the problem is reported, naming the database.
            proxy.process.wait_for(r"(?i)database|vaccine\.db", timeout=10)
    finally:
        if lock is not None:
            lock.close()
