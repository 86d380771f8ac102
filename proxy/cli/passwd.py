"""`vaccine passwd USER`: add or change a proxy login (a bcrypt line in the htpasswd file).

The password is read without echo from the terminal (twice), or as one line from standard
input for scripts. It is never printed, logged or put into an error message.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import find_policies_dir
from vaccine.proxy.policy.htpasswd import Htpasswd, set_password, validate_user
from vaccine.proxy.policy.model import PolicySet

DEFAULT_FILE_NAME = "users.htpasswd"


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "user", metavar="USER", help="the login name, as a profile's `devices: - user:` names it"
    )
    parser.add_argument(
        "--file",
        metavar="FILE",
        type=Path,
        help="the htpasswd file (default: `proxy_auth` in settings.yaml, "
        f"else {DEFAULT_FILE_NAME} in the policies directory)",
    )
    parser.add_argument(
        "--stdin",
        action="store_true",
        help="read the password as one line of standard input (for scripts); "
        "also the default when standard input is not a terminal",
    )


def main(args: argparse.Namespace) -> int:
    try:
        validate_user(args.user)  # before asking for a password that would be thrown away
    except ValueError as e:
        raise VaccineError(str(e)) from None
    path, policies = _login_file(args)
    password = _read_password(args.user, args.stdin)
    try:
        added = set_password(path, args.user, password)
    except ValueError as e:
        raise VaccineError(str(e)) from None
    except OSError as e:
        raise VaccineError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        del password
    print(f"added login {args.user} to {path}" if added else f"changed login {args.user} in {path}")
    if policies is not None:
        _hints(policies, path, args.user)
    try:
        Htpasswd.load(path)
    except ProblemsError as e:
        # Our line is fine, but the proxy refuses the whole file until the others are fixed.
        for problem in e.problems:
            print(f"warning: {problem}", file=sys.stderr)
    return 0


def _login_file(args: argparse.Namespace) -> tuple[Path, PolicySet | None]:
    if args.file is not None:
        return args.file, None
    from vaccine.proxy.policy.load import load_policies

    directory = find_policies_dir(args.policies)
    try:
        policies = load_policies(directory)
    except ProblemsError as e:
        # Shown because the problem may be this very file: `proxy_auth` names a file that
        # does not exist until the first login is added, and --file creates it.
        first = f"{e.problems[0]}" if e.problems else "see `vaccine check`"
        more = f" (and {len(e.problems) - 1} more)" if len(e.problems) > 1 else ""
        raise VaccineError(
            f"cannot read proxy_auth from the policies: {first}{more}; "
            "name the login file with --file (it is created when missing)"
        ) from None
    return policies.settings.proxy_auth or directory / DEFAULT_FILE_NAME, policies


def _hints(policies: PolicySet, path: Path, user: str) -> None:
    if policies.settings.proxy_auth is None:
        # settings.yaml paths are relative to the folder holding the policies directory.
        setting = f"{policies.directory.name}/{path.name}"
        print(
            f"hint: the proxy uses this file once {policies.directory / 'settings.yaml'} "
            f"says `proxy_auth: {setting}`"
        )
    named = any(
        d.kind == "user" and d.user == user for p in policies.profiles.values() for d in p.devices
    )
    if not named:
        print(f"hint: no profile names this login yet; add `- user: {user}` to its `devices:`")


def _read_password(user: str, from_stdin: bool) -> str:
    if sys.stdin is None:
        raise VaccineError("no standard input to read the password from")
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    else:
        password = getpass.getpass(f"New password for {user}: ")
        if password and getpass.getpass("Repeat it: ") != password:
            raise VaccineError("the two passwords differ; nothing changed")
    if not password:
        raise VaccineError("an empty password is refused; nothing changed")
    return password
