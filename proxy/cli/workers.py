"""`vaccine run --workers N`: N proxy processes on the same ports, the kernel spreading the
connections among them (SO_REUSEPORT), so a gateway's every core filters.

Each worker is a whole `vaccine run` (its own household, its own log writer): SO_REUSEPORT
keeps each client's real address, which identification needs (a front process relaying
connections would hide it). What the workers share lives in files, as for one process:

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
from collections.abc import Sequence

from vaccine.proxy.util.worker import READY_FD_ENV, WORKER_ENV


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


def supervise(argv: Sequence[str], count: int, grace: float) -> int:
    """Run `count` workers of `vaccine <argv>` until a signal stops them; the exit status."""
    cmd = [sys.executable, "-m", "vaccine.proxy", *argv]
    stopping: list[int] = []
    ready: list[int] = []  # per worker: the read end of its "listening" pipe, -1 once heard

    def start(index: int) -> subprocess.Popen[bytes]:
        r, w = os.pipe()
        os.set_blocking(r, False)
        env = {**os.environ, WORKER_ENV: f"{index}/{count}", READY_FD_ENV: str(w)}
        # Their own process group: a terminal's Ctrl-C reaches this process only, which
        # passes it on once (a second SIGINT would make a worker stop without its grace).
        proc = subprocess.Popen(cmd, env=env, process_group=0, pass_fds=(w,))
        os.close(w)
        if index < len(ready):
            _close(ready[index])
            ready[index] = r
        else:
            ready.append(r)
        return proc

    # The first worker alone first: it has the cores to itself to start (its first answer is
    # the proxy's), its log writer creates or migrates the log before any other writer opens
    # it (two at once on a new log: one fails), and a start that fails (a busy port) fails
    # once, in one line. The others follow when it listens.
    procs = [start(0)]

    def forward(signum: int, _frame: object) -> None:
        if signum != signal.SIGHUP:
            stopping.append(signum)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)
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
                        p.wait()
                        status = 1
                return status or max((p.returncode for p in procs), default=0)
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
                procs[i] = start(i)
            if len(procs) < count and not stopping and ready[0] < 0:
                procs += [start(i) for i in range(len(procs), count)]
            time.sleep(0.1)
    finally:
        for fd in ready:
            _close(fd)


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
