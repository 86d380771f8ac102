"""`vaccine dashboard [--db FILE] [--poll SECONDS]`: the parents' Textual dashboard.

Textual is imported only here, inside `main`: `vaccine run` and every other command never
load it (tests/test_tooling.py holds the filtering core to that).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.paths import default_policies_dir, find_policies_dir


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


def in_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def main(args: argparse.Namespace) -> int:
    if not (args.poll == 0 or 0.2 <= args.poll <= 3600):
        raise VaccineError(
            f"--poll wants 0 or a number of seconds from 0.2 to 3600, not {args.poll}"
        )
    if not in_terminal():
        raise VaccineError("the dashboard needs a terminal (for text, use `vaccine report`)")
    from vaccine.proxy.policy.load import load_settings

    directory: Path = args.policies or default_policies_dir()
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
