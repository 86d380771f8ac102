"""The decision: request facts + profile + lists + clock + usage in, the whole verdict out.

Pure: no I/O, no mitmproxy. The addons adapt flows to `Facts` and carry out the `Decision`;
`vaccine explain`, the tests and the benchmarks call `decide` directly, so all of them see
exactly what the proxy does. The order of the rules is the contract's (PRODUCT.md, "How a
request is decided", one form of the host in proxy.rules); the first rule that applies wins,
and when the host appears in several forms (CONNECT target, SNI, Host header, URL) the
strictest decision wins.

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

from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.lists.terms import EMPTY_TERMS, Terms
from vaccine.proxy.paths import ASK_PATH
from vaccine.proxy.policy.model import Profile, Window
from vaccine.proxy.rules import Verdict, active, decide_host

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

    def walk(self, host: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
        """The host's categories, the categories of URL entries under it (only the path
        decides those) and proxy.hosts.host_suffixes(host), in one walk."""
        ...

    def url_categories(self, host: str, path: str) -> frozenset[str]: ...


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
        action, rule, detail, host, cats, inspect = verdict
        d = _treated(
            action, rule, detail, host, cats, inspect, stage, profile, never_decrypt, facts.path
        )
        return d, path_matters
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
    elif path is not None and path.startswith(ASK_PATH) and path.split("?", 1)[0] == ASK_PATH:
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
        if hosts is None or len(hosts) != 1 or hosts[0] != onboarding_host:
            return None
        treatment = "tunnel" if stage == "connect" else "intercept"
    return Decision(
        "allow", "onboarding", "the set-up page is always reachable", onboarding_host,
        inspect=True, treatment=treatment,
    )  # fmt: skip


_BAD_SNI: Verdict = (
    "block", "bad_host", "the TLS server name is not a usable host name", "", frozenset(), False
)  # fmt: skip
_BAD_HOST: Verdict = ("block", "bad_host", "the host name is not valid", "", frozenset(), False)
_NO_HOST: Verdict = ("block", "no_host", "no host name in the request", "", frozenset(), False)


def _decide(
    facts: Facts,
    hosts: tuple[str, ...] | None,
    profile: Profile,
    lists: ListIndex,
    now: datetime,
    usage: Usage,
    terms: Terms,
) -> tuple[Verdict, bool]:
    if facts.bad_sni:
        return _BAD_SNI, True
    if hosts is None:
        return _BAD_HOST, True
    if not hosts:
        return _NO_HOST, False
    # The weekday and time once for every window of every form of the host.
    clock = (now.weekday(), now.time()) if profile.schedule else (0, _MIDNIGHT)
    if len(hosts) == 1:
        return decide_host(hosts[0], facts, profile, lists, now, clock, usage, terms)
    verdicts = [decide_host(h, facts, profile, lists, now, clock, usage, terms) for h in hosts]
    d = strictest([Decision(*v) for v, _ in verdicts])
    verdict: Verdict = (d.action, d.rule, d.detail, d.host, d.categories, d.inspect)
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


def window_active(window: Window, now: datetime) -> bool:
    """Is the window in force at local wall-clock time `now`?

    `days` are the days a window starts on: a window from 20:30 to 07:00 on Sunday is still in
    force at 06:59 on Monday. Times are wall-clock, so a daylight-saving change moves nothing.
    """
    return active(window, now.weekday(), now.time())
