"""The overview's lower half in words: requests waiting, today's blocks, devices without the
certificate; and the counts in its notes computed from the snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from textual.widgets import Static

from vaccine.dashboard.i18n import Labels
from vaccine.dashboard.source import LogSource
from vaccine.dashboard.summaries import cert_trouble, week_of
from vaccine.dashboard.widgets import overview_panels
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.store.summary import TotalRow

from .conftest import MakeApp
from .seed import NOW
from .test_app import settle

EN = Labels("en")
DAYS = week_of(date(2026, 3, 8))


def text(content: object) -> list[str]:
    return str(content).splitlines()


def test_the_seeded_week_as_a_parent_reads_it(seeded: Path, policies: Path) -> None:
    snapshot = LogSource(seeded, policies).load(NOW)
    assert text(overview_panels.waiting(snapshot, EN)) == [
        "Waiting for your answer",
        "17:30  Leo  twitch.tv",
        "18:41  Emma  tiktok.com",
        "18:58  Emma  discord.com",
    ]
    assert text(overview_panels.blocked_today(snapshot, EN)) == [
        "Blocked today",
        "2  Emma  pornhub.com",
        "2  Emma  tiktok.com",
        "1  Emma  google.com",
    ]
    assert text(overview_panels.cert_trouble(snapshot, EN)) == [
        "⚠ Leo's device cannot see block pages — install the certificate on it (http://mitm.it)",
        "  secure connections refused today: 0 · 7 days: 5",
    ]
    # the failed handshakes are not blocked attempts
    leo = snapshot.child("leo")
    assert leo is not None and leo.week.blocked_total == 13 and sum(leo.blocked_by_day) == 13


def test_nothing_waiting_nothing_blocked(seeded: Path, policies: Path) -> None:
    snapshot = LogSource(seeded, policies).load(NOW.replace(day=20))  # a quiet day later
    assert len(snapshot.pending) == 3  # requests wait until answered
    assert text(overview_panels.blocked_today(snapshot, EN))[1:] == ["Nothing blocked today."]
    assert snapshot.cert_trouble == ()  # Leo's laptop was 13 days ago


def test_cert_trouble_names_a_single_login_device_and_forgets_old_days(policies: Path) -> None:
    profiles = load_policies(policies).profiles
    rows = [
        TotalRow("2026-03-08", "emma", "", "", "blocked", "no_ca", 2),
        TotalRow("2026-03-07", "emma", "", "", "blocked", "no_ca", 1),
        TotalRow("2026-03-08", "emma", "x.com", "", "blocked", "block.domains", 9),  # not one
        TotalRow("2026-03-06", "leo", "", "", "blocked", "no_ca", 4),  # two days ago: fixed
        TotalRow("2026-03-07", "tablet", "", "", "blocked", "no_ca", 3),  # only in the log
    ]
    out = cert_trouble(rows, DAYS, {"emma": "Emma"}, profiles)
    assert [(c.profile, c.name, c.today, c.week, c.last_day) for c in out] == [
        ("emma", "Emma", 2, 3, "2026-03-08"),
        ("tablet", "tablet", 0, 3, "2026-03-07"),
    ]
    assert out[0].device == ""  # Emma has two devices: the count cannot say which


def test_a_single_login_device_is_named() -> None:
    from dataclasses import replace

    from vaccine.dashboard.summaries import device_name
    from vaccine.proxy.policy.model import Device, Profile

    base = Profile(id="emma", name="Emma", source=Path("emma.yaml"))
    assert device_name(replace(base, devices=(Device("user", user="emma-tablet"),))) == (
        "emma-tablet"
    )
    two = (Device("user", user="emma-tablet"), Device("port", port=8099))
    assert device_name(replace(base, devices=two)) == ""
    assert device_name(replace(base, devices=(Device("port", port=8099),))) == ""
    line = EN("cert.device", name="Emma", device="emma-tablet")
    assert line.startswith("Emma's emma-tablet cannot see block pages")


async def test_the_notes_count_what_waits(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        snapshot = app.snapshot
        assert snapshot is not None and len(snapshot.pending) == 3 and len(snapshot.alerts) == 4
        notes = text(app.screen.query_one("#notes", Static).render())
        assert notes[0].startswith("Requests (3): Leo twitch.tv")
        assert notes[1].startswith("Alerts (4): Leo self-harm")
        lower = app.screen.query_one("#lower")
        assert lower.region.y > app.screen.query_one("#cards").region.bottom  # below the cards
        assert "twitch.tv" in str(app.screen.query_one("#waiting", Static).render())
