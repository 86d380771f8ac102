"""Whole decisions remembered for the current minute: a host seen this minute is decided again
in about a microsecond instead of ten.

Everything `decide` reads is either in the key or bounded by the minute:

- the request: every field of `Facts` except the path, which is in the key only when it can
  matter (a URL entry under one of the host's forms, or the ask form's path);
- the profile, the lists, the search terms, `never_decrypt`: the household's, and a reload
  builds a new household with a new memo; the profile object itself is checked on a hit;
- the clock: schedule windows start and end on whole minutes, and the memo is emptied when the
  minute changes. An approval that ends within the current minute is the one exception: while
  one does, its profile is decided afresh;
- approvals: the approvals object of the profile (replaced whole when a parent decides), or
  none at all;
- daily limits: which of the profile's limited categories are used up, not the minutes.

Never remembered: a request carrying a search (its words are checked every time), a failure,
a host no one could name (a 1 MB Host header must not stay in memory), a path over 2 KB.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vaccine.proxy.decision import Decision, Facts, Usage
from vaccine.proxy.paths import ASK_PATH
from vaccine.proxy.policy.model import Profile

MAX_ENTRIES = 16_384  # a school lab's busiest minute fits; a flood of new names only empties it

MAX_PATH = 2048  # longer paths are decided afresh: an entry must stay small
#: never remembered: a failure (the next call retries) and hosts no one could name (a 1 MB
#: Host header would stay in memory for the rest of the minute)
_NOT_KEPT = frozenset({"error", "bad_host", "no_host"})

Minute = tuple[int, int, int, int, int]
Compute = Callable[[Facts, Profile, datetime, Usage, str | None], tuple[Decision, bool]]


def _minute(t: datetime) -> Minute:
    return (t.year, t.month, t.day, t.hour, t.minute)


class DecisionMemo:
    def __init__(self) -> None:
        self._minute: Minute | None = None
        self._entries: dict[tuple[object, ...], tuple[object, ...]] = {}
        self.hits = self.misses = 0

    def decide(
        self,
        facts: Facts,
        profile: Profile,
        now: datetime,
        usage: Usage,
        onboarding_host: str | None,
        compute: Compute,
    ) -> Decision:
        """The decision `compute` would make now, given these same arguments; it returns it
        with whether the path beyond the ask form could change it
        (proxy.decision.decide_noting_path)."""
        if facts.search is not None:  # a search's words are checked every time, never kept
            return compute(facts, profile, now, usage, onboarding_host)[0]
        minute = (now.year, now.month, now.day, now.hour, now.minute)
        entries = self._entries
        if minute != self._minute:
            entries.clear()
            self._minute = minute
        approvals = usage.approvals
        if approvals and _ends_within(approvals.values(), minute, now):
            return compute(facts, profile, now, usage, onboarding_host)[0]
        limits = profile.limits
        used_up: tuple[str, ...] = ()
        if limits and usage.minutes_today:
            spent = usage.minutes_today
            used_up = tuple(c for c, n in limits.items() if spent.get(c, 0) >= n)
        path = facts.path
        # none, a path, or the ask form's (answered by the proxy whatever the host)
        kind = 0 if path is None else 2 if _is_ask(path) else 1
        # No approvals is one state whatever empty mapping carries it (the proxy builds a new
        # `{}` whenever minutes are counted): keyed by identity, it would never hit again.
        key = (id(profile), facts.hosts, facts.stage, kind, facts.app_host, facts.bad_sni,
               onboarding_host, id(approvals) if approvals else 0, used_up)  # fmt: skip
        hit = entries.get(key)
        if (
            hit is not None
            and hit[0] is profile
            and (hit[1] is approvals or not approvals)
            and (not hit[3] or hit[4] == path)
        ):
            self.hits += 1
            return hit[2]  # type: ignore[return-value]
        self.misses += 1
        decision, path_matters = compute(facts, profile, now, usage, onboarding_host)
        if decision.rule in _NOT_KEPT or (path is not None and len(path) > MAX_PATH):
            return decision
        if len(entries) >= MAX_ENTRIES:
            entries.clear()
        # The objects are kept in the entry, so their ids in the key cannot be reused.
        entries[key] = (profile, approvals or None, decision, path_matters, path)
        return decision


def _is_ask(path: str) -> bool:
    return path.startswith(ASK_PATH) and path.split("?", 1)[0] == ASK_PATH


def _ends_within(untils: object, minute: Minute, now: datetime) -> bool:
    """Does an approval end later in the current minute (so the decision changes within it)?"""
    return any(
        until is not None and until > now and _minute(until) == minute
        for until in untils  # type: ignore[attr-defined]
    )
