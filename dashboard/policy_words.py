"""A profile's policy in a parent's words: "Bedtime 19:30–07:00 on school nights; games 1 h a
day". Pure: a `Profile` and the labels in, lines of text out."""

from __future__ import annotations

from collections.abc import Iterable

from vaccine.dashboard.i18n import Labels
from vaccine.proxy.policy.model import CATEGORIES, Profile, Window

_SCHOOL_NIGHTS = frozenset({6, 0, 1, 2, 3})  # Sunday to Thursday evenings
_WEEKDAYS = frozenset({0, 1, 2, 3, 4})
_WEEKENDS = frozenset({5, 6})
_EVERY_DAY = frozenset(range(7))


def days_words(window: Window, labels: Labels) -> str:
    days = window.days
    crosses_midnight = window.end <= window.start
    if days == _EVERY_DAY:
        return labels("days.every")
    if days == _SCHOOL_NIGHTS and crosses_midnight:
        return labels("days.school_nights")
    if days == _WEEKDAYS:
        return labels("days.weekdays")
    if days == _WEEKENDS:
        return labels("days.weekends")
    names = labels("weekday").split()
    return labels("days.some", days=", ".join(names[d] for d in sorted(days)))


def window_name(name: str) -> str:
    """`school-night` → `School night`: the name the parent chose, as a heading."""
    text = name.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _categories(labels: Labels, names: Iterable[str]) -> str:
    return ", ".join(labels.category(c) for c in names)


def window_words(window: Window, labels: Labels) -> str:
    fields = {
        "name": window_name(window.name),
        "start": f"{window.start:%H:%M}",
        "end": f"{window.end:%H:%M}",
        "days": days_words(window, labels),
    }
    if window.block_everything:
        text = labels("policy.window_all", **fields)
    else:
        text = labels(
            "policy.window_some",
            categories=_categories(labels, sorted(window.categories)),
            **fields,
        )
    if window.allow:
        text += f" ({labels('policy.window_except', sites=', '.join(window.allow))})"
    return text


def describe_policy(profile: Profile, labels: Labels) -> list[str]:
    """The policy in force, one idea per line, the parts a parent asks about first."""
    lines: list[str] = []
    rules = [window_words(w, labels) for w in sorted(profile.schedule, key=lambda w: w.start)]
    rules += [
        labels("policy.limit", category=labels.category(c), time=labels.duration(m))
        for c, m in sorted(profile.limits.items())
    ]
    if rules:
        lines.append("; ".join(rules))
    else:
        lines.append(labels("policy.nothing"))
    blocked = [c for c in CATEGORIES if c in profile.block_categories]
    if blocked:
        lines.append(labels("policy.blocked", items=_categories(labels, blocked)))
    if profile.block_domains:
        lines.append(labels("policy.blocked_sites", items=", ".join(profile.block_domains)))
    if profile.allow_domains:
        lines.append(labels("policy.allowed", items=", ".join(profile.allow_domains)))
    search = []
    if profile.safe_search:
        search.append(labels("policy.safe_search"))
    if profile.search_terms:
        terms = [c for c in CATEGORIES if c in profile.search_terms]
        search.append(labels("policy.search_terms", items=_categories(labels, terms)))
    if search:
        lines.append("; ".join(search))
    if not profile.ca_installed:
        lines.append(labels("policy.no_ca"))
    see = "categories" if profile.parents_see == "categories" else "domains"
    lines.append(labels(f"policy.parents_see_{see}"))
    return lines
