"""Which schedule windows still block a site a parent allows "always", and how to say so.

`allow.domains` comes after the schedule in the decision (rule 3 after rule 2): a site allowed
always is still blocked by a window that blocks it (bedtime's `everything`, or its category),
unless the window's own `allow` names it. A parent answering "always" is told which windows
those are, and chooses whether the site joins their `allow` too: the CLI and the dashboard ask
with these functions. Pure: a profile in, windows and words out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from vaccine.proxy.decision import window_active
from vaccine.proxy.hosts import suffixes
from vaccine.proxy.policy.model import DAYS, Profile, Window


def windows_blocking(
    profile: Profile, domain: str, categories: Iterable[str]
) -> tuple[Window, ...]:
    """The profile's windows that would block `domain` (of those categories) even when it is
    in `allow.domains`: every window that blocks everything or one of the categories and
    whose `allow` does not already cover it. A window with no days never starts."""
    cats = frozenset(c for c in categories if c)
    covered = set(suffixes(domain))
    return tuple(
        w
        for w in profile.schedule
        if w.days
        and not covered.intersection(w.allow)
        and (w.block_everything or cats & w.categories)
    )


def window_words(window: Window) -> str:
    """`bedtime (Sun, Mon, Tue, Wed, Thu 19:30–07:00)`, `homework (every day 16:00–18:00)`."""
    days = "every day" if len(window.days) == 7 else ", ".join(
        DAYS[d].capitalize() for d in sorted(window.days)
    )  # fmt: skip
    return f"{window.name} ({days} {window.start:%H:%M}–{window.end:%H:%M})"


def window_end(window: Window, now: datetime) -> datetime | None:
    """When the window in force at `now` ends; None when it is not in force."""
    if not window_active(window, now):
        return None
    end = datetime.combine(now.date(), window.end)
    return end if end > now else end + timedelta(days=1)
