from __future__ import annotations

from dataclasses import FrozenInstanceError, fields, replace
from datetime import datetime, time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.decision import (
    NO_USAGE,
    Decision,
    Facts,
    Stage,
    Usage,
    decide,
    strictest,
    window_active,
)
from vaccine.proxy.hosts import suffixes
from vaccine.proxy.lists.terms import Entry, build_terms
from vaccine.proxy.policy.model import DomainRules, Profile, Window


class FakeLists:
    """A list index over plain dicts: host entry → categories, (host, path prefix) → categories."""

    def __init__(
        self,
        domains: dict[str, set[str]] | None = None,
        urls: dict[tuple[str, str], set[str]] | None = None,
    ) -> None:
        self.domains = domains or {}
        self.urls = urls or {}

    def categories(self, host: str) -> frozenset[str]:
        out: set[str] = set()
        for s in suffixes(host):
            out |= self.domains.get(s, set())
        return frozenset(out)

    def url_categories(self, host: str, path: str) -> frozenset[str]:
        out: set[str] = set()
        for (h, prefix), cats in self.urls.items():
            if h in set(suffixes(host)) and path.startswith(prefix):
                out |= cats
        return frozenset(out)

    def url_rule_categories(
        self, host: str, walked: tuple[str, ...] | None = None
    ) -> frozenset[str]:
        assert walked is None or walked == tuple(suffixes(host))
        hosts = set(suffixes(host))
        return frozenset(c for (h, _), cats in self.urls.items() if h in hosts for c in cats)

    def walk(self, host: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
        return self.categories(host), self.url_rule_categories(host), tuple(suffixes(host))


LISTS = FakeLists(
    {
        "adultsite.com": {"adult"},
        "games.com": {"games"},
        "youtube.com": {"video"},
        "khanacademy.org": {"education"},
        "mybank.com": {"banking"},
        "1.2.3.4": {"malware"},
    },
    {("sites.example.org", "/bad/"): {"adult"}},
)

# Monday 2026-11-23 at noon
NOON = datetime(2026, 11, 23, 12, 0)


def profile(**kw: object) -> Profile:
    allow = tuple(kw.pop("allow", ()))  # type: ignore[arg-type]
    block = tuple(kw.pop("block", ()))  # type: ignore[arg-type]
    base = Profile(
        id="emma",
        name="Emma",
        source=Path("emma.yaml"),
        block_categories=frozenset({"adult", "malware"}),
        allow_domains=allow,
        block_domains=block,
        domain_rules=DomainRules.build(allow, block),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def run(
    host: str | tuple[str, ...],
    p: Profile | None = None,
    path: str | None = None,
    now: datetime = NOON,
    usage: Usage = NO_USAGE,
) -> Decision:
    hosts = (host,) if isinstance(host, str) else host
    return decide(Facts(hosts, path), p or profile(), LISTS, now, usage)


@pytest.mark.parametrize(
    ("host", "p", "action", "rule"),
    [
        ("example.com", profile(), "allow", "default"),
        ("adultsite.com", profile(), "block", "block.categories"),
        ("www.AdultSite.com.", profile(), "block", "block.categories"),
        ("deep.www.adultsite.com:443", profile(), "block", "block.categories"),
        ("notadultsite.com", profile(), "allow", "default"),
        ("tiktok.com", profile(block=["tiktok.com"]), "block", "block.domains"),
        ("www.tiktok.com", profile(block=["tiktok.com"]), "block", "block.domains"),
        # allow.domains is rule 3, categories rule 4: an allowed entry wins over a list
        ("adultsite.com", profile(allow=["adultsite.com"]), "allow", "allow.domains"),
        # the most specific entry wins, both ways
        (
            "ok.tiktok.com",
            profile(block=["tiktok.com"], allow=["ok.tiktok.com"]),
            "allow",
            "allow.domains",
        ),
        ("bad.ok.com", profile(allow=["ok.com"], block=["bad.ok.com"]), "block", "block.domains"),
        # a tie blocks
        ("same.com", profile(allow=["same.com"], block=["same.com"]), "block", "block.domains"),
        # IP literals: blocked unless allowed
        ("10.9.8.7", profile(), "block", "ip_literal"),
        ("[2001:db8::1]:443", profile(), "block", "ip_literal"),
        ("2130706433", profile(), "block", "ip_literal"),
        ("10.9.8.7", profile(allow=["10.9.8.7"]), "allow", "allow.domains"),
        ("bad host!", profile(), "block", "bad_host"),
    ],
)
def test_rules_in_order(host: str, p: Profile, action: str, rule: str) -> None:
    d = run(host, p)
    assert (d.action, d.rule) == (action, rule)


def test_every_form_of_the_host_is_checked_and_the_strictest_wins() -> None:
    # CONNECT to an allowed name, SNI or Host header naming a blocked one (domain fronting)
    for hosts in [
        ("example.com", "adultsite.com"),
        ("adultsite.com", "example.com"),
        ("example.com", None, "www.adultsite.com"),
    ]:
        d = decide(Facts(tuple(h for h in hosts if h)), profile(), LISTS, NOON)
        assert d.blocked and d.host.endswith("adultsite.com")
    assert decide(Facts(()), profile(), LISTS, NOON).rule == "no_host"


def test_url_entries_need_the_path_and_ask_for_decryption() -> None:
    host_only = run("sites.example.org")
    assert host_only.action == "allow" and host_only.inspect
    assert run("sites.example.org", path="/bad/page?q=1").blocked
    assert not run("sites.example.org", path="/good/").blocked
    assert not run("example.com").inspect


def test_blocks_ask_for_decryption_so_a_page_can_be_shown() -> None:
    assert run("adultsite.com").inspect
    assert run("example.com", profile(inspect="everything")).inspect


def test_an_approval_in_force_comes_first() -> None:
    until = datetime(2026, 11, 23, 13, 0)
    usage = Usage(approvals={"adultsite.com": until})
    assert run("www.adultsite.com", usage=usage).rule == "approval"
    assert run("adultsite.com", now=datetime(2026, 11, 23, 13, 1), usage=usage).blocked
    assert run("adultsite.com", usage=Usage(approvals={"adultsite.com": None})).action == "allow"


BEDTIME = Window(
    "bedtime",
    frozenset({6, 0, 1, 2, 3}),
    time(20, 30),
    time(7, 0),
    True,
    frozenset(),
    ("khanacademy.org",),
)
HOMEWORK = Window(
    "homework",
    frozenset({0, 1, 2, 3, 4}),
    time(16, 0),
    time(18, 0),
    False,
    frozenset({"games", "video"}),
)


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (datetime(2026, 11, 22, 20, 29), False),  # Sunday before the window
        (datetime(2026, 11, 22, 20, 30), True),  # Sunday, window starts
        (datetime(2026, 11, 23, 6, 59), True),  # Monday morning: Sunday's window goes on
        (datetime(2026, 11, 23, 7, 0), False),
        (datetime(2026, 11, 27, 23, 0), False),  # Friday night: not a school night
        (datetime(2026, 11, 28, 6, 0), False),  # Saturday morning: Friday had no window
        (datetime(2026, 11, 26, 23, 59), True),  # Thursday
        (datetime(2026, 11, 27, 3, 0), True),  # Friday 3am: Thursday's window
    ],
)
def test_windows_cross_midnight(now: datetime, active: bool) -> None:
    assert window_active(BEDTIME, now) is active


def test_schedule_blocks_everything_but_its_own_allow_list() -> None:
    p = profile(schedule=(BEDTIME,), allow=["example.com"])
    night = datetime(2026, 11, 23, 22, 0)
    d = run("example.com", p, now=night)
    assert (d.action, d.rule) == ("block", "schedule")  # rule 2 beats allow.domains
    assert run("www.khanacademy.org", p, now=night).action == "allow"
    assert run("example.com", p).action == "allow"  # noon


def test_schedule_with_categories() -> None:
    p = profile(schedule=(HOMEWORK,))
    at = datetime(2026, 11, 23, 16, 30)
    assert run("games.com", p, now=at).rule == "schedule"
    assert run("example.com", p, now=at).action == "allow"


def test_daily_limits() -> None:
    p = profile(limits={"games": 60})
    assert run("games.com", p, usage=Usage(minutes_today={"games": 59})).action == "allow"
    d = run("games.com", p, usage=Usage(minutes_today={"games": 60}))
    assert (d.action, d.rule, d.categories) == ("block", "limits", frozenset({"games"}))


def test_an_internal_error_blocks() -> None:
    class Broken(FakeLists):
        def categories(self, host: str) -> frozenset[str]:
            raise RuntimeError("boom")

    d = decide(Facts(("example.com",)), profile(), Broken(), NOON)
    assert (d.action, d.rule) == ("block", "error")


def test_strictest() -> None:
    a = Decision("allow", "default", "", "a.com")
    b = Decision("block", "block.domains", "", "b.com")
    assert strictest([a, b]) is b
    assert strictest([a, replace(a, inspect=True)]).inspect


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10).filter(
    lambda s: not s.startswith("-") and not s.endswith("-")
)


@given(st.lists(label, min_size=0, max_size=4))
def test_a_subdomain_of_a_blocked_domain_is_blocked(prefix: list[str]) -> None:
    host = ".".join([*prefix, "adultsite.com"])
    assert run(host).blocked
    assert run(host, profile(block=["tiktok.com"])).blocked


@given(label)
def test_a_name_that_only_ends_like_a_blocked_domain_is_not_covered(lab: str) -> None:
    assert not run(f"{lab}adultsite.com").blocked or lab == ""


TERMS = build_terms(
    [
        Entry("self_harm", "term", ("hurt", "myself")),
        Entry("adult", "term", ("porn",)),
        Entry("self_harm", "allow", ("help",)),
    ]
)


@pytest.mark.parametrize(
    ("host", "search", "p", "rule", "categories"),
    [
        # rule 6: the search's words, on any country domain of an engine
        ("www.google.co.uk", "How.to.HURT_myself", profile(search_terms=frozenset({"self_harm"})),
         "search_terms", {"self_harm"}),
        ("www.bing.com", "p0rn", profile(search_terms=frozenset({"adult"})), "search_terms",
         {"adult"}),
        # help-seeking is never blocked
        ("www.google.com", "help I want to hurt myself",
         profile(search_terms=frozenset({"self_harm"})), "default", set()),
        # a category the profile does not list
        ("www.google.com", "porn", profile(search_terms=frozenset({"self_harm"})), "default",
         set()),
        # not an engine: search text is not looked at
        ("google.evil.com", "porn", profile(search_terms=frozenset({"adult"})), "default", set()),
        # rule 7: safe search forced
        ("www.google.de", "cats", profile(safe_search=True), "safe_search", set()),
        ("m.youtube.com", None, profile(safe_search=True), "safe_search", set()),
    ],
)  # fmt: skip
def test_search_terms_and_safe_search(
    host: str, search: str | None, p: Profile, rule: str, categories: set[str]
) -> None:
    d = decide(Facts((host,), "/search", search), p, LISTS, NOON, NO_USAGE, TERMS)
    assert d.rule == rule
    if rule == "search_terms":
        assert d.categories == frozenset(categories)
        assert search is not None and search.lower() not in d.detail.lower()  # never the words


def test_engines_are_decrypted_only_when_the_profile_needs_it() -> None:
    assert not run("www.google.com").inspect
    assert run("www.google.com", profile(safe_search=True)).inspect
    assert run("www.google.com", profile(search_terms=frozenset({"adult"}))).inspect


# An "always" approval is the allow.domains entry it stands for until the file is reloaded:
# it applies at rule 3, so schedules still come first, and a window that names the site in its
# own allow lets it through. Timed approvals (15m, 1h, today) pass every rule.
SUNDAY_NIGHT = datetime(2026, 11, 22, 21, 0)


@pytest.mark.parametrize(
    ("host", "p", "approvals", "now", "action", "rule"),
    [
        # in bedtime: a timed approval opens it, an "always" one does not (the file would not)
        ("games.example", profile(schedule=(BEDTIME,)),
         {"games.example": SUNDAY_NIGHT.replace(hour=22)}, SUNDAY_NIGHT, "allow", "approval"),
        ("games.example", profile(schedule=(BEDTIME,)), {"games.example": None},
         SUNDAY_NIGHT, "block", "schedule"),
        # ... unless the window's own allow names it (the parent included bedtime)
        ("games.example", profile(schedule=(replace(BEDTIME, allow=("games.example",)),)),
         {"games.example": None}, SUNDAY_NIGHT, "allow", "approval"),
        # outside the window it is allowed, over a blocked category, as allow.domains is
        ("www.adultsite.com", profile(schedule=(BEDTIME,)), {"adultsite.com": None}, NOON,
         "allow", "approval"),
        # a more specific block.domains entry still wins, as over an allow.domains entry
        ("ads.adultsite.com", profile(block=["ads.adultsite.com"]), {"adultsite.com": None},
         NOON, "block", "block.domains"),
        ("ok.tiktok.com", profile(block=["tiktok.com"]), {"ok.tiktok.com": None}, NOON,
         "allow", "approval"),
        # a tie with block.domains blocks
        ("tiktok.com", profile(block=["tiktok.com"]), {"tiktok.com": None}, NOON,
         "block", "block.domains"),
    ],
)  # fmt: skip
def test_an_always_approval_stands_where_allow_domains_does(
    host: str,
    p: Profile,
    approvals: dict[str, datetime | None],
    now: datetime,
    action: str,
    rule: str,
) -> None:
    d = run(host, p, now=now, usage=Usage(approvals=approvals))
    assert (d.action, d.rule) == (action, rule)


def test_an_always_approval_agrees_with_the_file_it_bridges_for() -> None:
    """The same verdict before the reload (the row) and after it (the file), at every hour."""
    p = profile(schedule=(BEDTIME,))
    bridged = Usage(approvals={"games.example": None})
    reloaded = profile(schedule=(BEDTIME,), allow=["games.example"])
    for hour in range(24):
        now = SUNDAY_NIGHT.replace(hour=hour)
        before = run("games.example", p, now=now, usage=bridged)
        after = run("games.example", reloaded, now=now)
        assert before.action == after.action, now


@pytest.mark.parametrize(
    ("host", "kw", "treatment", "rule"),
    [
        ("adultsite.com", {}, "refuse", "block.categories"),
        ("tiktok.com", {"block": ["tiktok.com"]}, "refuse", "block.domains"),
        ("www.google.com", {"safe_search": True}, "rewrite", "safe_search"),
        ("www.google.com", {}, "forward", "default"),
        ("example.com", {}, "forward", "default"),
        ("mitm.it", {}, "forward", "default"),  # the set-up page's name: proxy.dns answers it
    ],
)
def test_a_dns_lookup_is_refused_rewritten_or_forwarded(
    host: str, kw: dict[str, object], treatment: str, rule: str
) -> None:
    d = decide(Facts((host,), stage="dns"), profile(**kw), LISTS, NOON, onboarding_host="mitm.it")
    assert (d.treatment, d.rule, d.page) == (treatment, rule, None)


@pytest.mark.parametrize(
    ("host", "path", "stage"),
    [("example.com", None, "handshake"), ("adultsite.com", "/", None), ("x.games.com", "/", "dns")],
)
def test_a_decision_is_a_whole_decision(host: str, path: str | None, stage: Stage | None) -> None:
    """Built without Decision's __init__ (for speed): every field is there, and it is equal,
    hashes and replaces like one built the ordinary way."""
    d = decide(Facts((host,), path, stage=stage), profile(), LISTS, NOON)
    assert set(vars(d)) == {f.name for f in fields(Decision)}
    twin = Decision(**{f.name: getattr(d, f.name) for f in fields(Decision)})
    assert d == twin and hash(d) == hash(twin)
    assert replace(d, rule="x").rule == "x"
    with pytest.raises(FrozenInstanceError):
        d.rule = "x"  # type: ignore[misc]
