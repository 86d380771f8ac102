"""What one look at the decision log gives the dashboard: frozen data, no Textual, no I/O.

The data source (`source.LogSource`) builds a `Snapshot` in a worker thread; screens only
read it. Every site in here is a registrable domain the log already holds (never a URL), and
a profile whose parents see categories only has no sites at all (`summaries` masks them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from vaccine.proxy.errors import Problem
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store.summary import ProfileSummary

State = Literal["ready", "missing", "empty", "unreadable"]
AlertKind = Literal["known_abuse", "concerning", "bypass", "quiet"]


@dataclass(frozen=True)
class LimitUse:
    """A daily limit and the minutes used of it today."""

    category: str
    used: int
    limit: int

    @property
    def ratio(self) -> float:
        return min(1.0, self.used / self.limit) if self.limit > 0 else 1.0

    @property
    def used_up(self) -> bool:
        return self.used >= self.limit


@dataclass(frozen=True)
class CategorySeries:
    """Active minutes in one category on each day of `Snapshot.days`."""

    category: str  # "" = uncategorised
    minutes: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.minutes)


@dataclass(frozen=True)
class Child:
    """One profile: today's and the week's summaries, the same numbers as `vaccine report`."""

    id: str
    name: str
    profile: Profile | None  # from the last good policies; None: only in the log
    today: ProfileSummary
    week: ProfileSummary
    limits: tuple[LimitUse, ...]
    by_category_day: tuple[CategorySeries, ...]  # biggest week first
    blocked_by_day: tuple[int, ...]
    last_seen: str | None  # "YYYY-MM-DD HH:MM" of the last active minute
    quiet_window: str | None  # the schedule window in force now, if any

    @property
    def sites_visible(self) -> bool:
        return self.week.sites_visible


@dataclass(frozen=True)
class Request:
    """An ask-a-parent request, pending or answered."""

    id: int
    profile: str
    name: str
    domain: str
    category: str
    message: str  # the child's own words, shown as printable text only
    created: str
    status: str = "pending"
    answered_at: str | None = None
    approved_until: str | None = None


@dataclass(frozen=True)
class Alert:
    """A pattern worth a conversation: categories and counts, never content."""

    profile: str
    kind: AlertKind
    category: str = ""  # concerning: the category; bypass and quiet: ""
    today: int = 0
    week: int = 0
    #: concerning: {"sites": n, "searches": n}; bypass: {"proxy_bypass"|"doh"|"ip_literal": n}
    parts: tuple[tuple[str, int], ...] = ()
    last_seen: str | None = None  # quiet: the last active minute
    last_day: str = ""  # the last day it happened (for ordering)


@dataclass(frozen=True)
class CertTrouble:
    """A profile whose device refused the proxy's certificate lately (rule `no_ca`): it sees
    "not private" errors instead of block pages. Counts only: no site, no address."""

    profile: str
    name: str
    device: str  # the device, when the profile has only one that can be named; else ""
    today: int
    week: int
    last_day: str  # YYYY-MM-DD


@dataclass(frozen=True)
class LiveRow:
    """One minute's count of one kind of decision, at the level privacy allows."""

    minute: str
    profile: str
    site: str  # "" when the parents see categories only
    category: str
    action: str
    rule: str
    count: int

    @property
    def key(self) -> str:
        return "|".join(
            (self.minute, self.profile, self.site, self.category, self.action, self.rule)
        )


@dataclass(frozen=True)
class PolicyState:
    directory: Path
    loaded: bool  # a good policy set was read at least once
    problems: tuple[Problem, ...] = ()  # errors and warnings of the last check
    language: str = "en"
    help_line: str = ""
    unknown_devices: str = "guest"
    port: int = 8080  # where devices reach the proxy (settings `listen:`)

    @property
    def valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def problems_of(self, profile: Profile | None) -> tuple[Problem, ...]:
        """Problems in the profile's own file, and in settings.yaml (which every profile uses)."""
        if profile is None:
            return self.problems
        names = {profile.source.name, "settings.yaml"}
        return tuple(p for p in self.problems if Path(p.file).name in names)


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    state: State
    db_path: Path
    policy: PolicyState
    reason: str = ""  # why the log is missing or unreadable
    days: tuple[date, ...] = ()  # the last 7 days, oldest first, today last
    children: tuple[Child, ...] = ()
    pending: tuple[Request, ...] = ()
    answered: tuple[Request, ...] = ()  # answered today, newest first
    alerts: tuple[Alert, ...] = ()
    live: tuple[LiveRow, ...] = field(default=())
    dropped_records: int = 0
    cert_trouble: tuple[CertTrouble, ...] = ()

    def child(self, profile_id: str) -> Child | None:
        return next((c for c in self.children if c.id == profile_id), None)

    def alerts_of(self, profile_id: str) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.profile == profile_id)

    def pending_of(self, profile_id: str) -> tuple[Request, ...]:
        return tuple(r for r in self.pending if r.profile == profile_id)
