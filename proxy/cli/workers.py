"""`vaccine run --workers N`: N proxy processes on the same ports, the kernel spreading the
connections among them (SO_REUSEPORT), so a gateway's every core filters.

Each worker is a whole proxy (its own household, its own log writer): SO_REUSEPORT keeps each
client's real address, which identification needs (a front process relaying connections would
hide it). Workers are forked from this process, not started as new interpreters: the first
one as soon as the household is loaded (it then starts as one process would), the others once
it listens and this process has imported mitmproxy, so they skip Python's start, the imports
and the household load (~0.7 s). A worker started again after one died loads the policies
afresh (the last good ones if they are broken now). What the workers share lives in files, as
for one process:

- policies and lists: each worker watches them (and a SIGHUP here reaches every worker);
- approvals: each worker polls the decision log's request table;
- daily limits: each worker's writer reads the minutes every worker wrote;
- the decision log: every worker's writer adds its own records to the one SQLite file
  (counts are added, never overwritten: nothing is lost or counted twice).

Only TCP listeners are shared this way: the UDP-based modes (dns, wireguard) run in the first
worker only. The supervisor (this process) forwards SIGTERM, SIGINT and SIGHUP, starts a
worker again if one dies, and stops all of them when one fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import NoReturn

from vaccine.proxy.util.worker import READY_FD_ENV, WORKER_ENV

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def default_count() -> int:
    """One worker per core this process may run on: its CPU affinity (`taskset`, a cgroup's
    cpuset, systemd's `CPUAffinity=`), not the machine's count, which would start workers
    that only wait for each other's core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def modes_for(index: int, modes: list[str]) -> list[str]:
    """The first worker runs every mode; the others only the TCP listeners (a UDP socket
    cannot be shared this way by mitmproxy's UDP servers, and DNS or WireGuard need no more
    than one core)."""
    from mitmproxy.proxy.mode_specs import ProxyMode

    if index == 0:
        return modes
    return [m for m in modes if ProxyMode.parse(m).transport_protocol == "tcp"]


def share_ports() -> None:
    """Every listening socket mitmproxy opens in this process gets SO_REUSEPORT."""
    import asyncio
    import functools

    from mitmproxy.proxy import mode_servers

    if getattr(mode_servers.asyncio, "_vaccine_reuse_port", False):
        return
    shim = type(sys)("asyncio_reuse_port")
    shim.__dict__.update(asyncio.__dict__)
    shim.start_server = functools.partial(asyncio.start_server, reuse_port=True)  # type: ignore[attr-defined]
    shim._vaccine_reuse_port = True  # type: ignore[attr-defined]
    mode_servers.asyncio = shim  # type: ignore[attr-defined]


class Worker:
    """A forked worker, with the part of `subprocess.Popen`'s interface the supervisor uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def supervise(
    count: int,
    grace: float,
    serve: Callable[[int, bool], int],
    before_the_others: Callable[[], None] = lambda: None,
) -> int:
    """Run `count` workers until a signal stops them; the exit status. Each worker is a fork
    of this process running `serve(index, restarted)`, whose result is its exit status; the
    first one starts alone, `before_the_others` runs once it listens, then the others start."""
    stopping: list[int] = []
    ready: list[int] = []  # per worker: the read end of its "listening" pipe, -1 once heard

    def start(index: int, restarted: bool = False) -> Worker:
        r, w = os.pipe()
        os.set_blocking(r, False)
        if index < len(ready):
            _close(ready[index])
            ready[index] = r
        else:
            ready.append(r)
        for stream in (sys.stdout, sys.stderr):  # or the child would print it a second time
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _worker_process(index, count, w, [fd for fd in ready if fd >= 0], serve, restarted)
        os.close(w)
        return Worker(pid)

    procs: list[Worker] = []
    stopped: set[int] = set()  # the workers told to stop

    def forward(signum: int, _frame: object) -> None:
        if signum != signal.SIGHUP:
            stopping.append(signum)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)
                if signum != signal.SIGHUP:
                    stopped.add(p.pid)

    def started(index: int, restarted: bool = False) -> None:
        # Signals wait while a worker is forked and listed: one arriving in between would
        # not reach it (the worker unblocks them for itself).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        try:
            # A stop that came while we got here (the others are forked after importing
            # mitmproxy, ~0.5 s): no new worker, or it would never be told to stop.
            if stopping:
                return
            p = start(index, restarted)
            if index < len(procs):
                procs[index] = p
            else:
                procs.append(p)
            # A stop whose handler ran between the check and the listing (it was caught
            # before the signals were held) did not reach this one.
            if stopping and p.pid not in stopped:
                p.send_signal(stopping[0])
                stopped.add(p.pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    # Before any worker exists: a SIGTERM in between would end this process alone and leave
    # the worker running in its own process group.
    for s in _FORWARDED:
        signal.signal(s, forward)
    # The first worker alone first: it has the cores to itself to start (its first answer is
    # the proxy's), its log writer creates or migrates the log before any other writer opens
    # it (two at once on a new log: one fails), and a start that fails (a busy port) fails
    # once, in one line. The others follow when it listens.
    started(0)
    status = 0
    try:
        while True:
            if stopping:
                deadline = time.monotonic() + grace + 20.0
                for p in procs:
                    try:
                        p.wait(max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(5.0)
                        status = 1
                return status or max((p.returncode or 0 for p in procs), default=0)
            for i, p in enumerate(procs):
                if ready[i] >= 0 and _heard(ready[i]):
                    _close(ready[i])
                    ready[i] = -1
                code = p.poll()
                if code is None or stopping:
                    continue
                if ready[i] >= 0:  # it never listened: a busy port, a bad option (it said why)
                    if len(procs) > 1:
                        print(
                            f"vaccine: worker {i + 1} of {count} could not start; "
                            "stopping the others",
                            file=sys.stderr,
                        )
                    forward(signal.SIGTERM, None)
                    status = code if code > 0 else 1
                    break
                print(
                    f"vaccine: worker {i + 1} of {count} stopped (exit status {code}); "
                    "starting it again",
                    file=sys.stderr,
                )
                started(i, restarted=True)
            if len(procs) < count and not stopping and ready[0] < 0:
                before_the_others()
                for i in range(len(procs), count):
                    started(i)
            time.sleep(0.1)
    finally:
        for fd in ready:
            _close(fd)


def _worker_process(
    index: int,
    count: int,
    ready_fd: int,
    inherited: list[int],
    serve: Callable[[int, bool], int],
    restarted: bool,
) -> NoReturn:
    """In the forked child: become worker `index`, serve, exit; never back into the loop."""
    code = 1
    try:
        for fd in inherited:  # the other workers' "listening" pipes are the supervisor's
            _close(fd)
        # Its own process group: a terminal's Ctrl-C reaches the supervisor only, which
        # passes it on once (a second SIGINT would make a worker stop without its grace).
        os.setpgid(0, 0)
        for s in _FORWARDED:
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
        os.environ[WORKER_ENV] = f"{index}/{count}"
        os.environ[READY_FD_ENV] = str(ready_fd)
        code = serve(index, restarted)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _heard(fd: int) -> bool:
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False
    except OSError:
        return True


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
