"""`vaccine check`: validate settings, every profile and every list; print every problem.

Exit 0 when nothing is an error (warnings are printed but allowed), 1 otherwise, so it can
guard a reload or a commit hook.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vaccine.proxy import paths
from vaccine.proxy.errors import Problem, ProblemsError, VaccineError
from vaccine.proxy.policy import model
from vaccine.proxy.policy.load import check_policies, load_settings
from vaccine.proxy.util.words import plural


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lists",
        metavar="DIR",
        type=Path,
        default=None,
        help="the category lists (default: blocklists: in settings.yaml)",
    )


def main(args: argparse.Namespace) -> int:
    directory: Path = paths.find_policies_dir(args.policies)
    policies, problems = check_policies(directory)
    settings = policies.settings if policies else load_settings(directory)[0]
    lists_dir: Path = args.lists or settings.blocklists
    categories, list_problems = _check_lists(lists_dir, policies)
    problems = problems + list_problems + _check_terms(lists_dir, policies)
    problems += _check_logins(settings)
    for p in problems:
        print(_relative(p))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    profiles = len(policies.profiles) if policies else _count_profiles(directory)
    summary = (
        f"{plural(profiles, 'profile')}, {plural(categories, 'list category', 'list categories')}"
        f", {plural(len(problems), 'problem')}"
    )
    if problems:
        summary += f" ({plural(errors, 'error')}, {plural(warnings, 'warning')})"
    print(summary)
    return 1 if errors else 0


def _check_lists(directory: Path, policies: model.PolicySet | None) -> tuple[int, list[Problem]]:
    """Categories with entries, and the lists' problems (junk lines are warnings)."""
    from vaccine.proxy.lists.index import load_lists

    shown = str(directory)
    try:
        lists = load_lists(directory)
    except ProblemsError as e:
        return 0, list(e.problems)
    except VaccineError as e:
        return 0, [Problem(shown, None, str(e))]
    from vaccine.proxy.lists.hashed import load_hashed

    problems = list(lists.problems) + load_hashed(directory)[1]
    stats = {cat: n for cat, n in lists.stats().items() if n}
    if policies is not None:
        from vaccine.proxy.lists import coverage
        from vaccine.proxy.lists.layout import read_sources

        # A category no public list covers is said once, as information: a warning at
        # every check would only teach a parent to ignore warnings.
        notes = coverage.no_source_note(read_sources(directory)[0], _used_categories(policies))
        for note in notes:
            print(f"note: no public list for {note}")
        quiet = {n.split(":", 1)[0] for n in notes}
        used = sorted(_used_categories(policies) - set(stats) - quiet)
        if used:
            message = (
                f"no list entries for {', '.join(used)}, which profiles block or limit: "
                "nothing is recognised as those until lists are added (vaccine lists update)"
            )
            problems.append(Problem(shown, None, message, severity="warning"))
    return len(stats), problems


def _check_terms(directory: Path, policies: model.PolicySet | None) -> list[Problem]:
    """The search-term lists (`<lists>/terms/<category>.txt`), and profiles' `search_terms`
    categories that no list covers (those searches would never be stopped)."""
    from vaccine.proxy.lists.terms import load_terms

    folder = paths.terms_dir(directory)
    terms, problems = load_terms(folder)
    if policies is not None:
        wanted = set().union(*(p.search_terms for p in policies.profiles.values()))
        missing = sorted(wanted - terms.categories)
        if missing:
            message = (
                f"no search-term list for {', '.join(missing)}, which profiles name in "
                f"search_terms: add {folder}/<category>.txt"
            )
            problems.append(Problem(str(directory), None, message, severity="warning"))
    return problems


def _check_logins(settings: model.Settings) -> list[Problem]:
    """The logins file as the proxy will read it (a missing one is already a policy error)."""
    if settings.proxy_auth is None or not settings.proxy_auth.is_file():
        return []
    from vaccine.proxy.policy.htpasswd import Htpasswd

    try:
        Htpasswd.load(settings.proxy_auth)
    except ProblemsError as e:
        return list(e.problems)
    return []


def _used_categories(policies: model.PolicySet) -> set[str]:
    used: set[str] = set()
    for profile in policies.profiles.values():
        used |= profile.block_categories | set(profile.limits)
        for window in profile.schedule:
            used |= window.categories
    return used


def _count_profiles(directory: Path) -> int:
    return sum(
        1
        for p in directory.glob("*.yaml")
        if p.name != "settings.yaml" and not p.name.startswith((".", "_"))
    )


def _relative(problem: Problem) -> str:
    """The problem with its file as short as it can be: relative to the current folder."""
    path = Path(problem.file)
    if path.is_absolute():
        try:
            rel = os.path.relpath(path)
        except ValueError:  # another drive, on Windows
            rel = str(path)
        if not rel.startswith(".."):
            problem = Problem(rel, problem.line, problem.message, problem.key, problem.severity)
    return str(problem)
