"""`vaccine run`: the filtering proxy in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vaccine.proxy.errors import ProblemsError, VaccineError

if TYPE_CHECKING:
    from mitmproxy import options
    from mitmproxy.tools.dump import DumpMaster

    from vaccine.proxy.household import Household
    from vaccine.proxy.store.process import WriterProcess
    from vaccine.proxy.store.writer import LogWriter
from vaccine.proxy.paths import default_confdir, find_policies_dir
from vaccine.proxy.util.words import parse_host_port, plural


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT", help="address to listen on")
    parser.add_argument("--db", metavar="FILE", type=Path, help="the decision log (SQLite)")
    parser.add_argument("--lists", metavar="DIR", type=Path, help="category lists folder")
    parser.add_argument("--confdir", metavar="DIR", help="where the proxy's CA lives")
    parser.add_argument(
        "--mode",
        metavar="SPEC",
        action="append",
        default=[],
        help="mitmproxy mode, repeatable: regular@8080, transparent@8080, "
        "wireguard:FILE@51820, upstream:URL, dns@53",
    )
    parser.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        dest="set_options",
        help="any mitmproxy option, repeatable",
    )
    parser.add_argument(
        "--grace",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="on SIGTERM/SIGINT, how long connections in flight may finish (default 5)",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=None,
        help="proxy processes sharing the listening ports (default: one per core this "
        "process may run on)",
    )
    parser.add_argument(
        "--watch-interval",
        metavar="SECONDS",
        type=float,
        default=1.0,
        help="how often to look for changed policy and list files (0: only on SIGHUP)",
    )


def parse_listen(value: str) -> tuple[str, int]:
    parsed = parse_host_port(value)
    if parsed is None:
        raise VaccineError(f"--listen wants HOST:PORT, e.g. 0.0.0.0:8080, not {value!r}")
    return parsed


def listeners(listen_port: int, modes: list[str]) -> list[str]:
    """The mitmproxy modes to run.

    The listen address is a regular proxy, plus every `--mode` (or `modes:`), unless one of
    those takes the listen port itself (`transparent@8080`, or a mode written without a port,
    which mitmproxy puts on the listen port): then that mode replaces it.
    """
    from mitmproxy.proxy.mode_specs import ProxyMode

    for spec in modes:
        try:
            mode = ProxyMode.parse(spec)
        except ValueError as e:
            raise VaccineError(f"--mode {spec!r}: {e}") from None
        if mode.listen_port(listen_port) == listen_port:
            return list(modes)
    return ["regular", *modes]


async def _drain_then_stop(master: DumpMaster, opts: options.Options, grace: float) -> None:
    """SIGTERM / SIGINT: stop accepting, let the connections in flight finish (up to `grace`
    seconds), then stop: every request the proxy answered is in the log before it exits."""
    # The listeners close, open connections go on. Refusing new ones is a nicety; stopping
    # is not, so a failure here never keeps the proxy running.
    with contextlib.suppress(Exception):
        opts.update(server=False)
    ps = master.addons.get("proxyserver")
    deadline = time.monotonic() + grace
    while ps is not None and ps.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    master.shutdown()


def main(args: argparse.Namespace) -> int:
    # Start-up makes hundreds of thousands of objects that live as long as the process
    # (modules, the household); the collector's passes over them while they pile up cost
    # ~50 ms of start-up and find next to nothing. Enabled again once they are frozen.
    gc.disable()
    try:
        return _start(args)
    finally:
        gc.enable()


def _start(args: argparse.Namespace) -> int:
    from vaccine.proxy.household import load_household

    policies_dir = find_policies_dir(args.policies)
    try:
        household = load_household(policies_dir, args.lists)
    except ProblemsError as e:
        for p in e.problems:
            print(p, file=sys.stderr)
        raise VaccineError(
            f"not started: {plural(len(e.problems), 'problem')} in the policies or lists"
        ) from None
    settings = household.policies.settings
    host, port = parse_listen(args.listen or settings.listen)
    modes = listeners(port, args.mode or list(settings.modes))
    from vaccine.proxy.devices import with_device_listeners

    # Each WireGuard device (`vaccine devices add --wireguard`) has a listener of its own.
    modes = with_device_listeners(modes, household.policies)
    confdir = args.confdir or settings.confdir or default_confdir()
    if household.warnings:
        n = plural(len(household.warnings), "warning")
        print(f"vaccine: {n} about the lists (see `vaccine check`)", file=sys.stderr)
    from vaccine.proxy.cli import workers
    from vaccine.proxy.util.worker import worker

    me = worker()
    count = workers.default_count() if args.workers is None else args.workers
    if count < 1:
        raise VaccineError("--workers wants a number of processes, 1 or more")
    if me is None and count > 1:
        # The first worker starts alone, as one process would (its log writer first, then
        # mitmproxy): it makes the CA and the WireGuard keys, so the others find them.

        def serve(index: int, restarted: bool) -> int:
            gc.disable()  # as for one process: frozen and enabled again just before listening
            h = _reloaded(household, policies_dir, args.lists) if restarted else household
            try:
                return _worker(args, h, host, port, workers.modes_for(index, modes), confdir)
            except VaccineError as e:
                print(f"vaccine run: {e}", file=sys.stderr)
                return 1

        def before_the_others() -> None:
            # What each would import, imported once, once the first one listens: the others
            # are forked with it (~0.7 s of start-up each, saved), sharing its memory.
            gc.disable()
            _import_proxy()
            gc.freeze()
            gc.enable()

        gc.freeze()
        gc.enable()  # the supervisor, living on, collects its own garbage
        return workers.supervise(count, args.grace, serve, before_the_others)
    return _worker(args, household, host, port, modes, confdir)


def _worker(
    args: argparse.Namespace,
    household: Household,
    host: str,
    port: int,
    modes: list[str],
    confdir: str,
) -> int:
    """One proxy process: alone, or one of the workers."""
    from vaccine.proxy import wireguard
    from vaccine.proxy.cli import workers
    from vaccine.proxy.util.worker import worker

    settings = household.policies.settings
    db = args.db or settings.database
    # Started before mitmproxy is even imported: the writer's own start (an interpreter,
    # sqlite-utils, opening and migrating the log: ~0.25 s) runs on another core meanwhile,
    # instead of after it while the proxy waits.
    journal = start_journal(db, settings.retention_days)
    try:
        if worker() is not None:
            workers.share_ports()  # imports most of mitmproxy: after the writer's start
        wireguard.prepare(modes, confdir)
        return asyncio.run(_serve(args, household, host, port, modes, confdir, db, journal))
    finally:
        journal.close()  # idempotent: _serve closed it already unless it failed to start


def _reloaded(last_good: Household, policies_dir: Path, lists: Path | None) -> Household:
    """For a worker started again (maybe hours later): the policies as they are now, or, when
    they have problems now, the last good ones (its reloader keeps reporting the problems)."""
    from vaccine.proxy.household import load_household

    try:
        return load_household(policies_dir, lists)
    except ProblemsError:
        return last_good


def _import_proxy() -> None:
    """The modules `_serve` imports (mitmproxy's above all, ~0.4 s)."""
    import mitmproxy.tools.dump  # noqa: F401

    import vaccine.proxy.addons.fetcher  # noqa: F401
    import vaccine.proxy.console  # noqa: F401
    import vaccine.proxy.newdevices  # noqa: F401
    import vaccine.proxy.startup  # noqa: F401


def start_journal(db: Path, retention_days: int | None) -> LogWriter | WriterProcess:
    """The decision log's writer, started: a process of its own, so writing never stalls
    filtering; committed twice a second (a power cut loses at most about that; a kill -9 of
    the proxy only what had not been sent to the writer yet, ~20 ms). Records submitted
    before it is ready wait in its queue and its pipe; none is dropped."""
    from vaccine.proxy.store.process import WriterProcess, WriterUnavailable

    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # reported; filtering does not depend on the log
        print(f"vaccine: cannot create the folder of the decision log {db}: {e}", file=sys.stderr)
    process = WriterProcess(db, retention_days=retention_days, flush_interval=0.5)
    try:
        process.start()
        return process
    except WriterUnavailable as e:
        print(f"vaccine: the log writer process could not start ({e}); writing from the "
              "proxy's own process", file=sys.stderr)  # fmt: skip
    # Imported only here: sqlite-utils costs the proxy ~40 ms of start-up otherwise.
    from vaccine.proxy.store.writer import LogWriter

    thread = LogWriter(db, retention_days=retention_days, flush_interval=0.5)
    thread.start()
    return thread


async def _serve(
    args: argparse.Namespace,
    household: Household,
    host: str,
    port: int,
    modes: list[str],
    confdir: str,
    db: Path,
    journal: LogWriter | WriterProcess,
) -> int:
    from mitmproxy import exceptions, options
    from mitmproxy.tools.dump import DumpMaster

    from vaccine.proxy.addons import default_addons, install
    from vaccine.proxy.addons.chain import compact
    from vaccine.proxy.addons.fetcher import ListFetcher
    from vaccine.proxy.addons.reload import Reloader
    from vaccine.proxy.console import PrivateConsole
    from vaccine.proxy.hosts import load_suffix_list
    from vaccine.proxy.newdevices import seen_file
    from vaccine.proxy.startup import StartupCheck

    opts = options.Options()
    # No per-flow console output: it would print every URL a child visits.
    master = DumpMaster(opts, with_termlog=False, with_dumper=False)
    # Start-up failures in one line naming our flag, not mitmproxy's advice (proxy.startup).
    mitm_check = master.addons.get("errorcheck")
    master.addons.remove(mitm_check)
    mitm_check.finish()
    master.addons.add(StartupCheck(port, modes))
    # Problems on stderr, where a service manager or a parent's terminal expects them, with
    # nothing that names a site (mitmproxy's own lines would: journald keeps them).
    master._termlog_addon = PrivateConsole(out=sys.stderr)
    master.addons.add(master._termlog_addon)
    addons = default_addons(
        household,
        journal=journal,
        db_path=db,
        lists_dir=args.lists,
        watch_interval=args.watch_interval,
        seen_path=seen_file(db),
    )
    reloader = next(a for a in addons if isinstance(a, Reloader))
    # The lists fetch and refresh themselves (after the reloader: it swaps them in). One more
    # of ours, so in the same chain entry: each entry costs every event (proxy.addons.chain).
    addons.append(ListFetcher(reloader.shared, reloader, args.lists))
    install(master.addons, addons)
    # Last: every addon is in, so mitmproxy's and ours become a few chain entries.
    compact(master.addons)
    try:
        opts.update(
            listen_host=host,
            listen_port=port,
            mode=modes,
            confdir=confdir,
            termlog_verbosity="warn",
            # Decide before connecting anywhere: a blocked host is never contacted.
            connection_strategy="lazy",
            # QUIC cannot be decided by SNI here; refusing it makes clients fall back to TCP.
            http3=False,
        )
        if args.set_options:
            opts.set(*args.set_options)
    except exceptions.OptionsError as e:
        raise VaccineError(str(e)) from None

    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if stopping:  # a second signal: stop at once
            master.shutdown()
            return
        stopping.append(loop.create_task(_drain_then_stop(master, opts, args.grace)))

    loop.add_signal_handler(signal.SIGINT, stop)
    loop.add_signal_handler(signal.SIGTERM, stop)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: loop.create_task(reloader.reload(), name="vaccine-sighup")
    )
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    # Before the first connection is taken: the ask form and `vaccine requests` need the log's
    # tables (created or migrated by the writer), and daily limits need today's minutes (the
    # writer's first report). Started long ago, the writer is usually ready by now.
    await asyncio.to_thread(journal.flush, 5.0)
    # The suffix table the log names sites with (~0.12 s: tldextract imports `requests`) is
    # built once the proxy listens, before it reads the first request: built here, it kept
    # the port closed that long; left to the first request, that request waited as long.
    reloader.after_listening(load_suffix_list)
    # What start-up made (modules, the household: lists, suffix tables) lives as long as the
    # process: keep it out of the collector's full passes, which otherwise stall the event
    # loop for tens of ms.
    gc.freeze()
    gc.enable()
    try:
        await master.run()
    finally:
        # Listeners are closed by now; everything decided is written before we exit.
        await asyncio.to_thread(journal.close)
    stats = journal.stats()
    if stats.dropped:
        n = plural(stats.dropped, "log record")
        print(f"vaccine: {n} could not be written", file=sys.stderr)
    return 0
