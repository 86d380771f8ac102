"""The rules of PRODUCT.md ("How a request is decided") for one form of the host.

proxy.decision normalises the host's spellings, asks these rules of each, keeps the strictest
verdict and turns it into a Decision with what happens to the connection. The verdict comes
back as a plain tuple, Decision's first six fields: building a frozen dataclass costs a
microsecond, and a decision needs only the final one.
"""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime
from typing import TYPE_CHECKING

from vaccine.proxy.hosts import is_ip
from vaccine.proxy.lists.terms import Terms, blocked_detail
from vaccine.proxy.policy.model import Profile, Window
from vaccine.proxy.search.engines import engine_of_normal

if TYPE_CHECKING:  # decision.py imports this module
    from vaccine.proxy.decision import Action, Facts, ListIndex, Usage

type Verdict = tuple[Action, str, str, str, frozenset[str], bool]


def decide_host(
    host: str,
    facts: Facts,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    clock: tuple[int, dtime],
    usage: Usage,
    terms: Terms,
) -> tuple[Verdict, bool]:
    """The rules for one form of the host, and whether a URL entry makes its path count."""
    path = facts.path
    # The host's categories, the categories of URL entries under it and its suffixes, in one
    # walk (in C when it is built).
    cats, url_rules, sfx = lists.walk(host)
    matters = False
    if path is not None and url_rules:  # no URL entry under the host: no path adds any
        cats = cats | lists.url_categories(host, path.split("?", 1)[0])
        matters = True
    # A blocked verdict always asks for decryption, when the device allows it: it is the only
    # way to show the child a page instead of a connection error.

    # 1. A parent's approval for a while (15 minutes, an hour, today) still in force. An
    # "always" approval is an allow.domains entry the file may not hold yet (the proxy reloads
    # it within seconds): it applies where that entry will, at rule 3, so the site does not
    # open now and close again at the reload. Schedule windows the parent chose to include
    # name it in their own `allow` (proxy.policy.windows).
    always: str | None = None
    approvals = usage.approvals
    for suffix in sfx if approvals else ():
        if suffix in approvals:
            until = approvals[suffix]
            if until is None:
                always = always or suffix  # the most specific comes first
            elif until > now:
                detail = f"approved by a parent (until {until:%H:%M})"
                return ("allow", "approval", detail, host, cats, False), matters

    # 2. A schedule window active now.
    today, t = clock
    for window in profile.schedule:
        if not active(window, today, t):
            continue
        if any(s in window.allow for s in sfx):
            continue
        if window.block_everything:
            detail = f"schedule.{window.name}: everything"
            return ("block", "schedule", detail, host, cats, True), matters
        hit = cats & window.categories
        if hit:
            detail = f"schedule.{window.name}: {', '.join(sorted(hit))}"
            return ("block", "schedule", detail, host, hit, True), matters

    # 3. The most specific allow/block domain entry (a tie blocks); an "always" approval
    # counts as an allow entry.
    match = profile.domain_rules.match_suffixes(sfx)
    if always is not None and (
        match is None or len(always) > len(match[1]) or match == ("allow", always)
    ):
        detail = "approved by a parent (always)"
        return ("allow", "approval", detail, host, cats, _inspect(profile)), matters
    if match is not None:
        verdict, entry = match
        if verdict == "block":
            return ("block", "block.domains", f"block.domains: {entry}", host, cats, True), matters
        detail = f"allow.domains: {entry}"
        return ("allow", "allow.domains", detail, host, cats, _inspect(profile)), matters

    # An address is not a name any list can vouch for: only an explicit allow lets it through.
    if len(sfx) == 1 and is_ip(host):
        detail = "an IP address instead of a site name"
        return ("block", "ip_literal", detail, host, cats, True), matters

    # 4. A category of the host is blocked.
    hit = cats & profile.block_categories
    if hit:
        detail = f"block.categories: {', '.join(sorted(hit))}"
        return ("block", "block.categories", detail, host, hit, True), matters

    # 5. A daily limit used up.
    limits = profile.limits
    for category in sorted(cats) if limits and cats else ():
        limit = limits.get(category)
        if limit is not None and usage.minutes_today.get(category, 0) >= limit:
            detail = f"limits.{category}: {limit} min used up"
            return ("block", "limits", detail, host, frozenset({category}), True), matters

    # 6. A search whose words fall in the profile's search_terms categories.
    engine = engine_of_normal(host) if (profile.safe_search or profile.search_terms) else None
    if engine is not None and facts.search and profile.search_terms:
        term_category = terms.match(facts.search, profile.search_terms)
        if term_category is not None:  # the category only: the words are never kept
            detail = blocked_detail(term_category)
            return (
                "block",
                "search_terms",
                detail,
                host,
                frozenset({term_category}),
                True,
            ), matters

    # 7. Allowed; a search engine's safe mode is forced. Decrypt only when the decision must
    # look inside: the profile asks for everything, a search engine whose searches are checked
    # or rewritten, or a URL entry of a blocked category under this host (the path decides).
    if engine is not None:
        if profile.safe_search:
            detail = f"safe_search: strict ({engine})"
            return ("allow", "safe_search", detail, host, cats, True), matters
        return ("allow", "default", "no rule blocks it", host, cats, True), matters
    inspect = _inspect(profile) or bool(url_rules and url_rules & profile.block_categories)
    return ("allow", "default", "no rule blocks it", host, cats, inspect), matters


def _inspect(profile: Profile) -> bool:
    return profile.inspect == "everything"


def active(window: Window, today: int, t: dtime) -> bool:
    if window.start < window.end:
        return today in window.days and window.start <= t < window.end
    # The day before today, as `(now - 1 day).weekday()` without building a datetime.
    return (today in window.days and t >= window.start) or (
        (today - 1) % 7 in window.days and t < window.end
    )
