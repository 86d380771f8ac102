"""`vaccine run --workers 2`: two proxy processes on one port, the kernel spreading the
connections; edits, parents' approvals and used-up daily limits reach both, every decision is
logged once, SIGTERM stops all of them. Without `--workers`: one worker per usable core."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import logdb
from .client import open_socket, read_response
from .harness import E2E, RunningProxy, free_port, wait_until
from .household import Household
from .proc import ProxyProcess

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)"),
]

KID = (
    "name: Kid\ndevices:\n  - address: 127.0.0.1\n"
    "block:\n  categories: [adult, chat]\n  domains: [blocked.test]\n"
    "limits:\n  games: 1m\n"
)


def household(root: Path) -> Household:
    hh = Household(root)
    hh.write_settings()
    hh.write_list("adult", ["adult.test"])
    hh.write_list("chat", ["chat.test"])
    hh.write_list("games", ["games.test"])
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


def every_worker(proxy: RunningProxy, host: str, wanted: int) -> bool:
    """16 new connections in a row answered `wanted`: both workers agree (else 1 in 65,536)."""
    return all(status(proxy, host) == wanted for _ in range(16))


def test_an_approval_reaches_every_worker(e2e: E2E, two: RunningProxy) -> None:
    hh = two.household
    assert hh is not None
    kid = two.client()
    sent = kid.get("http://chat.test/.well-known/digital-vaccine/ask", method="POST",
                   headers={"content-type": "application/x-www-form-urlencoded"},
                   body=b"message=homework")  # fmt: skip
    assert sent.status == 200 and not sent.from_origin
    cli = ["--policies", str(hh.policies), "--db", str(hh.db)]
    listed = e2e.cli(hh, "requests", "list", "--json", *cli)
    assert listed.returncode == 0, listed.stderr
    (request,) = json.loads(listed.stdout)["requests"]
    assert every_worker(two, "chat.test", 403)  # not before a parent says yes
    done = e2e.cli(hh, "requests", "approve", str(request["id"]), "--for", "15m", *cli)
    assert done.returncode == 0, done.stdout + done.stderr
    wait_until(lambda: every_worker(two, "chat.test", 200), what="both workers approved")


def accepted_by(port: int, client_port: int) -> int | None:
    """The worker that accepted the connection from `client_port`, once it has."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} and dport = :{client_port} )"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = re.findall(r"pid=(\d+)", out)
    return int(found[0]) if found else None


def on_worker(port: int, pid: int, host: str) -> int:
    """The status of a GET of `host` decided by worker `pid`: new connections until the
    kernel gives one to that worker (each one has an even chance)."""
    for _ in range(64):
        with open_socket(port) as sock:
            client_port = sock.getsockname()[1]
            if wait_until(lambda p=client_port: accepted_by(port, p), what="accepted") != pid:
                continue
            sock.sendall(f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            return read_response(sock).status
    raise AssertionError(f"64 connections, none to worker {pid}")


def test_a_used_up_limit_reaches_every_worker(two: RunningProxy) -> None:
    hh = two.household
    assert hh is not None
    a, b = sorted(set(pids(two.port, "listening")))
    assert on_worker(two.port, a, "games.test") == 200  # worker a counts a minute of games
    wait_until(lambda: logdb.category_minutes(hh.db, "kid", "games") >= 1, what="the minute")

    def b_wrote(n: int) -> bool:
        return logdb.counts_by_action(hh.db, "kid").get("allowed", 0) >= n

    # Worker b's writer reads every worker's minutes after each write of its own (and while
    # idle): two writes of b's after a's minute, 0.5 s apart, leave b's proxy the report of
    # the first one's minutes.
    assert on_worker(two.port, b, "ok.test") == 200
    wait_until(lambda: b_wrote(2), what="b's first record")
    assert on_worker(two.port, b, "ok.test") == 200
    wait_until(lambda: b_wrote(3), what="b's second record")
    assert on_worker(two.port, b, "games.test") == 403  # b never saw games itself: time's up
    allowed_games = "SELECT coalesce(sum(count), 0) FROM decisions WHERE category = 'games' " \
        "AND action = 'allowed'"  # fmt: skip
    assert logdb.rows(hh.db, allowed_games)[0][0] == 1


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


def test_a_busy_port_stops_the_start_in_one_line(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hh = Household(tmp_path_factory.mktemp("workers-busy"))
    hh.write_settings()
    hh.write_profile("guest", "name: Guest\n")
    with socket.socket() as busy:  # another program holds the port, without SO_REUSEPORT
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process, _ = e2e.spawn_vaccine(hh, port=port, extra=["--workers", "2"])
        assert process.proc.wait(30) == 1
    # the first worker starts alone: the others are never started, nothing else is said
    assert process.stderr_lines() == [
        f"vaccine run: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another proxy running?); choose another with --listen HOST:PORT"
    ]


def test_a_new_log_is_made_once(two: RunningProxy) -> None:
    """Two writers creating the same new log at once: one failed with a database error."""
    assert two.household is not None and two.household.db.is_file()
    assert "decision log" not in two.process.output(), two.process.output()


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


def pinned(argv: list[str], cpus: set[int]) -> list[str]:
    """`argv` run on `cpus` only (what taskset or a service's CPUAffinity= does)."""
    pin = (
        "import os, sys; os.sched_setaffinity(0, map(int, sys.argv[1].split(',')));"
        "os.execv(sys.argv[2], sys.argv[2:])"
    )
    return [sys.executable, "-c", pin, ",".join(map(str, sorted(cpus))), *argv]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs CPU affinity (Linux)")
@pytest.mark.parametrize("cores", ["all", "one"])
def test_the_default_is_one_worker_per_usable_core(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, cores: str
) -> None:
    ours = os.sched_getaffinity(0)
    cpus = ours if cores == "all" else {min(ours)}
    hh = household(tmp_path_factory.mktemp("workers-default"))
    home = hh.root / "home"
    home.mkdir(exist_ok=True)
    port = free_port()
    argv = e2e.vaccine_argv(hh, port, workers=None)  # no --workers flag
    process = ProxyProcess(pinned(argv, cpus), e2e.env(home), hh.root)
    try:
        process.wait_for(r"^vaccine: proxy running on ")
        n = len(cpus)
        if n > 1:
            for i in range(1, n + 1):
                process.wait_for(rf"\(worker {i} of {n}\)$")
        listening = wait_until(lambda: len(set(pids(port, "listening"))) == n and
                               pids(port, "listening"), what=f"{n} listening")  # fmt: skip
        # one process alone listens itself; several are the supervisor's children
        assert (process.proc.pid in listening) == (n == 1)
        assert status(RunningProxy(e2e, process, port, hh), "blocked.test") == 403
    finally:
        code = process.stop(signal.SIGTERM)
    assert code == 0, process.output()


@pytest.fixture
def unwatched(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """Two workers that reload only on SIGHUP: what a worker decides is what it started with."""
    hh = household(tmp_path_factory.mktemp("workers-unwatched"))
    with e2e.vaccine(hh, extra=["--workers", "2", "--watch-interval", "0"]) as proxy:
        proxy.process.wait_for(r"\(worker 2 of 2\)$")
        yield proxy


def restart(proxy: RunningProxy, pid: int) -> int:
    """Kill worker `pid`; the pid of the worker started in its place, once it listens."""
    others = set(pids(proxy.port, "listening")) - {pid}
    mark = proxy.process.mark()
    os.kill(pid, signal.SIGKILL)
    proxy.process.wait_for(r"worker \d of 2 stopped .*starting it again", since=mark)

    def replaced() -> int | None:
        new = set(pids(proxy.port, "listening")) - others - {pid}
        return min(new) if new else None

    return wait_until(replaced, timeout=20, what="a new worker")


def test_a_worker_started_again_reads_the_policies_as_they_are_now(
    unwatched: RunningProxy,
) -> None:
    hh = unwatched.household
    assert hh is not None
    a, b = sorted(set(pids(unwatched.port, "listening")))
    hh.write_profile("kid", KID.replace("[blocked.test]", "[blocked.test, later.test]"))
    new_b = restart(unwatched, b)
    assert on_worker(unwatched.port, new_b, "later.test") == 403  # the edit, read at its start
    assert on_worker(unwatched.port, a, "later.test") == 200  # a has not reloaded (no SIGHUP)


def test_a_worker_started_again_while_the_policies_are_broken_keeps_the_last_good(
    unwatched: RunningProxy,
) -> None:
    hh = unwatched.household
    assert hh is not None
    a, b = sorted(set(pids(unwatched.port, "listening")))
    hh.write_profile("kid", KID + "limits: [\n")  # broken YAML
    new_b = restart(unwatched, b)
    assert on_worker(unwatched.port, new_b, "blocked.test") == 403
    assert on_worker(unwatched.port, new_b, "ok.test") == 200
    assert unwatched.process.proc.poll() is None  # nothing stopped
