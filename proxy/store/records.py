"""The one record type the decision log accepts, and how a decision becomes one.

Privacy by construction: a `Record` has a minute, a profile id, a registrable domain, categories
from the product's vocabulary, an outcome, a rule code and a count. Each field is checked on
construction against the shape it may have (a host name cannot contain `/`, `?`, `=` or a
space), so a path, query, search term, header, cookie or password has nowhere to go — not by
convention, but because the constructor refuses it. Error messages name the field, never the
value.

A `Record` is a tuple so the writer thread can aggregate thousands of them in C
(`collections.Counter`) without holding the GIL for long in Python code.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from vaccine.proxy.decision import Decision
from vaccine.proxy.hosts import registrable_domain
from vaccine.proxy.policy.model import CATEGORIES, Profile
from vaccine.proxy.store.errors import BadRecord

log = logging.getLogger("vaccine.store")

Outcome = Literal["allowed", "blocked", "rewritten", "passed-through"]
OUTCOMES: frozenset[str] = frozenset({"allowed", "blocked", "rewritten", "passed-through"})

#: The rule codes of DNS lookups begin with this (`dns.block.categories`): counted as
#: decisions, never as time online (a lookup is not time spent on anything).
DNS_RULE = "dns."

_CATEGORY_SET = frozenset(CATEGORIES)
_RANK = {c: i for i, c in enumerate(CATEGORIES)}

_MINUTE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d", re.ASCII)
# A normalised host (what `registrable_domain` returns) or an IPv4/IPv6 literal. No `/`, `?`,
# `=`, `&`, `%`, space or upper case: nothing a URL path, query or header value needs.
_SITE = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63}){0,126}|[0-9a-f:.]{2,45}", re.ASCII)
# Profile ids are policy file names, as the policy loader allows them (proxy/kinds.py).
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", re.ASCII)
_RULE = re.compile(r"[a-z][a-z_.]{0,31}", re.ASCII)


# Sites already checked. A plain set, not an lru_cache: its 64k linked nodes would be objects
# the garbage collector walks on every full collection, a stall for the event loop.
_SITES_OK: set[str] = set()


def _site_ok(site: str) -> bool:
    if site in _SITES_OK:
        return True
    if site != "" and (len(site) > 253 or _SITE.fullmatch(site) is None):
        return False
    if len(_SITES_OK) >= 65536:
        _SITES_OK.clear()
    _SITES_OK.add(site)
    return True


@functools.lru_cache(maxsize=1024)
def _profile_ok(profile: str) -> bool:
    return _PROFILE.fullmatch(profile) is not None


@functools.lru_cache(maxsize=256)
def _rule_ok(rule: str) -> bool:
    return _RULE.fullmatch(rule) is not None


@functools.lru_cache(maxsize=64)
def _minute_ok(minute: str) -> bool:
    return _MINUTE.fullmatch(minute) is not None


class Record(tuple[str, str, str, str, str, str, tuple[str, ...], int]):
    """One decision (or one further minute of a passed-through connection) for the log.

    `site` is a registrable domain, or "" when the profile's parents see categories only (or
    the request had no usable host). `category` is the host's first category in the
    product's order ("" when uncategorised); `others` holds its other categories, which count
    toward time online but not toward the per-minute decision counts. `counted` is 1 for a
    decision and 0 for a further minute of a connection already counted.
    """

    __slots__ = ()

    def __new__(
        cls,
        minute: str,
        profile: str,
        site: str,
        category: str,
        action: str,
        rule: str,
        others: tuple[str, ...] = (),
        counted: int = 1,
    ) -> Record:
        if type(minute) is not str or not _minute_ok(minute):
            raise BadRecord("minute is not YYYY-MM-DD HH:MM")
        if type(profile) is not str or not _profile_ok(profile):
            raise BadRecord("profile is not a profile id")
        if type(site) is not str or not _site_ok(site):
            raise BadRecord("site is not a registrable domain")
        if category != "" and category not in _CATEGORY_SET:
            raise BadRecord("category is not one of the product's categories")
        if action not in OUTCOMES:
            raise BadRecord("action is not an outcome")
        if type(rule) is not str or not _rule_ok(rule):
            raise BadRecord("rule is not a rule code")
        if type(others) is not tuple or not _CATEGORY_SET.issuperset(others):
            raise BadRecord("others are not the product's categories")
        if type(counted) is not int or not 0 <= counted <= 1_000_000:
            raise BadRecord("counted is not a small non-negative integer")
        return tuple.__new__(cls, (minute, profile, site, category, action, rule, others, counted))

    def __getnewargs__(self) -> tuple[str, str, str, str, str, str, tuple[str, ...], int]:
        return (self[0], self[1], self[2], self[3], self[4], self[5], self[6], self[7])

    def __repr__(self) -> str:
        return (
            f"Record(minute={self[0]!r}, profile={self[1]!r}, site={self[2]!r}, "
            f"category={self[3]!r}, action={self[4]!r}, rule={self[5]!r}, "
            f"others={self[6]!r}, counted={self[7]!r})"
        )

    @property
    def minute(self) -> str:
        return self[0]

    @property
    def profile(self) -> str:
        return self[1]

    @property
    def site(self) -> str:
        return self[2]

    @property
    def category(self) -> str:
        return self[3]

    @property
    def action(self) -> str:
        return self[4]

    @property
    def rule(self) -> str:
        return self[5]

    @property
    def others(self) -> tuple[str, ...]:
        return self[6]

    @property
    def counted(self) -> int:
        return self[7]

    @property
    def day(self) -> str:
        return self[0][:10]


@functools.lru_cache(maxsize=16)
def _minute_text(y: int, mo: int, d: int, h: int, mi: int) -> str:
    return f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}"


def minute_key(when: datetime) -> str:
    """The local wall-clock minute, `YYYY-MM-DD HH:MM` (an aware time is converted first).

    Wall-clock like schedules and daily limits: "today" is the day on the household's clocks.
    """
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return _minute_text(when.year, when.month, when.day, when.hour, when.minute)


@functools.lru_cache(maxsize=4096)
def ordered_categories(categories: frozenset[str]) -> tuple[str, ...]:
    """Known categories in the product's order (the most worrying first); unknown ones dropped."""
    return tuple(sorted((c for c in categories if c in _RANK), key=_RANK.__getitem__))


#: The rule code of a client that failed the TLS handshake with the proxy (most often: the
#: device does not trust the proxy's certificate, so it never sees a block page). Such a record
#: has no site and no category: only the profile, the minute and a count.
NO_CA = "no_ca"
#: The rule code of a request matched by a hashed list of known child-abuse material: the
#: record has no site and no category (the lists' own rule code, proxy/lists/hashed.py).
KNOWN_ABUSE = "known_abuse"


def no_ca_record(profile_id: str, when: datetime) -> Record:
    """The record of one failed TLS handshake: counted as a blocked connection (it got
    nothing), but summaries keep it apart from blocked attempts (`rule == NO_CA`)."""
    return Record(minute_key(when), profile_id, "", "", "blocked", NO_CA)


_refused: set[str] = set()


def record_for(
    profile: Profile, decision: Decision, outcome: str, when: datetime, *, counted: int = 1
) -> Record | None:
    """The log record of one decision, or None when there is nothing recordable.

    Never raises: it runs in the proxy's hooks, where an exception would block the request.
    `decision.detail` is deliberately not used (it is prose and may name list entries); the
    short `rule` code says the same to a parent.
    """
    try:
        if outcome not in OUTCOMES:
            return None
        site = ""
        if profile.parents_see == "domains" and decision.host:
            site = registrable_domain(decision.host)
        cats = ordered_categories(decision.categories)
        category, others = (cats[0], cats[1:]) if cats else ("", ())
        rule = decision.rule if _rule_ok(decision.rule) else "other"
        return Record(minute_key(when), profile.id, site, category, outcome, rule, others, counted)
    except Exception as e:  # never let logging break filtering; say why once per kind
        reason = str(e) if isinstance(e, BadRecord) else type(e).__name__
        if reason not in _refused:
            _refused.add(reason)
            log.warning("a decision could not be recorded in the log: %s", reason)
        return None


def records_for_minutes(
    profile: Profile, decision: Decision, outcome: str, minutes: Iterable[datetime]
) -> list[Record]:
    """Records for further minutes of one connection already recorded by `record_for`.

    Each has `counted` 0: the minute counts toward time online (and the site's minutes), the
    connection is not counted again as a decision. The proxy passes the minutes in which it
    saw the connection open (better: carry traffic); see `minutes_between`.
    """
    out = []
    for when in minutes:
        rec = record_for(profile, decision, outcome, when, counted=0)
        if rec is not None:
            out.append(rec)
    return out


def minutes_between(start: datetime, end: datetime, *, limit: int = 24 * 60) -> list[datetime]:
    """The minutes after `start`'s minute up to and including `end`'s minute (at most `limit`).

    For a connection opened at `start` and still open (or closed) at `end`; `start`'s own minute
    was counted when the connection was recorded.
    """
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    out: list[datetime] = []
    t = first
    while t <= end and len(out) < limit:
        out.append(t)
        t += timedelta(minutes=1)
    return out
