"""`vaccine explain URL --profile ID`: the decision, the rule that made it and what the proxy
does with the connection at each step — the very `Household.decide` calls `vaccine run` makes,
with the approvals and today's minutes read from the same log — sending nothing."""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from vaccine.proxy.decision import Decision, Facts, Stage, Usage
from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import find_policies_dir

if TYPE_CHECKING:
    from vaccine.proxy.household import Household
    from vaccine.proxy.policy.model import Profile
from vaccine.proxy.search.engines import engine_of, extract_query
from vaccine.proxy.util.words import did_you_mean


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="a URL or a bare host name")
    parser.add_argument("--profile", metavar="ID", required=True, help="profile id (file name)")
    parser.add_argument("--lists", metavar="DIR", type=Path, help="category lists folder")
    parser.add_argument(
        "--at", metavar="YYYY-MM-DDTHH:MM", help="decide as if at this local time (schedules)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--db",
        metavar="FILE",
        type=Path,
        help="the decision log, for parents' approvals and today's minutes",
    )


#: How each treatment reads in `vaccine explain`.
TREATMENT_WORDS = {
    "refuse": "refused",
    "tunnel": "tunnel opened",
    "intercept": "decrypted",
    "pass_through": "passed through untouched (not decrypted)",
    "page": "answered with the {page} page (403)",
    "ask": "answered by the ask-a-parent form",
    "rewrite": "forwarded, rewritten for safe search",
    "forward": "forwarded",
    "onboarding": "answered by the set-up page",
}
STAGE_WORDS = {"connect": "CONNECT", "handshake": "TLS", "request": "request"}


def steps_for(url: str) -> list[Facts]:
    """What a browser set to use the proxy sends for `url`, in order: for https (or a bare
    host name) a CONNECT and a ClientHello naming the host, then (https with a path, http) the
    request. The proxy decides each; `explain` stops where the proxy would stop looking."""
    scheme, host, path = _split(url)
    app_host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    search = None
    if path is not None:
        engine = engine_of(host)
        search = extract_query(engine, path) if engine else None
    request = Facts((host,), path, search, stage="request", app_host=app_host)
    if scheme == "http":
        return [request]
    tls = [Facts((host,), stage="connect"), Facts((host, host), stage="handshake")]
    return tls + ([request] if path is not None else [])


def _split(url: str) -> tuple[str, str, str | None]:
    """(scheme, host as written, path with query or None). A bare name has no path."""
    if "://" not in url:
        host, _, rest = url.partition("/")
        if not host:
            raise VaccineError(f"no host in {url!r}")
        return "https", host, ("/" + rest if rest else None)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise VaccineError(f"explain takes http:// or https:// URLs, not {parts.scheme}://")
    host = parts.netloc.rpartition("@")[2]
    if not host:
        raise VaccineError(f"no host in {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, path


def journey(
    household: Household, profile: Profile, url: str, now: datetime, usage: Usage
) -> list[tuple[Stage, Decision]]:
    """The proxy's decision at each step for `url`, up to the one that ends it."""
    out: list[tuple[Stage, Decision]] = []
    for facts in steps_for(url):
        decision = household.decide(facts, profile, now, usage)
        out.append((facts.moment, decision))
        if decision.treatment in ("refuse", "pass_through"):
            break
    return out


def usage_from_log(db: Path, profile: Profile, now: datetime) -> Usage:
    """Approvals in force and today's active minutes, as the running proxy reads them from
    the log (none without one)."""
    from vaccine.proxy.store import StoreError
    from vaccine.proxy.store.queries import minutes_on
    from vaccine.proxy.store.readonly import open_readonly
    from vaccine.proxy.store.requests import approvals_in_force

    try:
        approvals = approvals_in_force(db, now).get(profile.id, {})
    except (StoreError, sqlite3.Error):
        approvals = {}
    minutes: dict[str, int] = {}
    if profile.limits:
        try:
            conn = open_readonly(db)
        except (StoreError, sqlite3.Error):
            conn = None
        if conn is not None:
            try:
                minutes = minutes_on(conn, now.date()).get(profile.id, {})
            except sqlite3.Error:
                minutes = {}
            finally:
                conn.close()
    return Usage(approvals=approvals, minutes_today=minutes)


def describe(decision: Decision) -> str:
    words = TREATMENT_WORDS[decision.treatment]
    return words.format(page=(decision.page or "block").replace("_", " "))


def main(args: argparse.Namespace) -> int:
    from vaccine.proxy.household import load_household

    policies_dir = find_policies_dir(args.policies)
    try:
        household = load_household(policies_dir, args.lists)
    except ProblemsError as e:
        msg = f"the policies or lists have problems (run `vaccine check`):\n{e}"
        raise VaccineError(msg) from None
    profiles = household.policies.profiles
    if args.profile not in profiles:
        hint = did_you_mean(args.profile, profiles)
        listed = ", ".join(household.policies.children)
        raise VaccineError(f"no profile {args.profile!r}{hint} (profiles: {listed})")
    profile = profiles[args.profile]
    try:
        now = datetime.fromisoformat(args.at) if args.at else datetime.now()
    except ValueError:
        msg = f"--at wants a local time like 2026-11-23T21:15, not {args.at!r}"
        raise VaccineError(msg) from None
    usage = usage_from_log(args.db or household.policies.settings.database, profile, now)
    steps = journey(household, profile, args.url, now, usage)
    decision = steps[-1][1]
    categories = sorted(decision.categories)
    if args.json:
        out = {
            "profile": profile.id,
            "host": decision.host,
            "action": decision.action,
            "rule": decision.rule,
            "detail": decision.detail,
            "categories": categories,
            "decrypt": any(d.treatment == "intercept" for _, d in steps),
            "treatment": decision.treatment,
            "page": decision.page,
            "steps": [{"stage": s, "treatment": d.treatment, "rule": d.rule} for s, d in steps],
        }
        print(json.dumps(out, indent=2))
    else:
        verb = "BLOCK" if decision.blocked else "ALLOW"
        print(f"{verb} {decision.host or args.url} for {profile.id} ({profile.name})")
        print(f"  rule: {decision.detail}")
        print(f"  categories: {', '.join(categories) or '(none in the lists)'}")
        for stage, d in steps:
            print(f"  {STAGE_WORDS[stage]}: {describe(d)}")
    return 0
