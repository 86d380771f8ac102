"""The lower half of the overview, as text: the requests waiting for an answer, what was
blocked today, and the devices that cannot see block pages. Pure: a snapshot and the labels
in, `Content` out, so the words are tested without a screen."""

from __future__ import annotations

from textual.content import Content

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.snapshot import Snapshot

#: rows in each panel; the rest are counted ("and 3 more")
ROWS = 6


def _clock(stamp: str, today: str) -> str:
    day, _, clock = stamp.partition("T")
    return clock[:5] if day == today else f"{day[5:]} {clock[:5]}"


def waiting(snapshot: Snapshot, labels: Labels) -> Content:
    """Pending requests, oldest first: who, which site, when."""
    lines = [Content.styled(labels("overview.waiting"), "bold $accent")]
    if not snapshot.pending:
        lines.append(Content.styled(labels("overview.waiting_none"), "$text-muted"))
        return Content("\n").join(lines)
    today = snapshot.now.date().isoformat()
    for r in snapshot.pending[:ROWS]:
        lines.append(
            Content.assemble(
                (_clock(r.created, today), "$text-muted"), "  ", (r.name, "bold"), "  ", r.domain
            )
        )
    if len(snapshot.pending) > ROWS:
        more = labels("overview.waiting_more", n=len(snapshot.pending) - ROWS)
        lines.append(Content.styled(more, "$text-muted"))
    return Content("\n").join(lines)


def blocked_today(snapshot: Snapshot, labels: Labels) -> Content:
    """Today's blocked attempts per child: the sites (or only the categories, where the
    parents see categories), the most blocked first."""
    lines = [Content.styled(labels("overview.blocked_today"), "bold $warning")]
    rows: list[tuple[int, str, str]] = []
    for child in snapshot.children:
        today = child.today
        if today.sites_visible and today.blocked_sites:
            rows += [(s.count, child.name, s.site) for s in today.blocked_sites]
        else:
            rows += [(c.count, child.name, labels.category(c.category))
                     for c in today.blocked_by_category]  # fmt: skip
    if not rows:
        lines.append(Content.styled(labels("overview.blocked_none"), "$text-muted"))
        return Content("\n").join(lines)
    rows.sort(key=lambda r: (-r[0], r[1].casefold(), r[2]))
    width = max(len(str(n)) for n, _, _ in rows[:ROWS])
    for n, name, what in rows[:ROWS]:
        lines.append(
            Content.assemble((str(n).rjust(width), "bold"), "  ", (name, "bold"), "  ", what)
        )
    return Content("\n").join(lines)


def cert_trouble(snapshot: Snapshot, labels: Labels) -> Content:
    """One warning per profile whose device refused the proxy's certificate lately."""
    lines = []
    for c in snapshot.cert_trouble:
        if c.device:
            text = labels("cert.device", name=c.name, device=c.device)
        else:
            text = labels("cert.profile", name=c.name)
        counts = labels("cert.counts", today=c.today, week=c.week)
        lines.append(
            Content.assemble(("⚠ " + text, "bold $warning"), "\n  ", (counts, "$text-muted"))
        )
    return Content("\n").join(lines)
