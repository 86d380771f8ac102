"""The web dashboard from a phone-sized headless Chromium, through the real
`vaccine dashboard --web`: log in, approve a pending request with the phone's keyboard, see
it applied in the log; then the same browser from an address of a child's profile: refused."""

from __future__ import annotations

import base64
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaccine.dashboard.web import set_password

from .cdp import browser, chromium
from .seed import seed_log
from .test_web import free_port, give_leo

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs chromium")

PASSWORD = "sofa-approves-42"


@pytest.fixture
def web(policies: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "log.db"
    seed_log(db, policies)
    set_password(policies / "dashboard.password", PASSWORD)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaccine.proxy.cli.main", "dashboard", "--web",
         "--listen", f"127.0.0.1:{port}", "--policies", str(policies), "--db", str(db),
         "--poll", "1"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "the parents' dashboard: http://" in proc.stdout.readline()
        yield f"http://127.0.0.1:{port}", db
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stdout is not None:
            proc.stdout.close()


def status_of(db: Path, request_id: int) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT status FROM access_requests WHERE id = ?",
                                [request_id]).fetchone()[0])  # fmt: skip
    finally:
        conn.close()


async def test_log_in_and_approve_from_a_phone_then_a_childs_address_is_refused(
    web: tuple[str, Path], policies: Path, tmp_path: Path
) -> None:
    url, db = web
    assert status_of(db, 3) == "pending"  # Leo's twitch.tv, the oldest request
    async with browser(tmp_path / "chromium") as page:
        await page.goto(f"{url}/")
        assert await page.eval("location.pathname") == "/login"
        await page.eval(f"document.getElementById('password').value = '{PASSWORD}';"
                        "document.forms[0].submit(); true")  # fmt: skip
        await page.wait_for("location.pathname === '/' && document.body"
                            " && document.body.classList.contains('-first-byte')")  # fmt: skip
        await page.eval("document.querySelector('.xterm-helper-textarea').focus(); true")
        await page.key("2")  # the Requests part; its first row is the oldest request
        # Keys typed before the app has read the log are ignored (no row to approve yet):
        # type "a" (approve…) and "2" (…for an hour), give the answer 5 s to reach the log,
        # and type them again only if it did not.
        deadline = time.monotonic() + 40
        while status_of(db, 3) == "pending":
            assert time.monotonic() < deadline, "the approval never reached the log"
            await page.key("a")
            await page.key("2")
            wait = time.monotonic() + 5
            while status_of(db, 3) == "pending" and time.monotonic() < wait:
                await page.wait_for("true")  # a round trip to the page, then look again
        assert status_of(db, 3) == "approved"
        assert status_of(db, 1) == status_of(db, 2) == "pending"  # only the one asked for
        shot = await page.send("Page.captureScreenshot", format="png")
        (tmp_path / "approved.png").write_bytes(base64.b64decode(shot["data"]))

        give_leo(policies, "127.0.0.1")  # this browser's address now belongs to Leo
        await page.goto(f"{url}/")
        text = await page.eval("document.body.innerText")
        assert "not open to this device" in text
        await page.goto(f"{url}/login")
        assert "not open to this device" in await page.eval("document.body.innerText")
