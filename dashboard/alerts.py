"""Patterns worth a conversation, found in the week's per-day totals. Pure: rows in, alerts out.

An alert says what kind of thing happened and how often, never what: the log has no URLs,
paths or search words to show, and an alert does not even name the sites.

The rules (documented in docs/dashboard.md):

- **Known abuse material** (high severity): any blocked attempt matched by a hashed list of
  known child-abuse material (rule `known_abuse`), from the first one, before every other alert.

- **Concerning attempts**: blocked attempts on `adult` sites or searches, at least
  `CONCERNING[category]` times in the 7 days. Self-harm alerts at the first attempt: one search
  about it is already worth a gentle talk (the help line is shown with it).
- **Getting around the filter**: blocked attempts on VPN and proxy sites (`proxy_bypass`),
  encrypted-DNS services (`doh`) and addresses typed instead of names (rule `ip_literal`).
  Browsers and apps try encrypted DNS and raw addresses on their own now and then, so those two
  need `BYPASS[kind]` attempts before they count; one VPN or proxy site is enough.
- **Stopped using the proxy**: a child's profile (one with devices, not the profile for unknown
  devices) that was active on at least `QUIET_MIN_DAYS` of the 6 days before today and has had
  no traffic for `QUIET_HOURS` hours. A whole day without a single request from a device that
  is used most days usually means the device no longer goes through the proxy (a new network,
  a VPN app, a reset) — or it is simply switched off; the alert says both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from vaccine.dashboard.snapshot import Alert
from vaccine.proxy.store.records import KNOWN_ABUSE
from vaccine.proxy.store.summary import ActivityRow, TotalRow

#: blocked attempts in the week that make an alert, per concerning category
CONCERNING: Mapping[str, int] = {"self_harm": 1, "adult": 3}
#: attempts in the week that make a bypass alert, per kind of bypass
BYPASS: Mapping[str, int] = {"proxy_bypass": 1, "doh": 5, "ip_literal": 5}
QUIET_HOURS = 24
QUIET_MIN_DAYS = 3

_ORDER = {
    "known_abuse": -1,
    "self_harm": 0,
    "adult": 1,
    "bypass": 2,
    "quiet": 3,
}  # most serious first


def _bypass_kind(t: TotalRow) -> str | None:
    if t.rule == "ip_literal":
        return "ip_literal"
    if t.category in ("proxy_bypass", "doh"):
        return t.category
    return None


def find_alerts(
    totals: Iterable[TotalRow],
    activity: Iterable[ActivityRow],
    days: Sequence[date],
    now: datetime,
    last_seen: Mapping[str, str],
    watched: Sequence[str],
) -> tuple[Alert, ...]:
    """Every alert of the week `days` (today last), most serious first.

    `last_seen` is each profile's last active minute ("YYYY-MM-DD HH:MM", or a day alone);
    `watched` the profiles checked for going quiet, in the order they are shown.
    """
    week = {d.isoformat() for d in days}
    today = days[-1].isoformat()
    # (profile, category) → (today, week, sites, searches, last day)
    concerning: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    concerning_last: dict[tuple[str, str], str] = {}
    bypass: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    bypass_today: dict[str, int] = defaultdict(int)
    bypass_last: dict[str, str] = {}
    abuse: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # profile → (today, week)
    abuse_last: dict[str, str] = {}
    for t in totals:
        if t.day not in week or t.action != "blocked":
            continue
        if t.rule == KNOWN_ABUSE:  # high severity: at the first attempt, before everything
            abuse[t.profile][0] += t.total if t.day == today else 0
            abuse[t.profile][1] += t.total
            abuse_last[t.profile] = max(t.day, abuse_last.get(t.profile, ""))
            continue
        if t.category in CONCERNING:
            acc = concerning[(t.profile, t.category)]
            acc[0] += t.total if t.day == today else 0
            acc[1] += t.total
            acc[3 if t.rule == "search_terms" else 2] += t.total
            concerning_last[(t.profile, t.category)] = max(
                t.day, concerning_last.get((t.profile, t.category), "")
            )
        kind = _bypass_kind(t)
        if kind is not None:
            bypass[t.profile][kind] += t.total
            bypass_today[t.profile] += t.total if t.day == today else 0
            bypass_last[t.profile] = max(t.day, bypass_last.get(t.profile, ""))

    alerts: list[Alert] = [
        Alert(profile, "known_abuse", "", n_today, n_week, last_day=abuse_last[profile])
        for profile, (n_today, n_week) in abuse.items()
    ]
    for (profile, category), (n_today, n_week, sites, searches) in concerning.items():
        if n_week >= CONCERNING[category]:
            alerts.append(
                Alert(
                    profile,
                    "concerning",
                    category,
                    n_today,
                    n_week,
                    (("sites", sites), ("searches", searches)),
                    last_day=concerning_last[(profile, category)],
                )
            )
    for profile, kinds in bypass.items():
        if any(n >= BYPASS[k] for k, n in kinds.items()):
            parts = tuple((k, kinds[k]) for k in BYPASS if kinds.get(k))
            alerts.append(
                Alert(
                    profile,
                    "bypass",
                    "",
                    bypass_today[profile],
                    sum(kinds.values()),
                    parts,
                    last_day=bypass_last[profile],
                )
            )
    alerts += quiet_alerts(activity, days, now, last_seen, watched)
    position = {p: i for i, p in enumerate(watched)}

    def rank(a: Alert) -> tuple[int, int, str]:
        kind = _ORDER.get(a.category, 2) if a.kind == "concerning" else _ORDER[a.kind]
        return (kind, position.get(a.profile, len(position)), a.profile)

    alerts.sort(key=rank)
    return tuple(alerts)


def quiet_alerts(
    activity: Iterable[ActivityRow],
    days: Sequence[date],
    now: datetime,
    last_seen: Mapping[str, str],
    watched: Sequence[str],
) -> list[Alert]:
    """Profiles used most days that have had no traffic for `QUIET_HOURS` hours."""
    before = {d.isoformat() for d in days[:-1]}
    active: dict[str, set[str]] = defaultdict(set)
    for a in activity:
        if a.kind == "online" and a.minutes > 0 and a.day in before:
            active[a.profile].add(a.day)
    out = []
    for profile in watched:
        seen = last_seen.get(profile)
        if len(active[profile]) < QUIET_MIN_DAYS or seen is None:
            continue
        if now - last_moment(seen) >= timedelta(hours=QUIET_HOURS):
            out.append(Alert(profile, "quiet", last_seen=seen))
    return out


def last_moment(seen: str) -> datetime:
    """`YYYY-MM-DD HH:MM` as a time; a day alone counts as its last minute (the kinder guess)."""
    if len(seen) == 10:
        return datetime.fromisoformat(seen) + timedelta(days=1, minutes=-1)
    return datetime.fromisoformat(seen)
