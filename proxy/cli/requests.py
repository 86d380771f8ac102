"""`vaccine requests list [--json] [--all]` / `approve ID [--for DURATION]` / `deny ID`.

The parent's side of "Ask a parent", on the server: a child's device can never reach it. The
answering itself is `proxy.askparent.approve_request` / `deny_request`, which the dashboard
calls too; this module only parses, finds the files and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import default_policies_dir, find_policies_dir
from vaccine.proxy.util.words import did_you_mean

if TYPE_CHECKING:
    from vaccine.proxy.askparent import Answer
    from vaccine.proxy.store.requests import AccessRequest

JSON_FORMAT = "vaccine-requests"
JSON_VERSION = 1

#: the parent's clock; tests replace it
clock: Callable[[], datetime] = datetime.now


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser(
        "list", help="requests waiting for an answer", description="requests waiting for an answer"
    )
    listing.add_argument("--all", action="store_true", help="answered requests too")
    listing.add_argument("--profile", metavar="ID", help="only this profile's requests")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    approve = sub.add_parser(
        "approve",
        help="let the profile reach the site for a while, or always",
        description=(
            "Let the request's profile reach its site. --for 15m, 1h (the default), 1h30m … up "
            "to a day, today (until midnight) or always. An approval takes effect at once, "
            "without a restart; one for a time passes every rule. `always` adds the site to "
            "allow.domains in the profile's YAML file (comments and layout kept); when a "
            "schedule window (bedtime) would still block it, say with --during-schedule "
            "whether always includes that time."
        ),
    )
    approve.add_argument("id", metavar="ID", help="the request's number, as `list` shows it")
    approve.add_argument(
        "--for", dest="duration", metavar="DURATION", default="1h", help="15m, 1h, today, always"
    )
    approve.add_argument(
        "--during-schedule",
        choices=("allow", "block"),
        help="with --for always, when a schedule window would still block the site: allow "
        "(added to the window's allow too: open then as well) or block (the window applies)",
    )
    deny = sub.add_parser("deny", help="say no to a request", description="say no to a request")
    deny.add_argument("id", metavar="ID", help="the request's number, as `list` shows it")
    for p in (listing, approve, deny):
        # SUPPRESS: given before the action (`requests --policies DIR list`), it is not reset.
        p.add_argument(
            "--policies", metavar="DIR", type=Path, default=argparse.SUPPRESS, help="policy folder"
        )
        p.add_argument(
            "--db", metavar="FILE", type=Path, help="the decision log (default: settings database:)"
        )


def main(args: argparse.Namespace) -> int:
    from vaccine.proxy import askparent

    given: Path | None = getattr(args, "policies", None)
    if args.db is None or args.action == "approve":  # the policies name the log; `always` edits
        policies_dir = find_policies_dir(given)
    else:
        policies_dir = given or default_policies_dir()
    db_path: Path = args.db or _database(policies_dir)
    if args.action == "list":
        return _list(db_path, policies_dir, args)
    request_id = _request_id(args.id)
    now = clock()
    if args.action == "approve":
        duration = askparent.parse_duration(args.duration)  # a bad one before anything else
        if args.during_schedule is not None and duration.kind != "always":
            raise VaccineError("--during-schedule goes with --for always")
        answer = askparent.approve_request(
            policies_dir, db_path, request_id, duration, now, during=args.during_schedule
        )
        r = answer.request
        print(f"Approved #{r.id}: {r.profile} may visit {r.domain} {_how_long(answer, now)}.")
        if answer.edited is not None:
            print(f"Added {r.domain} to {_where_added(answer)} in {answer.edited}.")
        elif answer.until is None:
            print(f"{r.domain} was already allowed by {r.profile}'s policy file.")
        for line in _schedule_lines(answer, now):
            print(line)
    else:
        answer = askparent.deny_request(db_path, request_id, now)
        r = answer.request
        print(f"Denied #{r.id}: {r.profile}, {r.domain}.")
    return 0


def _where_added(answer: Answer) -> str:
    if answer.during != "allow":
        return "allow.domains"
    return " and ".join(["allow.domains", *(f"schedule.{w.name}.allow" for w in answer.windows)])


def _schedule_lines(answer: Answer, now: datetime) -> list[str]:
    """What happens during the schedule windows that would block the site."""
    from vaccine.proxy.policy.windows import window_end, window_words

    out = []
    for w in answer.windows:
        if answer.during == "allow":
            out.append(f"It is open during {window_words(w)} too.")
            continue
        end = window_end(w, now)
        later = f" It opens when {w.name} ends, at {end:%H:%M}." if end is not None else ""
        out.append(f"It stays blocked during {window_words(w)}.{later}")
    return out


def _database(policies_dir: Path) -> Path:
    from vaccine.proxy.policy.load import load_policies

    try:
        return load_policies(policies_dir).settings.database
    except ProblemsError as e:
        raise VaccineError(
            f"no --db given and the policies in {policies_dir} have problems "
            f"(run `vaccine check`):\n{e}"
        ) from None


def _check_profile(profile: str, policies_dir: Path, in_log: set[str]) -> None:
    """A profile the policies or the log know, or a one-line error with "did you mean"."""
    from vaccine.proxy.policy.load import load_policies

    try:
        known = set(load_policies(policies_dir).children) | in_log
    except VaccineError:  # no policies or broken ones (with --db): the log's names only
        known = set(in_log)
    if profile not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        hint = did_you_mean(profile, known)
        raise VaccineError(f"no profile {profile!r}{hint} (profiles: {listed})")


def _request_id(text: str) -> int:
    digits = text.strip().removeprefix("#")
    if not digits.isdigit():
        raise VaccineError(f"{text!r} is not a request number (see `vaccine requests list`)")
    return int(digits)


def _how_long(answer: Answer, now: datetime) -> str:
    until = answer.until
    if until is None and answer.during == "block":
        return "always, except during " + " and ".join(w.name for w in answer.windows)
    if until is None:
        return "always"
    if until.time() == datetime.min.time() and (until.date() - now.date()).days == 1:
        return "until midnight"
    if until.date() == now.date():
        return f"until {until:%H:%M}"
    return f"until {until:%a %d %b %H:%M}"


def _list(db_path: Path, policies_dir: Path, args: argparse.Namespace) -> int:
    from vaccine.proxy.store.requests import list_requests

    if args.profile is not None:
        _check_profile(
            args.profile, policies_dir, {r.profile for r in list_requests(db_path, None)}
        )
    rows = list_requests(db_path, None if args.all else "pending", args.profile)
    if args.json:
        out = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "requests": [
                {
                    "id": r.id,
                    "profile": r.profile,
                    "domain": r.domain,
                    "category": r.category or None,
                    "message": r.message,
                    "created": r.created,
                    "status": r.status,
                    "answered_at": r.answered_at,
                    "approved_until": r.approved_until,
                }
                for r in rows
            ],
        }
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("No requests in the log." if args.all else "No requests waiting for an answer.")
        return 0
    for r in rows:
        category = f" ({r.category})" if r.category else ""
        message = f'  "{_printable(r.message)}"' if r.message else ""
        status = f"  [{_status(r)}]" if args.all else ""
        when = r.created[:16].replace("T", " ")
        sys.stdout.write(f"#{r.id}  {when}  {r.profile}  {r.domain}{category}{message}{status}\n")
    if any(r.status == "pending" for r in rows):
        print(
            "\nAnswer with: vaccine requests approve ID [--for 15m|1h|today|always]"
            "  or  vaccine requests deny ID"
        )
    return 0


def _status(r: AccessRequest) -> str:
    if r.status == "approved" and r.approved_until is None:
        return "approved, always"
    if r.status == "approved":
        return f"approved until {(r.approved_until or '')[:16].replace('T', ' ')}"
    return "waiting" if r.status == "pending" else r.status


def _printable(text: str) -> str:
    """A child's message may hold terminal escape sequences; show them as spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
