"""The ask-a-parent queue in the decision log: add a request, list them, answer one.

Requests are rare (a child pressing a button, a parent answering), so each call opens its own
short-lived connection: the proxy calls `add_request` from a worker thread (never on the event
loop), the CLI and the dashboard call `answer`, and the proxy polls `approvals_in_force`
every second or two, read-only. None of them migrates the file: only the writer does
(`schema.connect`), so a file the proxy has not upgraded yet is refused, never half-upgraded.

Times are local wall-clock ISO strings to the second (`2026-03-08T19:02:11`), like the rest of
the log's request rows, so they compare as text and read as what the parent's clock said.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from vaccine.proxy.store.errors import LogMissing, StoreError
from vaccine.proxy.store.readonly import check_up_to_date, open_readonly

Status = Literal["pending", "approved", "denied"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied")
AddOutcome = Literal["created", "duplicate", "rate_limited"]

MAX_MESSAGE = 200  # the schema's CHECK, in characters
#: A child may send this many new requests an hour, and have this many waiting, per profile.
PER_HOUR = 5
MAX_PENDING = 20
#: An "always" approval lives in the profile's YAML file; its row only bridges the time until
#: the proxy has reloaded that file (lists can take a while). After that the file is the truth,
#: so a parent who later removes the site from `allow.domains` really takes it back.
ALWAYS_BRIDGE = timedelta(minutes=10)


class RequestNotFound(StoreError):
    """No access request has that id (never was, or retention deleted it)."""


class AlreadyAnswered(StoreError):
    """The request was approved or denied before."""


@dataclass(frozen=True)
class AccessRequest:
    """One `access_requests` row."""

    id: int
    profile: str
    domain: str
    category: str
    message: str
    created: str
    status: Status
    answered_at: str | None = None
    approved_until: str | None = None  # None on an approved row: always


@dataclass(frozen=True)
class AddResult:
    outcome: AddOutcome
    #: the new request, or the one already waiting (duplicate); None when rate-limited
    request_id: int | None = None


_COLUMNS = "id, profile, domain, category, message, created, status, answered_at, approved_until"


def stamp(when: datetime) -> str:
    """A time as the log writes it: local wall clock, to the second."""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


@contextmanager
def _writing(path: Path, busy_timeout: float) -> Iterator[sqlite3.Connection]:
    """A read-write connection in autocommit mode (callers BEGIN IMMEDIATE), closed after."""
    path = Path(path)
    if not path.is_file():
        raise LogMissing(
            f"no decision log at {path} (the proxy creates it when it first runs; or use --db)"
        )
    # mode=rw: never create a file here; the writer (the proxy) creates and migrates it.
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        check_up_to_date(conn, path)
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def add_request(
    db_path: Path,
    profile: str,
    domain: str,
    category: str,
    message: str,
    now: datetime,
    *,
    per_hour: int = PER_HOUR,
    max_pending: int = MAX_PENDING,
    busy_timeout: float = 2.0,
) -> AddResult:
    """Record a child's request, unless one for the same site is already waiting (duplicate)
    or the profile asked too much lately (rate_limited). Blocks up to `busy_timeout` on a
    lock, so call it from a worker thread. Raises StoreError or sqlite3.Error."""
    if not profile or not domain:
        raise ValueError("a request needs a profile and a domain")
    if len(message) > MAX_MESSAGE:
        raise ValueError(f"message: longer than {MAX_MESSAGE} characters")
    created = stamp(now)
    hour_ago = stamp(now - timedelta(hours=1))
    with _writing(db_path, busy_timeout) as conn:
        # IMMEDIATE: two taps on the button at once must not both pass the checks.
        conn.execute("BEGIN IMMEDIATE")
        waiting = conn.execute(
            "SELECT id FROM access_requests "
            "WHERE profile = ? AND domain = ? AND status = 'pending' ORDER BY id LIMIT 1",
            [profile, domain],
        ).fetchone()
        if waiting is not None:
            return AddResult("duplicate", waiting[0])
        (recent,) = conn.execute(
            "SELECT count(*) FROM access_requests WHERE profile = ? AND created > ?",
            [profile, hour_ago],
        ).fetchone()
        (pending,) = conn.execute(
            "SELECT count(*) FROM access_requests WHERE status = 'pending' AND profile = ?",
            [profile],
        ).fetchone()
        if recent >= per_hour or pending >= max_pending:
            return AddResult("rate_limited")
        cursor = conn.execute(
            "INSERT INTO access_requests (profile, domain, category, message, created) "
            "VALUES (?, ?, ?, ?, ?)",
            [profile, domain, category, message, created],
        )
        conn.execute("COMMIT")
        return AddResult("created", cursor.lastrowid)


def list_requests(
    db_path: Path, status: Status | None = "pending", profile: str | None = None
) -> list[AccessRequest]:
    """Requests with that status (None: every one), oldest first."""
    where: list[str] = []
    params: list[str] = []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if profile is not None:
        where.append("profile = ?")
        params.append(profile)
    sql = f"SELECT {_COLUMNS} FROM access_requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    conn = open_readonly(db_path)
    try:
        return [AccessRequest(*r) for r in conn.execute(f"{sql} ORDER BY created, id", params)]
    finally:
        conn.close()


def get_request(db_path: Path, request_id: int) -> AccessRequest:
    conn = open_readonly(db_path)
    try:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM access_requests WHERE id = ?", [request_id]
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        raise RequestNotFound(f"there is no request #{request_id}")
    return AccessRequest(*row)


def answer(
    db_path: Path,
    request_id: int,
    *,
    approve: bool,
    until: datetime | None,
    now: datetime,
    busy_timeout: float = 5.0,
) -> AccessRequest:
    """Approve (until `until`; None: always) or deny a pending request; the answered row.

    Raises RequestNotFound or AlreadyAnswered (one-line CLI errors)."""
    status: Status = "approved" if approve else "denied"
    approved_until = stamp(until) if approve and until is not None else None
    with _writing(db_path, busy_timeout) as conn:
        conn.execute("BEGIN IMMEDIATE")
        updated = conn.execute(
            "UPDATE access_requests SET status = ?, answered_at = ?, approved_until = ? "
            "WHERE id = ? AND status = 'pending'",
            [status, stamp(now), approved_until, request_id],
        ).rowcount
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM access_requests WHERE id = ?", [request_id]
        ).fetchone()
        if row is None:
            raise RequestNotFound(f"there is no request #{request_id}")
        if not updated:
            raise AlreadyAnswered(f"request #{request_id} was already {row[6]}")
        conn.execute("COMMIT")
    return AccessRequest(*row)


def approvals_in_force(
    db_path: Path, now: datetime, *, bridge: timedelta = ALWAYS_BRIDGE
) -> dict[str, dict[str, datetime | None]]:
    """profile → domain → until (None: always) for every approval in force at `now`.

    Read-only and cheap (the status index; a household has a handful of approvals), meant to
    be polled from a thread. An "always" row counts only for `bridge` after it was answered:
    by then the site is in the profile's YAML file. Raises StoreError or sqlite3.Error.
    """
    conn = open_readonly(db_path)
    try:
        rows = conn.execute(
            "SELECT profile, domain, approved_until FROM access_requests "
            "WHERE status = 'approved' "
            "AND (approved_until > ? OR (approved_until IS NULL AND answered_at > ?))",
            [stamp(now), stamp(now - bridge)],
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, dict[str, datetime | None]] = {}
    for profile, domain, until_text in rows:
        until = None if until_text is None else datetime.fromisoformat(until_text)
        domains = out.setdefault(profile, {})
        if domain in domains:  # two approvals for one site: the longer one holds
            before = domains[domain]
            until = None if before is None or until is None else max(before, until)
        domains[domain] = until
    return out
