"""The decision: request facts + profile + lists + clock + usage in, the whole verdict out.

Pure: no I/O, no mitmproxy. The addons adapt flows to `Facts` and carry out the `Decision`;
`vaccine explain`, the tests and the benchmarks call `decide` directly, so all of them see
exactly what the proxy does. The order of the rules is the contract's (PRODUCT.md, "How a
request is decided"); the first rule that applies wins, and when the host appears in several
forms (CONNECT target, SNI, Host header, URL) the strictest decision wins.

A decision is not only allow/block: `treatment` says what happens to the connection or the
request at the moment it was asked (`Facts.stage`) — refused at CONNECT or at the TLS
ClientHello, decrypted, passed through untouched, answered with a page, rewritten for safe
search, forwarded — taking in the device (`ca_installed`), the profile (`inspect`), the
household (`never_decrypt`) and the set-up page that is always reachable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from typing import Literal, Protocol

from vaccine.proxy.hosts import BadHost, host_suffixes, is_ip, normalise_host
from vaccine.proxy.lists.terms import EMPTY_TERMS, Terms, blocked_detail
from vaccine.proxy.paths import ASK_PATH
from vaccine.proxy.policy.model import Profile, Window
from vaccine.proxy.search.engines import engine_of_normal

log = logging.getLogger(__name__)

Action = Literal["allow", "block"]

#: When the decision is asked: a CONNECT (the tunnel's target), a TLS ClientHello (the SNI and
#: the address), a connection whose first bytes are neither TLS nor HTTP (`tunnel`: SSH, a
#: VPN, random bytes), an HTTP request (plain, or inside a decrypted connection), or a DNS
#: lookup of the name (`dns`, proxy.dns turns the verdict into an answer).
Stage = Literal["connect", "handshake", "tunnel", "request", "dns"]

#: What the proxy does, per stage:
#: - connect: `refuse` (403, the tunnel never opens) or `tunnel` (open it; the handshake or
#:   the requests inside are decided in turn);
#: - handshake: `refuse` (the connection is closed), `intercept` (decrypt, then decide each
#:   request) or `pass_through` (relay it encrypted and untouched);
#: - tunnel: `refuse` (closed), or `pass_through` for an allowed host when the profile says
#:   `tunnels: allow`;
#: - request: `page` (the proxy answers 403 with `Decision.page`), `ask` (the block page's
#:   "Ask a parent" form, answered by the proxy), `rewrite` (safe search forced), `forward`
#:   (sent as it came) or `onboarding` (mitmproxy's set-up app answers);
#: - dns: `refuse` (a blocked name: proxy.dns says how it is answered), `rewrite` (answered
#:   with the engine's safe host) or `forward` (resolved upstream as asked).
Treatment = Literal[
    "refuse", "tunnel", "intercept", "pass_through", "page", "ask", "rewrite", "forward",
    "onboarding",
]  # fmt: skip

#: Which page a blocked request is answered with.
Page = Literal["block", "schedule", "times_up", "search"]
_PAGES: dict[str, Page] = {"schedule": "schedule", "limits": "times_up", "search_terms": "search"}


class ListIndex(Protocol):
    """What the decision needs of the category lists (see proxy.lists.Lists)."""

    def categories(self, host: str) -> frozenset[str]: ...
    def url_categories(self, host: str, path: str) -> frozenset[str]: ...
    def url_rule_categories(
        self, host: str, suffixes: tuple[str, ...] | None = None
    ) -> frozenset[str]: ...


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
    #: None: a request when there is a path, else a handshake (what `vaccine explain` of a
    #: bare host name asks)
    stage: Stage | None = None
    #: for a request, the host exactly as mitmproxy's own apps compare it (`pretty_host`):
    #: the onboarding app answers only that spelling of its name
    app_host: str | None = None
    #: a ClientHello carries a server name extension that names nothing usable (two names,
    #: another name type, a name no host parser accepts): never read as "no SNI"
    bad_sni: bool = False

    @property
    def moment(self) -> Stage:
        if self.stage is not None:
            return self.stage
        return "request" if self.path is not None else "handshake"


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
    #: what the proxy does with the connection or request (see `Treatment`)
    treatment: Treatment = "forward"
    #: the page a blocked request is answered with (treatment `page`)
    page: Page | None = None

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    @property
    def decrypted(self) -> bool:
        """The proxy sees inside: an intercepted handshake, or any request (plain or inside)."""
        return self.treatment not in ("refuse", "tunnel", "pass_through")


def decide(
    facts: Facts,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage = NO_USAGE,
    terms: Terms = EMPTY_TERMS,
    *,
    never_decrypt: frozenset[str] = frozenset(),
    onboarding_host: str | None = None,
) -> Decision:
    """Decide one request, CONNECT or handshake. Never raises: an internal error blocks
    (fail closed).

    `never_decrypt` is settings.yaml's; `onboarding_host` is the set-up page's name (mitmproxy's
    `onboarding_host`), or None when the set-up page is switched off.
    """
    return decide_noting_path(
        facts, profile, lists, now, usage, terms,
        never_decrypt=never_decrypt, onboarding_host=onboarding_host,
    )[0]  # fmt: skip


def decide_noting_path(
    facts: Facts,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage = NO_USAGE,
    terms: Terms = EMPTY_TERMS,
    *,
    never_decrypt: frozenset[str] = frozenset(),
    onboarding_host: str | None = None,
) -> tuple[Decision, bool]:
    """`decide`, and whether the request's path beyond the ask form could change it (a URL
    entry under one of the host's forms): what proxy.memo must know to remember the decision,
    found by the walk the decision makes anyway."""
    stage = facts.moment
    try:
        # Each spelling normalised once, shared by every step below.
        hosts = _normalised(facts.hosts)
        onboarding = _onboarding(facts, stage, onboarding_host, hosts)
        if onboarding is not None:
            return onboarding, False
        verdict, path_matters = _decide(facts, hosts, profile, lists, now, usage, terms)
        return _treated(*verdict, stage, profile, never_decrypt, facts.path), path_matters
    except Exception:  # fail closed, and say so
        log.exception("internal error while deciding; blocking")
        return fail_closed(stage), True


def fail_closed(stage: Stage) -> Decision:
    """The verdict when deciding itself failed: blocked, and never relayed unseen."""
    treatment: Treatment = "page" if stage == "request" else "refuse"
    return Decision(
        "block", "error", "internal error while deciding (blocked to be safe)",
        treatment=treatment, page="block" if stage == "request" else None,
    )  # fmt: skip


def treat(
    d: Decision,
    stage: Stage,
    profile: Profile,
    never_decrypt: frozenset[str] = frozenset(),
    path: str | None = None,
) -> Decision:
    """The rules' verdict with what happens to the connection at this stage."""
    return _treated(
        d.action, d.rule, d.detail, d.host, d.categories, d.inspect,
        stage, profile, never_decrypt, path,
    )  # fmt: skip


#: The rules' verdict before treatment: Decision's first six fields, as a plain tuple because
#: building a frozen dataclass costs a microsecond and a decision needs only the final one.
_Verdict = tuple[Action, str, str, str, frozenset[str], bool]


def _treated(
    action: Action,
    rule: str,
    detail: str,
    host: str,
    categories: frozenset[str],
    inspect: bool,
    stage: Stage,
    profile: Profile,
    never_decrypt: frozenset[str],
    path: str | None,
) -> Decision:
    treatment: Treatment
    page: Page | None = None
    blocked = action == "block"
    # Decrypting needs the device to trust our CA, and never touches banking, health, ...
    can_intercept = profile.ca_installed and not (categories and categories & never_decrypt)
    if stage == "connect":
        # A blocked host may still be tunnelled to show the page, when the page can be shown.
        treatment = "refuse" if blocked and not can_intercept else "tunnel"
    elif stage == "handshake":
        if blocked:
            # A page needs a name to be shown for: a handshake without a usable one is closed.
            treatment = "intercept" if can_intercept and rule != "bad_host" else "refuse"
        else:
            treatment = "intercept" if inspect and can_intercept else "pass_through"
    elif stage == "dns":
        treatment = "refuse" if blocked else "rewrite" if rule == "safe_search" else "forward"
    elif stage == "tunnel":
        # What the proxy cannot look into never reaches a blocked host, and by default
        # nothing at all: a child's every connection stays decidable.
        if not blocked and profile.tunnels != "allow":
            return Decision(
                "block", "tunnels", "neither web nor TLS (tunnels: refuse)", host,
                categories, treatment="refuse",
            )  # fmt: skip
        treatment = "refuse" if blocked else "pass_through"
    elif path is not None and path.split("?", 1)[0] == ASK_PATH:
        treatment = "ask"  # the proxy's own form; never forwarded, whatever the rules say
    elif blocked:
        treatment, page = "page", _PAGES.get(rule, "block")
    elif rule == "safe_search":
        treatment = "rewrite"
    else:
        treatment = "forward"
    # Decision's own __init__ sets each field through object.__setattr__ (it is frozen):
    # twice the cost of handing it its fields at once, on every decision.
    d = _new(Decision)
    _set(d, "__dict__", {
        "action": action, "rule": rule, "detail": detail, "host": host,
        "categories": categories, "inspect": inspect, "treatment": treatment, "page": page,
    })  # fmt: skip
    return d


_new = object.__new__
_set = object.__setattr__


def _normalised(raws: tuple[str, ...]) -> tuple[str, ...] | None:
    """The distinct normalised forms of the host, in order; None when one is not a host."""
    if len(raws) == 1 and raws[0]:  # the common case: a CONNECT, an SNI, a DNS name
        try:
            return (normalise_host(raws[0]),)
        except BadHost:
            return None
    out: list[str] = []
    for raw in raws:
        if raw is None or raw == "":
            continue
        try:
            host = normalise_host(raw)
        except BadHost:
            return None
        if host not in out:
            out.append(host)
    return tuple(out)


def _onboarding(
    facts: Facts, stage: Stage, onboarding_host: str | None, hosts: tuple[str, ...] | None
) -> Decision | None:
    """The set-up page (installing the CA) is always reachable, but only by its own name: a
    handshake naming it beside another host (CONNECT mitm.it, SNI of a blocked site) and any
    other spelling of it in a request (`MITM.IT.`, which mitmproxy's app would not answer and
    would reach the network) are decided like any host."""
    # The set-up page is web, never a tunnel; its name in DNS is proxy.dns's business.
    if not onboarding_host or stage in ("tunnel", "dns"):
        return None
    if stage == "request":
        if facts.app_host != onboarding_host:
            return None
        treatment: Treatment = "onboarding"
    else:
        # Every named form is the set-up page's (an unusable one is decided like any host).
        if hosts != (onboarding_host,):
            return None
        treatment = "tunnel" if stage == "connect" else "intercept"
    return Decision(
        "allow", "onboarding", "the set-up page is always reachable", onboarding_host,
        inspect=True, treatment=treatment,
    )  # fmt: skip


_BAD_SNI: _Verdict = (
    "block", "bad_host", "the TLS server name is not a usable host name", "", frozenset(), False
)  # fmt: skip
_BAD_HOST: _Verdict = ("block", "bad_host", "the host name is not valid", "", frozenset(), False)
_NO_HOST: _Verdict = ("block", "no_host", "no host name in the request", "", frozenset(), False)


def _decide(
    facts: Facts,
    hosts: tuple[str, ...] | None,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage,
    terms: Terms,
) -> tuple[_Verdict, bool]:
    if facts.bad_sni:
        return _BAD_SNI, True
    if hosts is None:
        return _BAD_HOST, True
    if not hosts:
        return _NO_HOST, False
    # The weekday and time once for every window of every form of the host.
    clock = (now.weekday(), now.time()) if profile.schedule else (0, _MIDNIGHT)
    if len(hosts) == 1:
        return _decide_host(hosts[0], facts, profile, lists, now, clock, usage, terms)
    verdicts = [_decide_host(h, facts, profile, lists, now, clock, usage, terms) for h in hosts]
    d = strictest([Decision(*v) for v, _ in verdicts])
    verdict: _Verdict = (d.action, d.rule, d.detail, d.host, d.categories, d.inspect)
    return verdict, any(matters for _, matters in verdicts)


_MIDNIGHT = dtime()


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
    clock: tuple[int, dtime],
    usage: Usage,
    terms: Terms,
) -> tuple[_Verdict, bool]:
    """The rules for one form of the host, and whether a URL entry makes its path count."""
    path = facts.path
    cats = lists.categories(host)
    sfx = host_suffixes(host)
    url_rules: frozenset[str] | None = None
    if path is not None:
        url_rules = lists.url_rule_categories(host, sfx)
        if url_rules:  # no URL entry under the host: no path can add a category
            cats = cats | lists.url_categories(host, path.split("?", 1)[0])
    matters = bool(url_rules)
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
        if not _active(window, today, t):
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
    inspect = _inspect(profile)
    if not inspect:
        if url_rules is None:
            url_rules = lists.url_rule_categories(host, sfx)
        inspect = bool(url_rules and url_rules & profile.block_categories)
    return ("allow", "default", "no rule blocks it", host, cats, inspect), matters


def _inspect(profile: Profile) -> bool:
    return profile.inspect == "everything"


def window_active(window: Window, now: datetime) -> bool:
    """Is the window in force at local wall-clock time `now`?

    `days` are the days a window starts on: a window from 20:30 to 07:00 on Sunday is still in
    force at 06:59 on Monday. Times are wall-clock, so a daylight-saving change moves nothing.
    """
    return _active(window, now.weekday(), now.time())


def _active(window: Window, today: int, t: dtime) -> bool:
    if window.start < window.end:
        return today in window.days and window.start <= t < window.end
    # The day before today, as `(now - 1 day).weekday()` without building a datetime.
    return (today in window.days and t >= window.start) or (
        (today - 1) % 7 in window.days and t < window.end
    )
