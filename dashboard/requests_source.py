"""The ask-a-parent queue, as the dashboard uses it: the very functions `vaccine requests` calls.

Listing reads `proxy.store.requests.list_requests` (read-only); answering goes through
`proxy.askparent.approve_request` / `deny_request`, which write the answer and, for "always",
add the site to the profile's YAML file. The dashboard writes nothing of its own. Imports are
lazy: they run in a worker thread, and keep `import dashboard` light.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaccine.dashboard.snapshot import Request
from vaccine.dashboard.summaries import printable

if TYPE_CHECKING:
    from vaccine.proxy.store.requests import AccessRequest

#: what the approve dialog offers, as `vaccine requests approve --for` spells it
DURATIONS: tuple[str, ...] = ("15m", "1h", "today", "always")


def _request(r: AccessRequest, names: Mapping[str, str]) -> Request:
    return Request(
        id=r.id,
        profile=r.profile,
        name=names.get(r.profile, r.profile),
        domain=r.domain,
        category=r.category,
        message=printable(r.message),
        created=r.created,
        status=r.status,
        answered_at=r.answered_at,
        approved_until=r.approved_until,
    )


def load_requests(
    db_path: Path, today: date, names: Mapping[str, str]
) -> tuple[tuple[Request, ...], tuple[Request, ...]]:
    """(pending, oldest first; answered today, newest first). Raises StoreError."""
    from vaccine.proxy.store.requests import list_requests

    rows = list_requests(db_path, status=None)
    pending = tuple(_request(r, names) for r in rows if r.status == "pending")
    day = today.isoformat()
    answered = [
        _request(r, names)
        for r in rows
        if r.status != "pending" and (r.answered_at or "").startswith(day)
    ]
    answered.sort(key=lambda r: (r.answered_at or "", r.id), reverse=True)
    return pending, tuple(answered)


#: "always" when a schedule window would still block the site: the window applies, or the
#: site joins its `allow` (`askparent.During`)
ALWAYS_CHOICES: tuple[str, ...] = ("always:block", "always:allow")


def approve(
    policies_dir: Path, db_path: Path, request_id: int, duration: str, now: datetime
) -> Request:
    """Approve for `duration` (one of DURATIONS or ALWAYS_CHOICES). Raises VaccineError with
    a one-line reason."""
    from vaccine.proxy.askparent import approve_request

    if duration not in DURATIONS + ALWAYS_CHOICES:
        raise ValueError(f"not a duration the dashboard offers: {duration!r}")
    duration, _, during = duration.partition(":")
    answer = approve_request(
        policies_dir, db_path, request_id, duration, now,
        during="allow" if during == "allow" else "block" if during == "block" else None,
    )  # fmt: skip
    return _request(answer.request, {})


def deny(db_path: Path, request_id: int, now: datetime) -> Request:
    from vaccine.proxy.askparent import deny_request

    return _request(deny_request(db_path, request_id, now).request, {})
