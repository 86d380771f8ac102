"""`vaccine dashboard [--db FILE] [--poll SECONDS]`: the parents' Textual dashboard;
`--web [--listen ADDR:PORT]` serves it to a browser on the home network behind the parent
password that `--set-password` stores.

Textual (and aiohttp) are imported only here, inside `main`: `vaccine run` and every other
command never load them (tests/test_tooling.py holds the filtering core to that).
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
from pathlib import Path

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.paths import default_policies_dir, find_policies_dir

WEB_LISTEN = "0.0.0.0:8088"
PASSWORD_FILE = "dashboard.password"  # in the policy folder, 0600


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="FILE", type=Path, help="the decision log (default: database: in settings)"
    )
    parser.add_argument(
        "--poll",
        metavar="SECONDS",
        type=float,
        default=2.0,
        help="how often to look at the log again (2; 0: only at start and after an answer)",
    )
    parser.add_argument(
        "--light", action="store_true", help="start with the light theme (t switches)"
    )
    parser.add_argument(
        "--web", action="store_true", help="serve the dashboard to a browser (a parent's phone)"
    )
    parser.add_argument(
        "--listen",
        metavar="ADDR:PORT",
        default=WEB_LISTEN,
        help=f"where --web listens (default {WEB_LISTEN}: the home network)",
    )
    parser.add_argument(
        "--set-password",
        action="store_true",
        help="set the parent password of --web (asked for, or one line on standard input)",
    )
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        type=Path,
        help=f"the bcrypt hash of that password (default: {PASSWORD_FILE} in the policy folder)",
    )


def in_terminal() -> bool:
    if os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver"):
        return True  # a session of `--web`: textual-serve is the terminal
    return sys.stdin.isatty() and sys.stdout.isatty()


def main(args: argparse.Namespace) -> int:
    if not (args.poll == 0 or 0.2 <= args.poll <= 3600):
        raise VaccineError(
            f"--poll wants 0 or a number of seconds from 0.2 to 3600, not {args.poll}"
        )
    directory: Path = args.policies or default_policies_dir()
    if args.set_password:
        return set_password(args.password_file or directory / PASSWORD_FILE)
    if not args.web and not in_terminal():
        raise VaccineError("the dashboard needs a terminal (for text, use `vaccine report`)")
    from vaccine.proxy.policy.load import load_settings

    language = "en"
    db_path: Path | None = args.db
    if directory.is_dir():
        # settings.yaml alone: a broken profile must not keep the parent out of the dashboard
        # (it shows the problems); a broken settings.yaml still gives its defaults.
        settings, _ = load_settings(directory)
        language = settings.language
        db_path = db_path or settings.database
    elif db_path is None:
        find_policies_dir(args.policies)  # raises, saying where it looked
        raise VaccineError(f"{directory}: no such policy directory (give --policies or --db)")
    assert db_path is not None
    if args.web:
        return serve_web(args, directory, db_path, language)

    from vaccine.dashboard.app import DashboardApp
    from vaccine.dashboard.source import LogSource

    app = DashboardApp(
        LogSource(db_path, directory),
        args.poll,
        language=language,
        theme="textual-light" if args.light else "textual-dark",
    )
    app.run()
    return 0


def set_password(path: Path) -> int:
    from vaccine.dashboard.web import set_password as store

    if sys.stdin.isatty():
        password = getpass.getpass("Parent password: ")
        if getpass.getpass("Again: ") != password:
            raise VaccineError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    store(path, password)
    print(f"the dashboard password is set ({path})")
    return 0


def serve_web(args: argparse.Namespace, directory: Path, db_path: Path, language: str) -> int:
    import asyncio

    from vaccine.dashboard.i18n import Labels
    from vaccine.dashboard.web import WebDashboard, child_addresses, read_hash
    from vaccine.proxy.policy.load import split_listen

    try:
        host, port = split_listen(args.listen)
    except ValueError as e:
        raise VaccineError(f"--listen {args.listen}: {e}") from None
    password_file = args.password_file or directory / PASSWORD_FILE
    read_hash(password_file)  # no password yet: say so now, not at the first login
    session = [sys.executable, "-m", "vaccine.proxy.cli.main", "dashboard",
               "--policies", str(directory.resolve()), "--db", str(db_path.resolve()),
               "--poll", str(args.poll)]  # fmt: skip
    if args.light:
        session.append("--light")
    server = WebDashboard(
        shlex.join(session),
        host=host,
        port=port,
        password_file=password_file,
        is_childs=child_addresses(directory),
        labels=Labels(language, visual=False),
    )

    async def serve() -> None:
        try:
            runner = await server.run()
        except OSError as e:  # aiohttp's message repeats the address: the reason alone
            reason = os.strerror(e.errno) if e.errno else str(e)
            raise VaccineError(f"--listen {args.listen}: {reason}") from None
        print(f"the parents' dashboard: http://{args.listen}/ (Ctrl+C stops it)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
    return 0
