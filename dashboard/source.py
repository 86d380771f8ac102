"""Where the dashboard's data comes from: the decision log, read-only, and the policy folder.

`LogSource.load(now)` opens its own read-only connection (`proxy.store.open_readonly`), reads
the week, closes it, and returns a `Snapshot`; the app calls it from a worker thread every
poll. Opening per look keeps no lock between looks, works while the proxy writes (WAL) and
when it does not run, and notices a log that appears after the dashboard started.

Policies are re-read only when a file in the folder changed; like the proxy, the last good set
stays in use while the files have errors, and the problems are shown.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from vaccine.dashboard import alerts, requests_source, summaries
from vaccine.dashboard.snapshot import PolicyState, Snapshot
from vaccine.proxy.errors import Problem, VaccineError
from vaccine.proxy.newdevices import Seen, read_seen, seen_file
from vaccine.proxy.policy.load import check_policies, load_settings, split_listen
from vaccine.proxy.policy.model import PolicySet, Profile
from vaccine.proxy.store import queries
from vaccine.proxy.store.errors import LogMissing, StoreError
from vaccine.proxy.store.readonly import open_readonly

LIVE_MINUTES = 60  # the live view shows the last hour
LIVE_ROWS = 500  # at most this many per-minute rows in it


class LogSource:
    """The dashboard's data source; thread-safe (one look at a time)."""

    def __init__(self, db_path: Path, policies_dir: Path) -> None:
        self.db_path = Path(db_path)
        self.policies_dir = Path(policies_dir)
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._policies: PolicySet | None = None
        self._state = PolicyState(self.policies_dir, loaded=False)

    # -- policies ----------------------------------------------------------------------------

    def _folder_stamp(self) -> tuple[tuple[str, int, int], ...]:
        try:
            files = sorted(self.policies_dir.glob("*.yaml"))
            return tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files)
        except OSError:
            return ()

    def _read_policies(self) -> None:
        stamp = self._folder_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            settings, _ = load_settings(self.policies_dir)
            policies, problems = check_policies(self.policies_dir)
        except VaccineError as e:  # no such folder
            problem = Problem(str(self.policies_dir), None, str(e))
            self._state = PolicyState(self.policies_dir, self._policies is not None, (problem,))
            return
        except Exception as e:  # an unreadable file: keep the last good set, say why
            problem = Problem(str(self.policies_dir), None, f"{type(e).__name__}: {e}")
            self._state = PolicyState(self.policies_dir, self._policies is not None, (problem,))
            return
        if policies is not None:
            self._policies = policies
        self._state = PolicyState(
            self.policies_dir,
            loaded=self._policies is not None,
            problems=tuple(problems),
            language=settings.language,
            help_line=settings.help_line_in(settings.language),
            unknown_devices=settings.unknown_devices,
            port=port_of(settings.listen),
        )

    def policies(self) -> tuple[PolicySet | None, PolicyState]:
        with self._lock:
            self._read_policies()
            return self._policies, self._state

    # -- the log -----------------------------------------------------------------------------

    def new_devices(self, now: datetime) -> tuple[str, list[Seen]]:
        """(the unknown_devices profile, the addresses seen recently that no profile knows),
        from the proxy's new-devices table beside the log (file I/O: call from a worker)."""
        with self._lock:
            self._read_policies()
            policies = self._policies
        unknown = policies.settings.unknown_devices if policies else "guest"
        return unknown, read_seen(seen_file(self.db_path), now=now)

    def load(self, now: datetime) -> Snapshot:
        """One look at the log as of `now` (the injected clock). Never raises for a missing,
        locked or foreign file: the snapshot says what is wrong."""
        with self._lock:
            self._read_policies()
            policies, state = self._policies, self._state
        db_path = self.db_path
        profiles: Mapping[str, Profile] = policies.profiles if policies else {}
        names = {pid: p.name for pid, p in profiles.items()}
        days = summaries.week_of(now.date())
        try:
            conn = open_readonly(db_path)
        except LogMissing as e:
            return Snapshot(now, "missing", db_path, state, reason=str(e), days=days)
        except StoreError as e:
            return Snapshot(now, "unreadable", db_path, state, reason=str(e), days=days)
        try:
            rows = queries.report_rows(conn, days[0], days[-1])
            in_log = queries.profiles_in_log(conn)
            seen = last_seen(conn, now)
            live = recent_decisions(conn, now)
        except sqlite3.Error as e:
            reason = f"{db_path}: {e}"
            return Snapshot(now, "unreadable", db_path, state, reason=reason, days=days)
        finally:
            conn.close()
        try:
            pending, answered = requests_source.load_requests(db_path, now.date(), names)
        except (StoreError, sqlite3.Error):
            pending, answered = (), ()
        if not in_log and not pending and not answered:
            return Snapshot(now, "empty", db_path, state, days=days)
        order = summaries.shown_profiles(profiles, in_log, state.unknown_devices)
        children = summaries.build_children(rows, days, order, profiles, seen, now)
        watched = [c.id for c in children if c.profile and c.profile.devices]
        watched = [pid for pid in watched if pid != state.unknown_devices]
        hidden = [pid for pid, p in profiles.items() if p.parents_see == "categories"]
        return Snapshot(
            now,
            "ready",
            db_path,
            state,
            days=days,
            children=children,
            pending=pending,
            answered=answered,
            alerts=alerts.find_alerts(rows.totals, rows.activity, days, now, seen, watched),
            live=summaries.live_rows(live, hidden),
            dropped_records=rows.dropped_records,
            cert_trouble=summaries.cert_trouble(rows.totals, days, names, profiles),
        )


def port_of(listen: str) -> int:
    try:
        return split_listen(listen)[1]
    except ValueError:
        return 8080


def last_seen(conn: sqlite3.Connection, now: datetime) -> dict[str, str]:
    """Each profile's last active minute ("YYYY-MM-DD HH:MM"): the last day from the per-day
    table, then one backwards range scan of that day's minutes per profile."""
    out: dict[str, str] = {}
    days = conn.execute(
        "SELECT profile, max(day) FROM daily_activity WHERE kind = 'online' GROUP BY profile"
    ).fetchall()
    for profile, day in days:
        row = conn.execute(
            "SELECT minute FROM activity WHERE minute >= ? AND minute < ? AND profile = ? "
            "AND kind = 'online' ORDER BY minute DESC LIMIT 1",
            [day, f"{day}~", profile],
        ).fetchone()
        out[profile] = row[0] if row else day  # minutes purged: the day alone
    return out


def recent_decisions(
    conn: sqlite3.Connection, now: datetime, minutes: int = LIVE_MINUTES, limit: int = LIVE_ROWS
) -> list[tuple[str, str, str, str, str, str, int]]:
    """The last `minutes` of per-minute decision rows (at most `limit`, the newest kept)."""
    since = (now - timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")
    rows = conn.execute(
        "SELECT minute, profile, site, category, action, rule, count FROM decisions "
        "WHERE minute > ? AND count > 0 ORDER BY minute DESC LIMIT ?",
        [since, limit],
    ).fetchall()
    rows.reverse()
    return rows
