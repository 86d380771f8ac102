"""The pieces one end-to-end run needs, bundled: CAs, origins, proxy processes, clients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from .certs import Issuers
from .client import Client
from .household import Household
from .origins import Origin
from .proc import START_TIMEOUT, ProxyProcess

HERE = Path(__file__).resolve().parent
ROUTE_ADDON = HERE / "route_addon.py"
READY = r"^vaccine: proxy running on "
RELOADED = r"^vaccine: reloaded"
RELOAD_FAILED = r"^vaccine: reload failed, keeping the last good policy"
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice for 127.0.0.1:0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until[T](
    probe: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `probe()` until it returns something truthy, and return that; fail at the deadline.

    For state only observable by looking (a row the log writer commits within its flush
    interval): a bounded poll of the real thing, never a sleep that hopes it is long enough.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: wait() is an interruptible pause between probes
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"not within {timeout:.0f} s: {what or probe}; last value {value!r}"
            )
        pause.wait(interval)


def executable(name: str) -> Path | None:
    """A console script installed next to the running interpreter (the venv's bin/)."""
    p = Path(sys.executable).parent / name
    return p if p.exists() else None


class RunningProxy:
    """A started proxy: its port(s), its process, clients, and reload helpers."""

    def __init__(self, e2e: E2E, process: ProxyProcess, port: int, household: Household | None):
        self.e2e = e2e
        self.process = process
        self.port = port
        self.household = household

    def client(
        self,
        *,
        source: str | None = None,
        auth: tuple[str, str] | str | None = None,
        port: int | None = None,
    ) -> Client:
        return Client(port or self.port, self.e2e.issuers, source=source, auth=auth)

    def hup(self) -> int:
        """Send SIGHUP; return the output mark taken just before it."""
        mark = self.process.mark()
        self.process.send(signal.SIGHUP)
        return mark

    def wait_reloaded(
        self, since: int, check: Callable[[], bool] | None = None, timeout: float = START_TIMEOUT
    ) -> str:
        """Wait for a `vaccine: reloaded` line after `since` for which `check()` holds.

        The file watcher may report a reload of its own around ours; a reload that does not
        yet show the change is skipped and the next one awaited (until the deadline).
        """
        deadline = time.monotonic() + timeout
        while True:
            i, line = self.process.wait_for(
                RELOADED, since=since, timeout=max(0.0, deadline - time.monotonic())
            )
            if check is None or check():
                return line
            since = i + 1

    def wait_reload_failed(self, since: int) -> int:
        """Wait for the "reload failed" line after `since`; return its index."""
        i, _ = self.process.wait_for(RELOAD_FAILED, since=since)
        return i


class E2E:
    """Session-wide: the two CAs, the two origins and a scratch area for proxies."""

    def __init__(
        self,
        issuers: Issuers,
        confdir: Path,
        http_origin: Origin,
        https_origin: Origin,
        scratch: Callable[[str], Path],
    ):
        self.issuers = issuers
        self.confdir = confdir
        self.http_origin = http_origin
        self.https_origin = https_origin
        self.scratch = scratch

    def env(self, home: Path, route: Sequence[str] = (".test",)) -> dict[str, str]:
        """The proxy's environment: HOME and XDG dirs inside the test's tmp, no proxy vars.

        `route`: name suffixes the router addon sends to the local origins.
        """
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
        # Temporary files too stay inside the test's directory, where privacy tests look.
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env.update(
            HOME=str(home),
            TMPDIR=str(home / "tmp"),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            PYTHONUNBUFFERED="1",
            VACCINE_E2E_HTTP_PORT=str(self.http_origin.port),
            VACCINE_E2E_HTTPS_PORT=str(self.https_origin.port),
            VACCINE_CONFDIR=str(self.confdir),
            VACCINE_E2E_ROUTE_SUFFIXES=",".join(route),
        )
        return env

    def proxy_options(self) -> list[str]:
        """mitmproxy options every proxy under test gets: the router and the origin CA."""
        return [
            f"scripts={ROUTE_ADDON}",
            f"ssl_verify_upstream_trusted_ca={self.issuers.origin.cert_pem}",
        ]

    def vaccine_argv(
        self,
        household: Household,
        port: int,
        modes: Sequence[str] = (),
        extra: Sequence[str] = (),
        workers: int | None = 1,
    ) -> list[str]:
        """`workers`: one process unless a test says otherwise (the default, one per core,
        would make every test's timing and its process tree depend on the machine); None
        leaves the flag out, for the test of that default."""
        argv = [
            *self.vaccine_command(),
            "run",
            "--policies", str(household.policies),
            "--lists", str(household.lists),
            "--listen", f"127.0.0.1:{port}",
            "--confdir", str(self.confdir),
            "--db", str(household.db),
        ]  # fmt: skip
        if workers is not None:
            argv += ["--workers", str(workers)]
        for m in modes:
            argv += ["--mode", m]
        for o in self.proxy_options():
            argv += ["--set", o]
        return argv + list(extra)

    def vaccine_command(self) -> list[str]:
        exe = executable("vaccine")
        return [str(exe)] if exe else [sys.executable, "-m", "vaccine.proxy"]

    def cli(
        self, household: Household, *args: str, timeout: float = START_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run another `vaccine` sub-command (`report`, `explain`) over a household."""
        home = household.root / "home"
        home.mkdir(exist_ok=True)
        return subprocess.run(
            [*self.vaccine_command(), *args],
            cwd=household.root,
            env=self.env(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn_vaccine(
        self,
        household: Household,
        port: int | None = None,
        modes: Sequence[str] = (),
        extra: Sequence[str] = (),
        route: Sequence[str] = (".test",),
        workers: int | None = 1,
    ) -> tuple[ProxyProcess, int]:
        """Start `vaccine run` without waiting for anything (start-up failure tests)."""
        port = port or free_port()
        home = household.root / "home"
        home.mkdir(exist_ok=True)
        argv = self.vaccine_argv(household, port, modes, extra, workers)
        return ProxyProcess(argv, self.env(home, route), cwd=household.root), port

    @contextmanager
    def vaccine(
        self,
        household: Household,
        *,
        port: int | None = None,
        modes: Sequence[str] = (),
        extra: Sequence[str] = (),
        route: Sequence[str] = (".test",),
        workers: int | None = 1,
    ) -> Iterator[RunningProxy]:
        """`vaccine run` up and ready; stopped with SIGTERM afterwards, which must exit 0."""
        process, port = self.spawn_vaccine(household, port, modes, extra, route, workers)
        try:
            process.wait_for(READY)
        except BaseException:
            process.stop()
            raise
        try:
            yield RunningProxy(self, process, port, household)
        finally:  # also when the test failed: no proxy outlives its test
            code = process.stop(signal.SIGTERM)
        assert code == 0, f"vaccine run exited {code} on SIGTERM; it said:\n{process.output()}"

    @contextmanager
    def mitmdump(
        self, extra: Sequence[str] = (), route: Sequence[str] = (".test",)
    ) -> Iterator[RunningProxy]:
        """Plain mitmdump with the same CA, router and origin trust (the harness self-test)."""
        exe = executable("mitmdump")
        if exe is None:
            pytest.skip("mitmdump is not installed next to this interpreter")
        port = free_port()
        home = self.scratch("mitmdump-home")
        argv = [
            str(exe),
            "--listen-host", "127.0.0.1",
            "--listen-port", str(port),
            "--set", f"confdir={self.confdir}",
            "--set", "flow_detail=0",
            "-s", str(ROUTE_ADDON),
            "--set", f"ssl_verify_upstream_trusted_ca={self.issuers.origin.cert_pem}",
            *extra,
        ]  # fmt: skip
        process = ProxyProcess(argv, self.env(home, route), cwd=home)
        try:
            process.wait_for(r"proxy listening at", stream=None)
        except BaseException:
            process.stop()
            raise
        try:
            yield RunningProxy(self, process, port, None)
        finally:
            code = process.stop(signal.SIGTERM)
        assert code == 0, f"mitmdump exited {code}; it said:\n{process.output()}"
