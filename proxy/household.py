"""Everything the proxy decides with, loaded together and swapped as one object.

A reload builds a complete new `Household` (policies, lists, logins, the device tables) away
from the event loop; only when every part loaded does the addon replace its reference. On any
problem the caller keeps the old one and reports every `FILE:LINE: message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vaccine.proxy.decision import (
    NO_USAGE,
    Decision,
    Facts,
    Usage,
    decide_noting_path,
    fail_closed,
    treat,
)
from vaccine.proxy.errors import Problem, ProblemsError
from vaccine.proxy.lists import hashed
from vaccine.proxy.lists.hashed import HashedLists, load_hashed
from vaccine.proxy.lists.index import Lists, load_lists
from vaccine.proxy.lists.layout import INDEX_FILE, SOURCES_FILE, list_files
from vaccine.proxy.lists.terms import Terms, load_terms
from vaccine.proxy.memo import DecisionMemo
from vaccine.proxy.paths import ONBOARDING_HOST, terms_dir
from vaccine.proxy.policy.htpasswd import Htpasswd
from vaccine.proxy.policy.identify import Identifier
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.policy.model import PolicySet, Profile
from vaccine.proxy.util.files import Fingerprint, fingerprint


@dataclass(frozen=True)
class Household:
    policies_dir: Path
    lists_dir: Path
    policies: PolicySet
    lists: Lists
    terms: Terms
    #: warnings that do not stop loading (junk list lines, odd terms lines)
    warnings: tuple[Problem, ...]
    identifier: Identifier
    logins: Htpasswd | None
    fingerprint: Fingerprint
    #: hashed lists of known abuse material (`hashed/*.sha256`): checked before every rule
    abuse: HashedLists = HashedLists()
    #: decisions of the current minute (a reload makes a new household, and a new memo)
    memo: DecisionMemo = field(init=False, compare=False, repr=False)

    #: any hashed list at all (asked twice a decision: HashedLists.__bool__ is a Python call)
    _abuse_on: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "memo", DecisionMemo())
        object.__setattr__(self, "_abuse_on", bool(self.abuse))

    def decide(
        self,
        facts: Facts,
        profile: Profile,
        now: datetime,
        usage: Usage = NO_USAGE,
        *,
        onboarding_host: str | None = ONBOARDING_HOST,
    ) -> Decision:
        """The decision with everything the household adds (lists, search terms,
        `never_decrypt`, hashed lists): the one call the proxy and `vaccine explain` make. A
        request decided earlier in the same minute is remembered (see proxy/memo.py); a hashed
        list is checked before, never remembered, as its path entries make every path count."""
        abuse_on = self._abuse_on
        if abuse_on:
            never_decrypt = self.policies.settings.never_decrypt
            try:
                hit = _known_abuse(self.abuse, facts)
            except Exception:  # fail closed, as decide() does
                return fail_closed(facts.moment)
            if hit is not None:
                return treat(hit, facts.moment, profile, never_decrypt, facts.path)

        d = self.memo.decide(facts, profile, now, usage, onboarding_host, self._compute)
        # A host with hashed path entries: its requests must be seen to be checked.
        if (
            abuse_on
            and d.treatment == "pass_through"
            and facts.moment == "handshake"
            and any(self.abuse.needs_inspection(h) for h in hashed.candidates(facts.hosts))
        ):
            inspected = Decision(d.action, d.rule, d.detail, d.host, d.categories, True)
            never_decrypt = self.policies.settings.never_decrypt
            return treat(inspected, "handshake", profile, never_decrypt, facts.path)
        return d

    def _compute(
        self,
        facts: Facts,
        profile: Profile,
        now: datetime,
        usage: Usage,
        onboarding_host: str | None,
    ) -> tuple[Decision, bool]:
        # A method, not a closure: a closure made every argument of decide() a cell, on
        # every call, hit or miss.
        return decide_noting_path(
            facts, profile, self.lists, now, usage, self.terms,
            never_decrypt=self.policies.settings.never_decrypt, onboarding_host=onboarding_host,
        )  # fmt: skip


def _known_abuse(abuse: HashedLists, facts: Facts) -> Decision | None:
    """A hashed-list match: blocked, naming no host (the log keeps no site) and no path."""
    path = facts.path if facts.moment == "request" else None
    for host in hashed.candidates(facts.hosts):
        if abuse.matches(host, path):
            return Decision("block", hashed.RULE, "a hashed list of known abuse material")
    return None


def load_household(policies_dir: Path, lists_dir: Path | None = None) -> Household:
    """Load policies, lists and logins; raise ProblemsError with every problem found."""
    problems: list[Problem] = []
    # Each part's fingerprint is taken before that part is read, so an edit made while
    # loading is a change at the next poll, never missed.
    fp_policies = fingerprint(policy_files(policies_dir))
    policies = load_policies(policies_dir)  # nothing else can be checked without it
    lists_dir = lists_dir or policies.settings.blocklists
    fp = fp_policies + fingerprint(other_inputs(lists_dir, policies.settings.proxy_auth))
    lists = None
    try:
        lists = load_lists(lists_dir)
    except ProblemsError as e:
        problems += e.problems
    else:
        problems += [p for p in lists.problems if p.severity == "error"]
    terms, term_problems = load_terms(terms_dir(lists_dir))
    logins = None
    if policies.settings.proxy_auth is not None:
        try:
            logins = Htpasswd.load(policies.settings.proxy_auth)
        except ProblemsError as e:
            problems += e.problems
    abuse, abuse_problems = load_hashed(lists_dir)
    problems += [p for p in abuse_problems if p.severity == "error"]
    if problems or lists is None:
        raise ProblemsError(problems)
    return Household(
        policies_dir=policies_dir,
        lists_dir=lists_dir,
        policies=policies,
        lists=lists,
        terms=terms,
        warnings=tuple(p for p in lists.problems if p.severity != "error") + tuple(term_problems),
        identifier=Identifier(policies),
        logins=logins,
        fingerprint=fp,
        abuse=abuse,
    )


def vanished_lists(old: Household, new: Household) -> list[Problem]:
    """List files the household in force read and the new one does not find: a deleted or
    moved list would silently empty its category, so the reload is refused instead."""
    now = {str(p) for p in (*new.lists.files, *new.abuse.files)}
    was = (*old.lists.files, *old.abuse.files)
    gone = [p for p in was if str(p) not in now and p.name not in _NOT_LISTS]
    return [
        Problem(str(p), None, "missing (deleted or moved); the last good lists stay in force")
        for p in gone
    ]


_NOT_LISTS = frozenset({SOURCES_FILE, Path(INDEX_FILE).name})


def policy_files(policies_dir: Path) -> list[Path]:
    if not policies_dir.is_dir():
        return []
    return sorted(p for p in policies_dir.iterdir() if p.is_file())


def other_inputs(lists_dir: Path | None, proxy_auth: Path | None) -> list[Path]:
    """The list files, the search-term lists and the logins file."""
    paths: list[Path] = []
    if lists_dir is not None and lists_dir.is_dir():
        paths += list_files(lists_dir) + hashed.hashed_files(lists_dir)
        terms = terms_dir(lists_dir)
        if terms.is_dir():
            paths += sorted(terms.glob("*.txt"))
    if proxy_auth is not None:
        paths.append(proxy_auth)
    return paths


def inputs_fingerprint(
    policies_dir: Path, lists_dir: Path | None, proxy_auth: Path | None = None
) -> Fingerprint:
    """Every input file's fingerprint, as `load_household` takes it (the reloader polls it)."""
    return fingerprint(policy_files(policies_dir) + other_inputs(lists_dir, proxy_auth))
