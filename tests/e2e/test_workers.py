"""`vaccine run --workers 2`: two proxy processes on one port, the kernel spreading the
connections; edits reach both, every decision is logged once, SIGTERM stops all of them."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import logdb
from .harness import E2E, RunningProxy, wait_until
from .household import Household

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)"),
]

KID = (
    "name: Kid\ndevices:\n  - address: 127.0.0.1\n"
    "block:\n  categories: [adult]\n  domains: [blocked.test]\n"
)


def household(root: Path) -> Household:
    hh = Household(root)
    hh.write_settings()
    hh.write_list("adult", ["adult.test"])
    hh.write_profile("kid", KID)
    hh.write_profile("guest", "name: Guest\n")
    return hh


def pids(port: int, state: str) -> list[int]:
    """The processes holding sockets on `port` in `state` (listening, or accepted)."""
    query = ["-Htlnp"] if state == "listening" else ["-Htnp", "state", "established"]
    out = subprocess.run(
        ["ss", *query, f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return sorted(int(p) for p in re.findall(r"pid=(\d+)", out))


@pytest.fixture
def two(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = household(tmp_path_factory.mktemp("workers"))
    with e2e.vaccine(hh, extra=["--workers", "2"]) as proxy:
        proxy.process.wait_for(r"\(worker 1 of 2\)$")
        proxy.process.wait_for(r"\(worker 2 of 2\)$")
        yield proxy


def status(proxy: RunningProxy, host: str) -> int:
    return proxy.client().get(f"http://{host}/").status  # a new connection each time


def test_two_processes_share_the_port_and_both_get_connections(two: RunningProxy) -> None:
    listening = pids(two.port, "listening")
    assert len(set(listening)) == 2 and two.process.proc.pid not in listening
    held = [socket.create_connection(("127.0.0.1", two.port)) for _ in range(24)]
    try:
        # which worker accepted each: with 24 connections, all on one would be a 1 in 8 M chance
        accepted = wait_until(lambda: len(pids(two.port, "established")) >= 24 and
                              set(pids(two.port, "established")), what="24 accepted")  # fmt: skip
        assert accepted == set(listening)
    finally:
        for s in held:
            s.close()


def test_every_decision_is_logged_once(two: RunningProxy) -> None:
    hh = two.household
    assert hh is not None
    answers = [status(two, h) for h in ["blocked.test", "ok.test", "adult.test"] * 20]
    assert answers == [403, 200, 403] * 20
    total = "SELECT coalesce(sum(count), 0) FROM decisions"
    wait_until(lambda: logdb.rows(hh.db, total)[0][0] >= 60, what="60 records")
    assert logdb.rows(hh.db, total)[0][0] == 60


def test_an_edit_reaches_every_worker(two: RunningProxy) -> None:
    hh = two.household
    assert hh is not None
    assert status(two, "later.test") == 200
    hh.write_profile("kid", KID.replace("[blocked.test]", "[blocked.test, later.test]"))

    def both_block() -> bool:
        # 16 new connections in a row refused: both workers have the edit (else 1 in 65,536)
        return all(status(two, "later.test") == 403 for _ in range(16))

    wait_until(both_block, timeout=15, what="both workers reloaded")


def test_a_worker_that_dies_is_started_again(two: RunningProxy) -> None:
    first = pids(two.port, "listening")
    mark = two.process.mark()
    os.kill(first[0], signal.SIGKILL)
    two.process.wait_for(r"worker \d of 2 stopped .*starting it again", since=mark)

    def two_again() -> list[int]:
        now = pids(two.port, "listening")
        return now if len(set(now)) == 2 else []

    again = wait_until(two_again, timeout=20, what="two workers again")
    assert first[0] not in again
    assert status(two, "blocked.test") == 403


def test_sigterm_stops_every_worker(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> None:
    hh = household(tmp_path_factory.mktemp("workers-stop"))
    with e2e.vaccine(hh, extra=["--workers", "2"]) as proxy:
        proxy.process.wait_for(r"\(worker 2 of 2\)$")
        proxy.process.wait_for(r"\(worker 1 of 2\)$")
        workers = pids(proxy.port, "listening")
        writers = [int(c) for w in workers for c in children(w)]
        assert len(workers) == 2 and len(writers) == 2  # each worker's log writer
    # the context manager sent SIGTERM and checked the exit status 0
    for pid in workers + writers:
        assert not os.path.exists(f"/proc/{pid}") or _zombie(pid), f"{pid} still runs"


def children(pid: int) -> list[str]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return f.read().split()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].startswith("Z")
    except OSError:
        return True


def test_a_worker_that_cannot_start_stops_them_all(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hh = Household(tmp_path_factory.mktemp("workers-busy"))
    hh.write_settings()
    hh.write_profile("guest", "name: Guest\n")
    with socket.socket() as busy:  # another program holds the port, without SO_REUSEPORT
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process, _ = e2e.spawn_vaccine(hh, port=busy.getsockname()[1], extra=["--workers", "2"])
        assert process.proc.wait(30) == 1
    assert "could not start; stopping the others" in process.output()


@pytest.mark.parametrize("n", ["0", "-2"])
def test_workers_must_be_one_or_more(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, n: str
) -> None:
    hh = Household(tmp_path_factory.mktemp("workers-n"))
    hh.write_settings()
    hh.write_profile("guest", "name: Guest\n")
    process, _ = e2e.spawn_vaccine(hh, extra=["--workers", n])
    assert process.proc.wait(30) == 1
    assert "--workers wants a number of processes, 1 or more" in process.output()
