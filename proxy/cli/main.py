"""`vaccine`: one entry point, one module per sub-command (each has `register` and `main`)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from vaccine.proxy.errors import VaccineError

#: sub-command name → module under proxy.cli (imported only when that command runs, so
#: `vaccine check` does not pay for importing mitmproxy).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the filtering proxy in the foreground"),
    "check": ("check", "validate settings, every profile and every list"),
    "explain": ("explain", "print the decision for a URL and the rule that made it"),
    "passwd": ("passwd", "add or change a proxy login (bcrypt htpasswd)"),
    "lists": ("lists", "download, compile and count category lists"),
    "report": ("report", "summaries of the decision log per profile, as text or JSON"),
    "dashboard": ("dashboard", "the parents' dashboard over the decision log (Textual)"),
    "requests": ("requests", "the ask-a-parent queue: list, approve or deny requests"),
    "devices": ("devices", "onboard devices, see new ones, give them to a profile"),
    "service": ("service", "install the systemd service that starts the proxy at boot"),
}


def version() -> str:
    """The one version number: the installed package's metadata (pyproject.toml's)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("digital-vaccine")
    except PackageNotFoundError:  # run from a copy of the sources that was never installed
        return "0+unknown"


class _VersionAction(argparse.Action):
    """`--version`, reading the metadata only when asked (it costs a few ms at every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, argparse.SUPPRESS, nargs=0, default=argparse.SUPPRESS,
            help="print the version and exit",
        )  # fmt: skip

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(f"vaccine {version()}")
        parser.exit()


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--policies",
        metavar="DIR",
        type=Path,
        default=None,
        help="the household's policy directory (default: ./policies, else /etc/vaccine/policies)",
    )
    return common


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that sub-command's module is imported (the others keep
    their name and help), so `vaccine report` does not pay for importing the proxy."""
    parser = argparse.ArgumentParser(
        prog="vaccine", description="Digital Vaccine: a parental-control filtering proxy."
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = common_options()
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        if only is None or name == only:
            mod = importlib.import_module(f"vaccine.proxy.cli.{module}")
            mod.register(p)
            p.set_defaults(_module=mod)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


#: The exit status when the reader of our output went away (`vaccine report | head -1`): what
#: a shell reports for a process ended by SIGPIPE (128 + 13), so `set -o pipefail` sees the
#: same as for `yes | head -1`.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        code = args._module.main(args)
        # Flushed here, not at exit, so a reader that left is noticed while we can still act.
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    except VaccineError as e:
        print(f"vaccine {args.command}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


def _reader_gone() -> int:
    """The reader of stdout closed the pipe: stop quietly. Python would flush stdout again at
    exit and print a traceback about it, so stdout is pointed at /dev/null first (the
    recipe of the `signal` module's documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
