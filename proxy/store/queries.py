"""Read queries over the decision log: a connection in, plain rows out.

Every function takes a plain `sqlite3` connection from `open_readonly`, so readers never write
and never migrate. Reports read the per-day tables; the per-minute ones stay for views
of a single day.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from vaccine.proxy.store.summary import ActivityRow, ReportRows, RequestRow, TotalRow


def _profile_filter(profile: str | None) -> tuple[str, list[str]]:
    return ("AND profile = ?", [profile]) if profile is not None else ("", [])


def report_rows(
    db: sqlite3.Connection, first_day: date, last_day: date, profile: str | None = None
) -> ReportRows:
    """The rows `summary.summarise` needs for a day range (and one profile, if given)."""
    where, extra = _profile_filter(profile)
    span = [first_day.isoformat(), last_day.isoformat(), *extra]
    conn = db
    totals = [
        TotalRow(*r)
        for r in conn.execute(
            "SELECT day, profile, site, category, action, rule, count FROM daily_totals "
            f"WHERE day BETWEEN ? AND ? {where}",
            span,
        )
    ]
    activity = [
        ActivityRow(*r)
        for r in conn.execute(
            "SELECT day, profile, kind, name, minutes FROM daily_activity "
            f"WHERE day BETWEEN ? AND ? {where}",
            span,
        )
    ]
    return ReportRows(totals, activity, pending_requests(db, profile), dropped_records(db))


def pending_requests(db: sqlite3.Connection, profile: str | None = None) -> list[RequestRow]:
    where, extra = _profile_filter(profile)
    return [
        RequestRow(*r)
        for r in db.execute(
            "SELECT id, profile, domain, category, message, created FROM access_requests "
            f"WHERE status = 'pending' {where} ORDER BY created, id",
            extra,
        )
    ]


def dropped_records(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'dropped_records'").fetchone()
    return int(row[0]) if row else 0


def profiles_in_log(db: sqlite3.Connection) -> list[str]:
    """Every profile with a day of activity, a decision or a request still in the log."""
    return [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT profile FROM daily_activity UNION "
            "SELECT DISTINCT profile FROM daily_totals UNION "
            "SELECT DISTINCT profile FROM access_requests ORDER BY 1"
        )
    ]


def minutes_on(db: sqlite3.Connection, day: date) -> dict[str, dict[str, int]]:
    """Active minutes per profile and category on one day: what daily `limits:` count."""
    out: dict[str, dict[str, int]] = {}
    for profile, name, minutes in db.execute(
        "SELECT profile, name, minutes FROM daily_activity WHERE day = ? AND kind = 'category'",
        [day.isoformat()],
    ):
        out.setdefault(profile, {})[name] = minutes
    return out
