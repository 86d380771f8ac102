"""Everything the proxy decides with, loaded together and swapped as one object.

A reload builds a complete new `Household` (policies, lists, logins, the device tables) away
from the event loop; only when every part loaded does the addon replace its reference. On any
problem the caller keeps the old one and reports every `FILE:LINE: message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vaccine.proxy.decision import NO_USAGE, Decision, Facts, Usage, decide
from vaccine.proxy.errors import Problem, ProblemsError
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
    #: decisions of the current minute (a reload makes a new household, and a new memo)
    memo: DecisionMemo = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "memo", DecisionMemo(self.lists))

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
        `never_decrypt`): the one call the proxy and `vaccine explain` both make. A request
        decided earlier in the same minute is remembered (see proxy/memo.py)."""

        def compute() -> Decision:
            return decide(
                facts, profile, self.lists, now, usage, self.terms,
                never_decrypt=self.policies.settings.never_decrypt,
                onboarding_host=onboarding_host,
            )  # fmt: skip

        return self.memo.decide(facts, profile, now, usage, onboarding_host, compute)


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
    )


def vanished_lists(old: Household, new: Household) -> list[Problem]:
    """List files the household in force read and the new one does not find: a deleted or
    moved list would silently empty its category, so the reload is refused instead."""
    now = {str(p) for p in new.lists.files}
    gone = [p for p in old.lists.files if str(p) not in now and p.name not in _NOT_LISTS]
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
        paths += list_files(lists_dir)
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
