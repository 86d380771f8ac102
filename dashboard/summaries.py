"""The dashboard's pure summaries: log rows, policies and a clock in; `snapshot` records out.

The numbers a parent sees come from `proxy.store.summary.summarise`, the function behind
`vaccine report`; this module only adds what a report has no use for: series per day for the
charts, limits against today's use, which schedule window is in force, which profiles to show
and in what order, and the live rows with sites masked where the parents see categories only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from vaccine.dashboard.snapshot import CategorySeries, CertTrouble, Child, LimitUse, LiveRow
from vaccine.proxy.decision import window_active
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store.records import NO_CA
from vaccine.proxy.store.summary import ActivityRow, ProfileInfo, ReportRows, TotalRow, summarise

DAYS = 7  # the child's page shows a week, today included
TOP = 10  # sites listed on the child's page


def week_of(today: date, days: int = DAYS) -> tuple[date, ...]:
    """The `days` days ending with `today`, oldest first."""
    return tuple(today - timedelta(days=days - 1 - i) for i in range(days))


def shown_profiles(
    profiles: Mapping[str, Profile], in_log: Iterable[str], unknown_devices: str
) -> list[str]:
    """Which profiles get a card, in order: the children (profiles with devices) by name, then
    the profile for unknown devices, then profiles seen only in the log. A profile with no
    devices and no activity (a base such as `defaults`) is left out."""
    logged = set(in_log)
    children = sorted(
        (p for p in profiles.values() if p.devices and p.id != unknown_devices),
        key=lambda p: (p.name.casefold(), p.id),
    )
    order = [p.id for p in children]
    if unknown_devices in profiles or unknown_devices in logged:
        order.append(unknown_devices)
    order += sorted(pid for pid in logged if pid not in order)
    return list(dict.fromkeys(order))


def category_days(
    activity: Iterable[ActivityRow], days: Sequence[date], profile: str
) -> tuple[CategorySeries, ...]:
    """Active minutes per category on each day, biggest week first (ties by name, "" last)."""
    index = {d.isoformat(): i for i, d in enumerate(days)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for a in activity:
        i = index.get(a.day)
        if i is not None and a.profile == profile and a.kind == "category":
            series[a.name][i] += a.minutes
    out = [CategorySeries(c, tuple(m)) for c, m in series.items()]
    out.sort(key=lambda s: (-s.total, s.category == "", s.category))
    return tuple(out)


def blocked_days(totals: Iterable[TotalRow], days: Sequence[date], profile: str) -> tuple[int, ...]:
    """Blocked attempts on each day."""
    index = {d.isoformat(): i for i, d in enumerate(days)}
    counts = [0] * len(days)
    for t in totals:
        i = index.get(t.day)
        if i is not None and t.profile == profile and t.action == "blocked" and t.rule != NO_CA:
            counts[i] += t.total
    return tuple(counts)


#: a device that refused the certificate this many days ago or less is still shown
CERT_DAYS = 1


def cert_trouble(
    totals: Iterable[TotalRow],
    days: Sequence[date],
    names: Mapping[str, str],
    profiles: Mapping[str, Profile],
) -> tuple[CertTrouble, ...]:
    """Profiles whose devices failed the TLS handshake today or yesterday (a device fixed
    since then drops out the next day), most failures today first."""
    index = {d.isoformat(): i for i, d in enumerate(days)}
    today: dict[str, int] = defaultdict(int)
    week: dict[str, int] = defaultdict(int)
    last: dict[str, str] = {}
    for t in totals:
        i = index.get(t.day)
        if i is None or t.rule != NO_CA:
            continue
        week[t.profile] += t.total
        if i == len(days) - 1:
            today[t.profile] += t.total
        last[t.profile] = max(last.get(t.profile, ""), t.day)
    recent = days[-1 - CERT_DAYS].isoformat() if len(days) > CERT_DAYS else ""
    out = [
        CertTrouble(
            pid, names.get(pid, pid), device_name(profiles.get(pid)), today[pid], week[pid], day
        )  # fmt: skip
        for pid, day in last.items()
        if day >= recent
    ]
    out.sort(key=lambda c: (-c.today, -c.week, c.name.casefold()))
    return tuple(out)


def device_name(profile: Profile | None) -> str:
    """The profile's device by its login, when it has exactly one device and that is a login:
    the only case where the log's per-profile count points at one named device."""
    if profile is None or len(profile.devices) != 1:
        return ""
    device = profile.devices[0]
    return device.user or "" if device.kind == "user" else ""


def limit_uses(limits: Mapping[str, int], minutes_today: Mapping[str, int]) -> tuple[LimitUse, ...]:
    """Each daily limit with today's minutes in its category, the fullest first."""
    uses = [LimitUse(c, minutes_today.get(c, 0), m) for c, m in limits.items()]
    uses.sort(key=lambda u: (-u.ratio, u.category))
    return tuple(uses)


def quiet_window(profile: Profile | None, now: datetime) -> str | None:
    """The name of the schedule window in force at `now`, if any."""
    if profile is None:
        return None
    return next((w.name for w in profile.schedule if window_active(w, now)), None)


def build_children(
    rows: ReportRows,
    days: Sequence[date],
    order: Sequence[str],
    profiles: Mapping[str, Profile],
    last_seen: Mapping[str, str],
    now: datetime,
) -> tuple[Child, ...]:
    """A `Child` per profile in `order`: today's and the week's summaries plus the series."""
    infos = [
        ProfileInfo(pid, profiles[pid].name, profiles[pid].parents_see)
        if pid in profiles
        else ProfileInfo(pid, pid)
        for pid in order
    ]
    first, today = days[0], days[-1]
    week = {p.profile: p for p in summarise(rows, first, today, profiles=infos, top=TOP).profiles}
    day = {p.profile: p for p in summarise(rows, today, today, profiles=infos, top=TOP).profiles}
    out = []
    for info in infos:
        profile = profiles.get(info.id)
        today_summary = day[info.id]
        minutes = {c.category: c.minutes for c in today_summary.minutes_by_category}
        out.append(
            Child(
                id=info.id,
                name=info.name,
                profile=profile,
                today=today_summary,
                week=week[info.id],
                limits=limit_uses(profile.limits, minutes) if profile else (),
                by_category_day=category_days(rows.activity, days, info.id),
                blocked_by_day=blocked_days(rows.totals, days, info.id),
                last_seen=last_seen.get(info.id),
                quiet_window=quiet_window(profile, now),
            )
        )
    return tuple(out)


def live_rows(
    rows: Iterable[tuple[str, str, str, str, str, str, int]], categories_only: Iterable[str]
) -> tuple[LiveRow, ...]:
    """Per-minute decision rows as the live view shows them: oldest first, a further minute of
    a connection already counted (count 0) left out, and no site for a profile whose parents
    see categories only (even in rows recorded before that setting)."""
    hidden = set(categories_only)
    merged: dict[tuple[str, ...], int] = defaultdict(int)
    for minute, profile, site, category, action, rule, count in rows:
        if count <= 0:
            continue
        if profile in hidden:
            site = ""
        if action == "passed-through":  # allowed, not decrypted: the same to a parent
            action = "allowed"
        merged[(minute, profile, site, category, action, rule)] += count
    out = [
        LiveRow(minute, profile, site, category, action, rule, count)
        for (minute, profile, site, category, action, rule), count in merged.items()
    ]
    out.sort(key=lambda r: (r.minute, r.profile, r.site, r.category, r.action, r.rule))
    return tuple(out)


def printable(text: str) -> str:
    """A child's message may hold terminal escapes or markup; keep printable characters only."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
