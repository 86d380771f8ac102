"""The decision: request facts + profile + lists + clock + usage in, a `Decision` out.

Pure: no I/O, no mitmproxy. The addon adapts flows to `Facts`; `vaccine explain`, the tests
and the benchmarks call `decide` directly. The order of the rules is the contract's
(PRODUCT.md, "How a request is decided"); the first rule that applies wins, and when the host
appears in several forms (CONNECT target, SNI, Host header, URL) the strictest decision wins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from vaccine.proxy.hosts import BadHost, is_ip, normalise_host, suffixes
from vaccine.proxy.lists.terms import EMPTY_TERMS, Terms, blocked_detail
from vaccine.proxy.policy.model import Profile, Window
from vaccine.proxy.search.engines import engine_of

log = logging.getLogger(__name__)

Action = Literal["allow", "block"]


class ListIndex(Protocol):
    """What the decision needs of the category lists (see proxy.lists.Lists)."""

    def categories(self, host: str) -> frozenset[str]: ...
    def url_categories(self, host: str, path: str) -> frozenset[str]: ...
    def url_rule_categories(self, host: str) -> frozenset[str]: ...


@dataclass(frozen=True)
class Facts:
    """What is known of one request, CONNECT or ClientHello.

    `hosts` holds every spelling of the host the client used, raw (normalised here).
    `path` is the request path with its query, or None when only the host is known.
    `search` is the text of a search the request makes (from its URL or body), when the host
    is a search engine; the addon extracts it (proxy.engines.extract_query).
    """

    hosts: tuple[str, ...]
    path: str | None = None
    search: str | None = None


@dataclass(frozen=True)
class Usage:
    """Facts from outside the request: approvals in force, minutes used today per category."""

    approvals: Mapping[str, datetime | None] = field(default_factory=dict)  # domain → until
    minutes_today: Mapping[str, int] = field(default_factory=dict)


NO_USAGE = Usage()


@dataclass(frozen=True)
class Decision:
    action: Action
    #: which rule decided: approval, schedule, allow.domains, block.domains, ip_literal,
    #: block.categories, limits, search_terms, safe_search, default, bad_host, no_host, error
    rule: str
    #: the rule in words for `vaccine explain` and the log, e.g. "block.domains: tiktok.com"
    detail: str
    host: str = ""
    categories: frozenset[str] = frozenset()
    #: the decision needs to see inside TLS (a block page to show, a path or query to check)
    inspect: bool = False

    @property
    def blocked(self) -> bool:
        return self.action == "block"


def decide(
    facts: Facts,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage = NO_USAGE,
    terms: Terms = EMPTY_TERMS,
) -> Decision:
    """Decide one request. Never raises: an internal error blocks (fail closed)."""
    try:
        return _decide(facts, profile, lists, now, usage, terms)
    except Exception:  # fail closed, and say so
        log.exception("internal error while deciding; blocking")
        return Decision("block", "error", "internal error while deciding (blocked to be safe)")


def _decide(
    facts: Facts, profile: Profile, lists: ListIndex, now: datetime, usage: Usage, terms: Terms
) -> Decision:
    decisions: list[Decision] = []
    seen: set[str] = set()
    for raw in facts.hosts:
        if raw is None or raw == "":
            continue
        try:
            host = normalise_host(raw)
        except BadHost:
            return Decision("block", "bad_host", "the host name is not valid")
        if host in seen:
            continue
        seen.add(host)
        decisions.append(_decide_host(host, facts, profile, lists, now, usage, terms))
    if not decisions:
        return Decision("block", "no_host", "no host name in the request")
    return strictest(decisions)


def strictest(decisions: Sequence[Decision]) -> Decision:
    """A block beats an allow; among allows, any need to inspect is kept."""
    for d in decisions:
        if d.blocked:
            return d
    for d in decisions:
        if d.rule == "safe_search":  # a rewrite is stricter than a plain allow
            return d
    first = decisions[0]
    if any(d.inspect for d in decisions) and not first.inspect:
        return Decision(
            first.action,
            first.rule,
            first.detail,
            first.host,
            frozenset().union(*(d.categories for d in decisions)),
            inspect=True,
        )
    return first


def _decide_host(
    host: str,
    facts: Facts,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage,
    terms: Terms,
) -> Decision:
    path = facts.path
    cats = lists.categories(host)
    if path is not None:
        cats = cats | lists.url_categories(host, path.split("?", 1)[0])

    def block(rule: str, detail: str, categories: frozenset[str] = cats) -> Decision:
        # A blocked host is always worth decrypting, when the device allows it: it is the only
        # way to show the child a page instead of a connection error.
        return Decision("block", rule, detail, host, categories, inspect=True)

    # 1. A parent's approval still in force.
    for suffix in suffixes(host) if usage.approvals else ():
        if suffix in usage.approvals:
            until = usage.approvals[suffix]
            if until is None or until > now:
                when = "always" if until is None else f"until {until:%H:%M}"
                return Decision("allow", "approval", f"approved by a parent ({when})", host, cats)

    # 2. A schedule window active now.
    for window in profile.schedule:
        if not window_active(window, now):
            continue
        if any(s in window.allow for s in suffixes(host)):
            continue
        if window.block_everything:
            return block("schedule", f"schedule.{window.name}: everything")
        hit = cats & window.categories
        if hit:
            return block("schedule", f"schedule.{window.name}: {', '.join(sorted(hit))}", hit)

    # 3. The most specific allow/block domain entry (a tie blocks).
    match = profile.domain_rules.match(host)
    if match is not None:
        verdict, entry = match
        if verdict == "block":
            return block("block.domains", f"block.domains: {entry}")
        return Decision(
            "allow", "allow.domains", f"allow.domains: {entry}", host, cats, _inspect(profile)
        )

    # An address is not a name any list can vouch for: only an explicit allow lets it through.
    if is_ip(host):
        return block("ip_literal", "an IP address instead of a site name")

    # 4. A category of the host is blocked.
    hit = cats & profile.block_categories
    if hit:
        return block("block.categories", f"block.categories: {', '.join(sorted(hit))}", hit)

    # 5. A daily limit used up.
    for category in sorted(cats):
        limit = profile.limits.get(category)
        if limit is not None and usage.minutes_today.get(category, 0) >= limit:
            return block("limits", f"limits.{category}: {limit} min used up", frozenset({category}))

    # 6. A search whose words fall in the profile's search_terms categories.
    engine = engine_of(host) if (profile.safe_search or profile.search_terms) else None
    if engine is not None and facts.search and profile.search_terms:
        term_category = terms.match(facts.search, profile.search_terms)
        if term_category is not None:  # the category only: the words are never kept
            hit = frozenset({term_category})
            return block("search_terms", blocked_detail(term_category), hit)

    # 7. Allowed; a search engine's safe mode is forced. Decrypt only when the decision must
    # look inside: the profile asks for everything, a search engine whose searches are checked
    # or rewritten, or a URL entry of a blocked category under this host (the path decides).
    if engine is not None:
        if profile.safe_search:
            return Decision("allow", "safe_search", f"safe_search: strict ({engine})", host,
                            cats, inspect=True)  # fmt: skip
        return Decision("allow", "default", "no rule blocks it", host, cats, inspect=True)
    inspect = _inspect(profile) or bool(lists.url_rule_categories(host) & profile.block_categories)
    return Decision("allow", "default", "no rule blocks it", host, cats, inspect)


def _inspect(profile: Profile) -> bool:
    return profile.inspect == "everything"


def window_active(window: Window, now: datetime) -> bool:
    """Is the window in force at local wall-clock time `now`?

    `days` are the days a window starts on: a window from 20:30 to 07:00 on Sunday is still in
    force at 06:59 on Monday. Times are wall-clock, so a daylight-saving change moves nothing.
    """
    t = now.time()
    today = now.weekday()
    if window.start < window.end:
        return today in window.days and window.start <= t < window.end
    yesterday = (now - timedelta(days=1)).weekday()
    return (today in window.days and t >= window.start) or (
        yesterday in window.days and t < window.end
    )
