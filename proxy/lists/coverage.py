"""What the lists cover: entries per category group, what is missing, and why some categories
have no public source at all.

`vaccine run` prints `start_line` once at start, `vaccine check` prints `no_source_note` once
(an information line, not a warning: nothing a parent can do makes such a list appear).
"""

from __future__ import annotations

import os
from pathlib import Path

from vaccine.proxy.lists.sources import Source
from vaccine.proxy.policy.model import CATEGORIES
from vaccine.proxy.util.words import plural

#: The categories, grouped as a parent thinks of them (every category is in one group).
GROUPS: dict[str, tuple[str, ...]] = {
    "harmful": ("adult", "gambling", "dating", "violence", "drugs", "weapons", "hate",
                "self_harm"),
    "security": ("phishing", "malware"),
    "bypass": ("proxy_bypass", "doh"),
    "apps": ("social_networks", "games", "video", "chat", "shopping"),
    "other": ("education", "banking", "health", "search"),
}  # fmt: skip

#: Categories no well-kept public list with a clear licence covers, and what covers them
#: instead. Kept equal to the README's "Categories without a public list" (a test checks).
NO_PUBLIC_LIST: dict[str, str] = {
    "self_harm": (
        "no maintained public list exists (sites about self-harm are mostly help and "
        "recovery, which must stay reachable); blocked self-harm searches and "
        "local/self_harm.txt cover it"
    ),
    "search": "the search engines are a short list kept by hand in local/search.txt",
}


def source_categories(sources: dict[str, Source]) -> set[str]:
    """Every category some source of sources.yaml fills."""
    found: set[str] = set()
    for s in sources.values():
        found.update(s.category)
        for ours in s.categories.values():
            found.update(ours)
    return found


def missing_downloads(directory: Path, sources: dict[str, Source]) -> list[Source]:
    """Sources with a url whose copy was never downloaded into the lists folder."""
    return [s for s in sources.values() if s.url and not os.path.lexists(directory / s.into)]


def start_line(stats: dict[str, int], total: int) -> str:
    """`lists: 203 entries (harmful 11, security 0, …); nothing for violence, drugs, …`."""
    groups = ", ".join(f"{g} {sum(stats.get(c, 0) for c in cats):,}" for g, cats in GROUPS.items())
    empty = [c for c in CATEGORIES if not stats.get(c)]
    line = f"lists: {plural(total, 'entry', 'entries')} ({groups})"
    return f"{line}; nothing for {', '.join(empty)}" if empty else line


def no_source_note(sources: dict[str, Source], used: set[str]) -> list[str]:
    """One line per category profiles use that no public list fills, with the reason."""
    covered = source_categories(sources)
    return [f"{c}: {why}" for c, why in NO_PUBLIC_LIST.items() if c in used and c not in covered]
