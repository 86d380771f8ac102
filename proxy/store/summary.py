"""What a parent is shown: pure functions from log rows to summaries.

No I/O, no clock: rows and the day range in, frozen dataclasses out. `vaccine report` and the
dashboard show the same numbers because both call `summarise`.

Orderings are part of the contract (the JSON report is documented in docs/report-json.md):
biggest first, ties by name; "" (uncategorised, or no site) sorts after every name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from vaccine.proxy.store.records import KNOWN_ABUSE, NO_CA


class TotalRow(NamedTuple):
    """A `daily_totals` row; `total` is its `count` column (`count` would shadow tuple.count)."""

    day: str
    profile: str
    site: str
    category: str
    action: str
    rule: str
    total: int


class ActivityRow(NamedTuple):
    """A `daily_activity` row: minutes active that day, for kind online/category/site."""

    day: str
    profile: str
    kind: str
    name: str
    minutes: int


class RequestRow(NamedTuple):
    """A pending `access_requests` row."""

    id: int
    profile: str
    domain: str
    category: str
    message: str
    created: str


@dataclass(frozen=True)
class ReportRows:
    totals: Sequence[TotalRow]
    activity: Sequence[ActivityRow]
    requests: Sequence[RequestRow]
    dropped_records: int = 0


@dataclass(frozen=True)
class ProfileInfo:
    """What the policies say of a profile, when they could be read."""

    id: str
    name: str
    parents_see: str = "domains"
    limits: tuple[tuple[str, int], ...] = ()  # (category, minutes a day), as in the policy


@dataclass(frozen=True)
class DayMinutes:
    day: str
    minutes: int


@dataclass(frozen=True)
class CategoryMinutes:
    category: str  # "" = uncategorised
    minutes: int


@dataclass(frozen=True)
class SiteUse:
    site: str
    category: str  # the site's most frequent category in the range
    minutes: int  # minutes with any allowed, rewritten or passed-through traffic to it
    requests: int  # decisions counted for it (requests, or connections passed through)


@dataclass(frozen=True)
class CategoryCount:
    category: str
    count: int


@dataclass(frozen=True)
class SiteCount:
    site: str
    count: int


@dataclass(frozen=True)
class PendingRequest:
    id: int
    domain: str
    category: str
    message: str
    created: str


@dataclass(frozen=True)
class ProfileSummary:
    profile: str
    name: str | None  # None when the policies were not read
    sites_visible: bool  # False: the profile's parents see categories only
    minutes_online: int
    minutes_by_day: tuple[DayMinutes, ...]  # every day of the range, oldest first
    minutes_by_category: tuple[CategoryMinutes, ...]
    top_sites: tuple[SiteUse, ...]
    blocked_total: int
    blocked_by_category: tuple[CategoryCount, ...]
    blocked_sites: tuple[SiteCount, ...]
    rewritten_searches: int
    rewritten_by_site: tuple[SiteCount, ...]
    pending_requests: tuple[PendingRequest, ...]
    #: daily limits on the last day of the range (today, by default), in the policy's order
    limits: tuple[LimitUse, ...] = ()
    #: blocked attempts on known child-abuse material (hashed lists): a high-severity alert
    known_abuse: int = 0


@dataclass(frozen=True)
class LimitUse:
    """A daily limit on the report's last day: how much of it was used."""

    category: str
    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Report:
    first_day: date
    last_day: date
    profiles: tuple[ProfileSummary, ...]
    dropped_records: int

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def day_range(last_day: date, days: int) -> tuple[date, date]:
    """The `days` days ending with `last_day` (both included)."""
    return last_day - timedelta(days=days - 1), last_day


def _ranked(counts: Mapping[str, int], top: int | None = None) -> list[tuple[str, int]]:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] == "", kv[0]))
    return items if top is None else items[:top]


class _Acc:
    """Everything counted for one profile while walking the rows once."""

    def __init__(self) -> None:
        self.online_by_day: dict[str, int] = defaultdict(int)
        self.by_category: dict[str, int] = defaultdict(int)
        self.site_minutes: dict[str, int] = defaultdict(int)
        self.site_requests: dict[str, int] = defaultdict(int)
        self.site_cats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.blocked_by_category: dict[str, int] = defaultdict(int)
        self.blocked_sites: dict[str, int] = defaultdict(int)
        self.rewritten_sites: dict[str, int] = defaultdict(int)
        self.requests: list[PendingRequest] = []
        self.last_day_categories: dict[str, int] = defaultdict(int)
        self.known_abuse = 0


def summarise(
    rows: ReportRows,
    first_day: date,
    last_day: date,
    *,
    profiles: Iterable[ProfileInfo] = (),
    only: str | None = None,
    top: int = 10,
) -> Report:
    """Per-profile summaries over `first_day`..`last_day`.

    `profiles` (from the policies, when known) adds names, hides sites of profiles whose
    parents see categories only (even in rows recorded before that setting), and lists
    profiles with no activity. `only` keeps a single profile.
    """
    lo, hi = first_day.isoformat(), last_day.isoformat()
    info = {p.id: p for p in profiles}
    accs: dict[str, _Acc] = defaultdict(_Acc)
    for pid in info:
        accs[pid]  # noqa: B018 — a profile with no activity is still reported
    for a in rows.activity:
        if not lo <= a.day <= hi:
            continue
        acc = accs[a.profile]
        if a.kind == "category" and a.day == hi:
            acc.last_day_categories[a.name] += a.minutes
        if a.kind == "online":
            acc.online_by_day[a.day] += a.minutes
        elif a.kind == "category":
            acc.by_category[a.name] += a.minutes
        elif a.kind == "site":
            acc.site_minutes[a.name] += a.minutes
    for t in rows.totals:
        if not lo <= t.day <= hi:
            continue
        if t.rule == NO_CA:  # a failed handshake, not an attempt: the dashboard shows it apart
            continue
        acc = accs[t.profile]
        if t.rule == KNOWN_ABUSE:
            acc.known_abuse += t.total
        if t.action == "blocked":
            acc.blocked_by_category[t.category] += t.total
            if t.site:
                acc.blocked_sites[t.site] += t.total
            continue
        if t.action == "rewritten":
            acc.rewritten_sites[t.site] += t.total
        if t.site:
            acc.site_requests[t.site] += t.total
            acc.site_cats[t.site][t.category] += t.total
    for r in rows.requests:
        accs[r.profile].requests.append(
            PendingRequest(r.id, r.domain, r.category, r.message, r.created)
        )
    n_days = (last_day - first_day).days + 1
    days = [(first_day + timedelta(days=i)).isoformat() for i in range(n_days)]
    out = []
    for pid in sorted(accs):
        if only is not None and pid != only:
            continue
        p = info.get(pid)
        out.append(_profile(pid, p, accs[pid], days, top))
    return Report(first_day, last_day, tuple(out), rows.dropped_records)


def _profile(
    pid: str, p: ProfileInfo | None, acc: _Acc, days: list[str], top: int
) -> ProfileSummary:
    visible = p is None or p.parents_see != "categories"
    sites = set(acc.site_minutes) | set(acc.site_requests)
    uses = [
        SiteUse(
            s,
            _ranked(acc.site_cats[s])[0][0] if acc.site_cats.get(s) else "",
            acc.site_minutes.get(s, 0),
            acc.site_requests.get(s, 0),
        )
        for s in sites
    ]
    uses.sort(key=lambda u: (-u.minutes, -u.requests, u.site))
    rewritten = sum(acc.rewritten_sites.values())
    return ProfileSummary(
        profile=pid,
        name=p.name if p else None,
        sites_visible=visible,
        minutes_online=sum(acc.online_by_day.values()),
        minutes_by_day=tuple(DayMinutes(d, acc.online_by_day.get(d, 0)) for d in days),
        minutes_by_category=tuple(CategoryMinutes(c, m) for c, m in _ranked(acc.by_category)),
        top_sites=tuple(uses[:top]) if visible else (),
        blocked_total=sum(acc.blocked_by_category.values()),
        blocked_by_category=tuple(CategoryCount(c, n) for c, n in _ranked(acc.blocked_by_category)),
        blocked_sites=tuple(SiteCount(s, n) for s, n in _ranked(acc.blocked_sites, top))
        if visible
        else (),
        rewritten_searches=rewritten,
        known_abuse=acc.known_abuse,
        rewritten_by_site=tuple(SiteCount(s, n) for s, n in _ranked(acc.rewritten_sites, top) if s)
        if visible
        else (),
        pending_requests=tuple(sorted(acc.requests, key=lambda r: (r.created, r.id))),
        limits=tuple(
            LimitUse(c, m, acc.last_day_categories.get(c, 0)) for c, m in (p.limits if p else ())
        ),
    )


def format_minutes(minutes: int) -> str:
    """`45 min`, `2 h 05 min`: how a parent reads time online."""
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
