"""The data source: read-only, never a URL, friendly about a missing or foreign file."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

from vaccine.dashboard.snapshot import Snapshot
from vaccine.dashboard.source import LogSource

from .seed import NOW, empty_log


def load(db: Path, policies: Path) -> Snapshot:
    return LogSource(db, policies).load(NOW)


def test_the_seeded_week(seeded: Path, policies: Path) -> None:
    snap = load(seeded, policies)
    assert snap.state == "ready"
    assert [c.id for c in snap.children] == ["emma", "leo", "guest"]
    emma = snap.child("emma")
    assert emma is not None
    assert emma.today.minutes_online == 180
    assert [(u.category, u.used, u.limit) for u in emma.limits] == [
        ("video", 90, 90),
        ("games", 45, 60),
    ]
    assert emma.last_seen == "2026-03-08 19:04"
    assert [r.domain for r in snap.pending] == ["twitch.tv", "tiktok.com", "discord.com"]
    assert [r.domain for r in snap.answered] == ["coolmathgames.com"]
    assert [(a.profile, a.kind, a.category) for a in snap.alerts] == [
        ("leo", "concerning", "self_harm"),
        ("emma", "concerning", "adult"),
        ("leo", "bypass", ""),
        ("leo", "quiet", ""),
    ]
    assert snap.live and all(r.minute >= "2026-03-08 18:05" for r in snap.live)


def test_never_a_path_or_query_and_no_sites_where_parents_see_categories(
    seeded: Path, policies: Path
) -> None:
    snap = load(seeded, policies)
    leo = snap.child("leo")
    assert leo is not None and not leo.sites_visible
    assert leo.week.top_sites == () and leo.week.blocked_sites == ()
    assert all(r.site == "" for r in snap.live if r.profile == "leo")
    sites = [r.site for r in snap.live]
    for child in snap.children:
        for summary in (child.today, child.week):
            sites += [s.site for s in summary.top_sites]
            sites += [s.site for s in summary.blocked_sites + summary.rewritten_by_site]
    assert "youtube.com" in sites
    assert all(re.fullmatch(r"[a-z0-9.-]*", s) for s in sites), "only registrable domains"
    assert all(re.fullmatch(r"[a-z0-9_]*", a.category) for a in snap.alerts)


def test_reading_never_writes(seeded: Path, policies: Path) -> None:
    before = hashlib.sha256(seeded.read_bytes()).hexdigest()
    load(seeded, policies)
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() == before


def test_missing_empty_and_foreign(tmp_path: Path, policies: Path) -> None:
    assert load(tmp_path / "none.db", policies).state == "missing"
    empty = tmp_path / "empty.db"
    empty_log(empty)
    assert load(empty, policies).state == "empty"
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    snap = load(foreign, policies)
    assert snap.state == "unreadable" and "not a decision log" in snap.reason
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    assert load(junk, policies).state == "unreadable"


def test_broken_policies_keep_the_last_good_ones(seeded: Path, policies: Path) -> None:
    source = LogSource(seeded, policies)
    assert source.load(NOW).policy.valid
    emma = policies / "emma.yaml"
    emma.write_text(emma.read_text() + "\nnot_a_key: 1\n")
    snap = source.load(NOW)
    assert not snap.policy.valid
    assert any("not_a_key" in p.message for p in snap.policy.problems)
    child = snap.child("emma")
    assert child is not None and child.profile is not None  # the last good one
    assert child.profile.limits == {"games": 60, "video": 90}


def test_without_policies_profiles_come_from_the_log(seeded: Path, tmp_path: Path) -> None:
    snap = LogSource(seeded, tmp_path / "nowhere").load(NOW)
    assert snap.state == "ready"
    assert {c.id for c in snap.children} == {"emma", "leo", "guest"}
    assert not snap.policy.loaded and snap.policy.problems
    emma = snap.child("emma")
    assert emma is not None and emma.name == "emma" and emma.profile is None
