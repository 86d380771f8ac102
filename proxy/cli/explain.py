"""`vaccine explain URL --profile ID`: the decision and the rule that made it, sending nothing."""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from vaccine.proxy.decision import Facts, Usage, decide
from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import default_policies_dir
from vaccine.proxy.search.engines import engine_of, extract_query


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="a URL or a bare host name")
    parser.add_argument("--profile", metavar="ID", required=True, help="profile id (file name)")
    parser.add_argument("--lists", metavar="DIR", type=Path, help="category lists folder")
    parser.add_argument(
        "--at", metavar="YYYY-MM-DDTHH:MM", help="decide as if at this local time (schedules)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--db", metavar="FILE", type=Path, help="the decision log, for parents' approvals"
    )


def facts_for(url: str) -> Facts:
    """A URL gives a host and a path; a bare name (`example.com`) only a host."""
    if "://" not in url:
        host, _, rest = url.partition("/")
        return Facts((host,), "/" + rest if rest else None)
    parts = urlsplit(url)
    if not parts.netloc:
        raise VaccineError(f"no host in {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    engine = engine_of(parts.netloc)
    search = extract_query(engine, path) if engine else None
    return Facts((parts.netloc,), path, search)


def _approvals(db: Path, now: datetime) -> dict[str, dict[str, datetime | None]]:
    """Parents' approvals in force, as the running proxy sees them (none without a log)."""
    from vaccine.proxy.store import StoreError
    from vaccine.proxy.store.requests import approvals_in_force

    try:
        return approvals_in_force(db, now)
    except (StoreError, sqlite3.Error):
        return {}


def main(args: argparse.Namespace) -> int:
    from vaccine.proxy.household import load_household

    policies_dir = args.policies or default_policies_dir()
    try:
        household = load_household(policies_dir, args.lists)
    except ProblemsError as e:
        msg = f"the policies or lists have problems (run `vaccine check`):\n{e}"
        raise VaccineError(msg) from None
    profiles = household.policies.profiles
    if args.profile not in profiles:
        raise VaccineError(f"no profile {args.profile!r}; profiles: {', '.join(sorted(profiles))}")
    profile = profiles[args.profile]
    try:
        now = datetime.fromisoformat(args.at) if args.at else datetime.now()
    except ValueError:
        msg = f"--at wants a local time like 2026-11-23T21:15, not {args.at!r}"
        raise VaccineError(msg) from None
    facts = facts_for(args.url)
    usage = Usage(approvals=_approvals(args.db or household.policies.settings.database, now)
                  .get(profile.id, {}))  # fmt: skip
    decision = decide(facts, profile, household.lists, now, usage, household.terms)
    categories = sorted(decision.categories)
    if args.json:
        out = {
            "profile": profile.id,
            "host": decision.host,
            "action": decision.action,
            "rule": decision.rule,
            "detail": decision.detail,
            "categories": categories,
            "decrypt": decision.inspect or profile.inspect == "everything",
        }
        print(json.dumps(out, indent=2))
    else:
        verb = "BLOCK" if decision.blocked else "ALLOW"
        print(f"{verb} {decision.host or args.url} for {profile.id} ({profile.name})")
        print(f"  rule: {decision.detail}")
        print(f"  categories: {', '.join(categories) or '(none in the lists)'}")
        if decision.blocked:
            how = "block page" if profile.ca_installed else "connection refused (no CA on device)"
            print(f"  the child sees: {how}")
    return 0
