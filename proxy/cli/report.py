"""`vaccine report [--profile ID] [--days N] [--json]`: the dashboard's summaries, as text or JSON.

Reads the decision log read-only (the proxy may be writing it at the same time) and never
upgrades it. The JSON form is documented in docs/report-json.md and only grows.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import default_policies_dir, find_policies_dir
from vaccine.proxy.store import queries
from vaccine.proxy.store.readonly import open_readonly
from vaccine.proxy.store.summary import (
    ProfileInfo,
    ProfileSummary,
    Report,
    day_range,
    format_minutes,
    summarise,
)
from vaccine.proxy.util.words import did_you_mean, plural

if TYPE_CHECKING:
    from vaccine.proxy.policy.model import PolicySet

JSON_FORMAT = "vaccine-report"
JSON_VERSION = 1
_DAYS_IN_TEXT = 14  # up to this many days, the text report shows time online per day


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="ID", help="only this profile")
    parser.add_argument(
        "--days", metavar="N", type=int, default=7, help="how many days, today included (7)"
    )
    parser.add_argument(
        "--until", metavar="YYYY-MM-DD", help="the last day of the report (default: today)"
    )
    parser.add_argument("--top", metavar="N", type=int, default=10, help="sites listed (10)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--db", metavar="FILE", type=Path, help="the decision log (default: database: in settings)"
    )


def main(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 3660:
        raise VaccineError(f"--days wants a number of days from 1 to 3660, not {args.days}")
    if args.top < 1:
        raise VaccineError(f"--top wants a positive number, not {args.top}")
    try:
        last = date.fromisoformat(args.until) if args.until else datetime.now().date()
    except ValueError:
        raise VaccineError(f"--until wants a day like 2026-03-08, not {args.until!r}") from None
    first, last = day_range(last, args.days)
    db_path, infos = _sources(args)
    db = open_readonly(db_path)
    try:
        if args.profile is not None:
            known = {p.id for p in infos} | set(queries.profiles_in_log(db))
            if args.profile not in known:
                listed = ", ".join(sorted(known)) or "none yet"
                hint = did_you_mean(args.profile, known)
                raise VaccineError(f"no profile {args.profile!r}{hint} (profiles: {listed})")
        rows = queries.report_rows(db, first, last, args.profile)
    finally:
        db.close()
    report = summarise(rows, first, last, profiles=infos, only=args.profile, top=args.top)
    if args.json:
        print(json.dumps(as_json(report), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(as_text(report))
    return 0


def _sources(args: argparse.Namespace) -> tuple[Path, list[ProfileInfo]]:
    """The database path, and what the policies say of each profile (when they can be read).

    Without --db the policies must load (they name the database); with it, they only add
    names and `parents_see`, so a missing or broken policy folder is not an error.
    """
    from vaccine.proxy.policy.load import load_policies

    if args.db is None:
        directory = find_policies_dir(args.policies)
        try:
            policies = load_policies(directory)
        except ProblemsError as e:
            raise VaccineError(
                f"no --db given and the policies in {directory} have problems "
                f"(run `vaccine check`):\n{e}"
            ) from None
        return policies.settings.database, _infos(policies, args.profile)
    directory = args.policies or default_policies_dir()
    if not directory.is_dir():
        return args.db, []
    try:
        policies = load_policies(directory)
    except ProblemsError:
        print(
            f"vaccine report: the policies in {directory} have problems; "
            "profiles are shown by id only (run `vaccine check`)",
            file=sys.stderr,
        )
        return args.db, []
    return args.db, _infos(policies, args.profile)


def _infos(policies: PolicySet, asked: str | None) -> list[ProfileInfo]:
    """What the policies say of each child: a base profile (`defaults`) is no child and is
    left out, unless asked for by name."""
    bases = policies.bases - {asked}
    return [
        ProfileInfo(p.id, p.name, p.parents_see, tuple(p.limits.items()))
        for p in policies.profiles.values()
        if p.id not in bases
    ]


# -- output ------------------------------------------------------------------------------------


def as_json(report: Report) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "from": report.first_day.isoformat(),
        "to": report.last_day.isoformat(),
        "days": report.days,
        "dropped_records": report.dropped_records,
        "profiles": [_profile_json(p) for p in report.profiles],
    }


def _cat(category: str) -> str | None:
    return category or None


def _alerts(p: ProfileSummary) -> list[dict[str, Any]]:
    if not p.known_abuse:
        return []
    return [{"kind": "known_abuse", "severity": "high", "count": p.known_abuse}]


def _profile_json(p: ProfileSummary) -> dict[str, Any]:
    return {
        "id": p.profile,
        "name": p.name,
        "alerts": _alerts(p),
        "sites_visible": p.sites_visible,
        "minutes_online": p.minutes_online,
        "minutes_by_day": [{"day": d.day, "minutes": d.minutes} for d in p.minutes_by_day],
        "minutes_by_category": [
            {"category": _cat(c.category), "minutes": c.minutes} for c in p.minutes_by_category
        ],
        "top_sites": [
            {
                "site": s.site,
                "category": _cat(s.category),
                "minutes": s.minutes,
                "requests": s.requests,
            }
            for s in p.top_sites
        ],
        "blocked": {
            "total": p.blocked_total,
            "by_category": [
                {"category": _cat(c.category), "count": c.count} for c in p.blocked_by_category
            ],
            "top_sites": [{"site": s.site, "count": s.count} for s in p.blocked_sites],
        },
        "rewritten_searches": {
            "total": p.rewritten_searches,
            "by_site": [{"site": s.site, "count": s.count} for s in p.rewritten_by_site],
        },
        "pending_requests": [
            {
                "id": r.id,
                "domain": r.domain,
                "category": _cat(r.category),
                "message": r.message,
                "created": r.created,
            }
            for r in p.pending_requests
        ],
        "limits": [
            {
                "category": u.category,
                "limit_minutes": u.limit,
                "used_minutes": u.used,
                "left_minutes": u.left,
            }
            for u in p.limits
        ],  # fmt: skip
    }


def _printable(text: str) -> str:
    """A child's message may hold terminal escape sequences; show them as spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _label(category: str) -> str:
    return category or "(uncategorised)"


def as_text(report: Report) -> str:
    first, last = report.first_day, report.last_day
    span = plural(report.days, "day")
    lines = [f"Activity from {first:%a %d %b %Y} to {last:%a %d %b %Y} ({span})"]
    if not report.profiles:
        lines += ["", "No activity recorded."]
    for p in report.profiles:
        today = report.last_day == date.today()
        lines += ["", *_profile_text(p, report.days, today)]
    if report.dropped_records:
        lines += [
            "",
            f"Note: {plural(report.dropped_records, 'decision')} could not be recorded "
            "(the database was unavailable or full).",
        ]
    return "\n".join(lines) + "\n"


_NAME = 26  # width of the name column (category, site, day)
_NUM = 12  # width of a time or count column


def _row(name: str, *values: object) -> str:
    return f"    {name:<{_NAME}}" + "".join(f"{v!s:>{_NUM}}" for v in values)


def _profile_text(p: ProfileSummary, days: int, last_is_today: bool = True) -> list[str]:
    title = f"{p.profile} ({_printable(p.name)})" if p.name and p.name != p.profile else p.profile
    out = [title]
    if p.known_abuse:
        # First, and loud: a hashed list of known child-abuse material matched. Nothing else is
        # known of it (the log keeps no site); the reporting line is the parent's next step.
        out.append(
            f"  ALERT (high severity): {plural(p.known_abuse, 'attempt')} to reach known "
            "child-abuse material, blocked. Talk with your child and report it "
            "(reporting_line in settings.yaml)."
        )
    out.append(f"  Time online: {format_minutes(p.minutes_online)}")
    for c in p.minutes_by_category:
        out.append(_row(_label(c.category), format_minutes(c.minutes)))
    if 1 < days <= _DAYS_IN_TEXT and p.minutes_online:
        out.append("  By day:")
        for d in p.minutes_by_day:
            out.append(_row(f"{date.fromisoformat(d.day):%a %d %b}", format_minutes(d.minutes)))
    if not p.sites_visible:
        out.append("  Sites: not shown (this profile's parents see categories only)")
    elif p.top_sites:
        out.append(f"  {'Top sites:':<{_NAME + 2}}{'time':>{_NUM}}{'requests':>{_NUM}}  category")
        for s in p.top_sites:
            row = _row(s.site, format_minutes(s.minutes), s.requests)
            out.append(f"{row}  {_label(s.category)}")
    if p.limits:
        out.append(f"  Daily limits ({'today' if last_is_today else 'on the last day'}):")
        for u in p.limits:
            state = "time's up" if not u.left else f"{format_minutes(u.left)} left"
            used = f"{format_minutes(u.used)} of {format_minutes(u.limit)}"
            out.append(f"    {u.category:<{_NAME}}{used:>{_NUM * 2}}  {state}")
    out.append(f"  Blocked attempts: {p.blocked_total}")
    for b in p.blocked_by_category:
        out.append(_row(_label(b.category), b.count))
    if p.blocked_sites:
        out.append("    sites: " + ", ".join(f"{s.site} ({s.count})" for s in p.blocked_sites))
    out.append(f"  Searches made safe: {p.rewritten_searches}")
    if p.pending_requests:
        out.append(f"  Waiting for an answer: {len(p.pending_requests)}")
        for r in p.pending_requests:
            cat = f" ({r.category})" if r.category else ""
            msg = f'  "{_printable(r.message)}"' if r.message else ""
            out.append(f"    #{r.id} {r.created[:16].replace('T', ' ')}  {r.domain}{cat}{msg}")
    else:
        out.append("  Waiting for an answer: none")
    return out
