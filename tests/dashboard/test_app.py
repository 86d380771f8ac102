"""The dashboard driven by keys and clicks (Pilot): navigation, answering requests, first run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from vaccine.dashboard.app import DashboardApp
from vaccine.dashboard.screens.alerts import AlertsScreen
from vaccine.dashboard.screens.approve import ApproveDialog
from vaccine.dashboard.screens.child import ChildScreen
from vaccine.dashboard.screens.firstrun import FirstRunScreen
from vaccine.dashboard.screens.live import LiveScreen
from vaccine.dashboard.screens.overview import OverviewScreen
from vaccine.dashboard.screens.requests import RequestsScreen
from vaccine.dashboard.widgets.child_card import ChildCard
from vaccine.proxy.store import LogWriter, Record

from .conftest import MakeApp
from .seed import seed_log


async def settle(pilot: Pilot[None]) -> None:
    """Let the polls and answers in flight finish, and their messages be handled."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def request_row(db: Path, request_id: int) -> tuple[str, str | None]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT status, approved_until FROM access_requests WHERE id = ?", [request_id]
        ).fetchone()
    finally:
        conn.close()


async def select_request(pilot: Pilot[None], domain: str) -> None:
    await pilot.press("2")
    await settle(pilot)
    table = pilot.app.screen.query_one("#pending", DataTable)
    for _ in range(table.row_count):
        if str(table.get_row_at(table.cursor_row)[1]) == domain:
            return
        await pilot.press("down")
    raise AssertionError(f"no pending request for {domain}")


async def test_overview_shows_a_card_per_child(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        cards = list(app.screen.query(ChildCard))
        assert [c.profile_id for c in cards] == ["emma", "leo", "guest"]
        assert app.focused is cards[0]
        text = str(cards[0].render())
        assert "Online today  3 h" in text and "all 1h30 used" in text


async def test_keys_move_between_the_parts(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, screen in [("2", RequestsScreen), ("3", AlertsScreen), ("4", LiveScreen),
                            ("1", OverviewScreen)]:  # fmt: skip
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen), key
        await pilot.press("right", "enter")  # the second card: Leo
        await pilot.pause()
        assert isinstance(app.screen, ChildScreen) and app.screen.profile_id == "leo"
        await pilot.press("right")
        assert app.screen.profile_id == "guest"
        await pilot.press("left", "left")
        assert app.screen.profile_id == "emma"
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_the_mouse_works_too(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.click("#card-leo")
        await pilot.pause()
        assert isinstance(app.screen, ChildScreen) and app.screen.profile_id == "leo"
        await pilot.click("NavTab", offset=(2, 0))  # "1 Overview": back to the cards
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_an_alert_opens_the_childs_page(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("down", "enter")  # the second alert: Emma's
        await pilot.pause()
        assert isinstance(app.screen, ChildScreen) and app.screen.profile_id == "emma"
        assert app.current_mode == "overview"


async def test_approve_a_request_for_an_hour(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_request(pilot, "discord.com")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ApproveDialog)
        await pilot.press("2")  # 1 hour
        await settle(pilot)
        assert isinstance(app.screen, RequestsScreen)
        assert request_row(seeded, 2) == ("approved", "2026-03-08T20:05:00")
        table = app.screen.query_one("#pending", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == [
            "twitch.tv",
            "tiktok.com",
        ]
        answered = app.screen.query_one("#answered", DataTable)
        assert str(answered.get_row_at(0)[2]) == "approved until 20:05"


async def test_approve_always_adds_the_site_to_the_profile(
    seeded: Path, make_app: MakeApp, policies: Path
) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_request(pilot, "discord.com")
        await pilot.press("enter", "4")
        await settle(pilot)
        assert request_row(seeded, 2) == ("approved", None)
        assert "discord.com" in (policies / "emma.yaml").read_text()


async def test_a_refused_approval_says_why_and_leaves_the_request(
    seeded: Path, make_app: MakeApp
) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_request(pilot, "tiktok.com")  # in Emma's block.domains: "always" ties
        await pilot.press("a", "4")
        await settle(pilot)
        assert request_row(seeded, 1) == ("pending", None)
        assert any("block.domains" in n.message for n in app._notifications)


async def test_deny_and_cancel(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await select_request(pilot, "twitch.tv")
        await pilot.press("a", "escape")  # changed my mind
        await settle(pilot)
        assert request_row(seeded, 3) == ("pending", None)
        await pilot.press("d")
        await settle(pilot)
        assert request_row(seeded, 3) == ("denied", None)


async def test_live_pauses(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        feed = screen.query_one("#feed", DataTable)
        rows = feed.row_count
        assert rows > 10
        await pilot.press("p")
        assert screen.paused
        assert "Paused" in str(screen.query_one("#status", Static).render())
        await pilot.press("p")
        assert not screen.paused and feed.row_count == rows


async def test_first_run_then_the_log_appears(
    tmp_path: Path, make_app: MakeApp, policies: Path
) -> None:
    db = tmp_path / "later.db"
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        await pilot.press("2")  # nothing to switch to yet
        assert isinstance(app.screen, FirstRunScreen)
        seed_log(db, policies)
        app.poll()
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)


async def test_theme_and_language(seeded: Path, make_app: MakeApp) -> None:
    app: DashboardApp = make_app(seeded, language="pl")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.current_theme.name.endswith("light")
        await pilot.press("t")
        assert app.current_theme.name == "textual-light"
        keys = [b.description for _, b, _, _ in app.screen.active_bindings.values() if b.show]
        assert "Jasny/ciemny" in keys and "Wyjdź" in keys


async def test_new_traffic_shows_at_the_next_poll_unless_paused(
    seeded: Path, make_app: MakeApp
) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "p")  # pause first
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        feed = screen.query_one("#feed", DataTable)
        before = feed.row_count
        with LogWriter(seeded) as writer:  # the proxy writes on
            writer.submit(Record("2026-03-08 19:05", "emma", "roblox.com", "games", "allowed",
                                 "default"))  # fmt: skip
        app.poll()
        await settle(pilot)
        assert feed.row_count == before
        assert "New rows: 1" in str(screen.query_one("#status", Static).render())
        await pilot.press("p")
        assert feed.row_count == before + 1
        card_text = str(app.get_screen_stack("overview")[0].query_one("#card-emma").render())
        assert "Online today  3 h 01 min" in card_text


async def test_a_log_gone_bad_keeps_the_last_view(seeded: Path, make_app: MakeApp) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        seeded.write_bytes(b"this is no longer a database" * 200)
        app.poll()
        await settle(pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert app.snapshot is not None and app.snapshot.state == "ready"
        assert len(app._notifications) == 1
        app.poll()
        await settle(pilot)
        assert len(app._notifications) == 1  # said once, not at every poll


async def test_always_during_bedtime_is_the_parents_choice(
    seeded: Path, make_app: MakeApp, policies: Path
) -> None:
    """Emma's bedtime blocks everything, so "always" alone would still leave discord.com
    blocked then: the dialog says so and offers bedtime too (key 5)."""
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await select_request(pilot, "discord.com")
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ApproveDialog)
        labels = [str(b.label) for b in dialog.query("Button")]
        assert "4  Always, but not during bedtime (adds it to emma.yaml)" in labels
        assert "5  Always, also during bedtime" in labels
        await pilot.press("5")
        await settle(pilot)
        assert request_row(seeded, 2) == ("approved", None)
    from vaccine.proxy.policy.load import load_policies

    emma = load_policies(policies).profile("emma")
    assert "discord.com" in emma.allow_domains
    assert "discord.com" in next(w for w in emma.schedule if w.name == "bedtime").allow


async def test_always_but_not_during_bedtime_leaves_the_window(
    seeded: Path, make_app: MakeApp, policies: Path
) -> None:
    app = make_app(seeded)
    async with app.run_test(size=(100, 30)) as pilot:
        await select_request(pilot, "discord.com")
        await pilot.press("a", "4")
        await settle(pilot)
        assert request_row(seeded, 2) == ("approved", None)
    from vaccine.proxy.policy.load import load_policies

    emma = load_policies(policies).profile("emma")
    assert "discord.com" in emma.allow_domains
    assert "discord.com" not in next(w for w in emma.schedule if w.name == "bedtime").allow
