"""`vaccine dashboard --web`'s guard, over real sockets on loopback: a child's address is
refused even with the password, the password is checked (bcrypt) and rate-limited, and only a
session cookie opens the dashboard and its socket."""

from __future__ import annotations

import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from vaccine.dashboard.web import COOKIE, RateLimit, WebDashboard, child_addresses, set_password
from vaccine.proxy.errors import VaccineError

PASSWORD = "sofa-approves-42"
CHILD = "127.0.0.42"  # Leo's address in this household
PARENT = "127.0.0.7"  # no profile names it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def give_leo(policies: Path, address: str) -> None:
    leo = policies / "leo.yaml"
    leo.write_text(leo.read_text().replace("192.168.1.42", address))


@pytest.fixture
async def server(policies: Path, tmp_path: Path) -> AsyncIterator[str]:
    give_leo(policies, CHILD)
    password_file = tmp_path / "dashboard.password"
    set_password(password_file, PASSWORD)
    port = free_port()
    web = WebDashboard("true", host="127.0.0.1", port=port, password_file=password_file,
                       is_childs=child_addresses(policies))  # fmt: skip
    # the loopback listener must accept other 127/8 sources
    web.host = "0.0.0.0"
    runner = await web.run()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def login(s: aiohttp.ClientSession, server: str, password: str) -> tuple[int, str]:
    """POST the form; the status and the cookie header set (if any)."""
    async with s.post(f"{server}/login", data={"password": password}, allow_redirects=False) as r:
        return r.status, r.headers.get("Set-Cookie", "")


def client(source: str) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_childs_address_is_refused_even_with_the_password(server: str) -> None:
    async with client(CHILD) as s:
        assert await login(s, server, PASSWORD) == (403, "")
        async with s.get(f"{server}/", allow_redirects=False) as r:
            assert r.status == 403


async def test_login_opens_the_dashboard_with_a_strict_cookie(server: str) -> None:
    async with client(PARENT) as s:
        async with s.get(f"{server}/", allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (303, "/login")
        async with s.get(f"{server}/ws", allow_redirects=False) as r:
            assert r.status == 401
        assert await login(s, server, "wrong-password") == (401, "")
        status, header = await login(s, server, PASSWORD)
        assert status == 303 and header.startswith(f"{COOKIE}=")
        assert "HttpOnly" in header and "SameSite=Strict" in header
        async with s.get(f"{server}/", allow_redirects=False) as r:
            assert r.status == 200
            page = await r.text()
            assert f"ws://127.0.0.1:{server.rsplit(':', 1)[1]}/ws" in page
            assert '<meta name="viewport" content="width=device-width' in page  # a phone's width
            assert "googleapis" not in page  # nothing from the internet


async def test_five_tries_a_minute_then_429(server: str) -> None:
    async with client("127.0.0.8") as s:
        assert [(await login(s, server, "nope"))[0] for _ in range(5)] == [401] * 5
        # even the right one, until the minute is over
        assert await login(s, server, PASSWORD) == (429, "")
    async with client("127.0.0.9") as s:  # another address is not held up
        assert (await login(s, server, PASSWORD))[0] == 303


def test_rate_limit_window() -> None:
    now = [0.0]
    limit = RateLimit(tries=2, window=60, clock=lambda: now[0])
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a")
    assert limit.allow("b")
    now[0] = 60.0
    assert limit.allow("a")


def test_the_password_file_is_private_and_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.password"
    set_password(path, PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("$2") and PASSWORD not in path.read_text()
    with pytest.raises(VaccineError, match="at least 8"):
        set_password(path, "short")


def test_which_addresses_are_a_childs(policies: Path) -> None:
    is_childs = child_addresses(policies)
    assert is_childs("192.168.1.23")  # Emma's tablet
    assert is_childs("::ffff:192.168.1.42")  # Leo's phone, as an IPv4-mapped peer
    assert not is_childs("192.168.1.5")  # a parent's phone: no profile names it


async def test_the_login_page_speaks_the_households_language(
    policies: Path, tmp_path: Path
) -> None:
    from vaccine.dashboard.i18n import Labels

    password_file = tmp_path / "dashboard.password"
    set_password(password_file, PASSWORD)
    port = free_port()
    web = WebDashboard("true", host="127.0.0.1", port=port, password_file=password_file,
                       is_childs=lambda peer: False, labels=Labels("pl", visual=False))  # fmt: skip
    runner = await web.run()
    try:
        async with client("127.0.0.1") as s:
            async with s.get(f"http://127.0.0.1:{port}/login") as r:
                page = await r.text()
            assert '<html lang="pl" dir="ltr">' in page and "Hasło rodzica" in page
            assert await login(s, f"http://127.0.0.1:{port}", "nope") == (401, "")
            async with s.post(f"http://127.0.0.1:{port}/login", data={"password": "x"}) as r:
                assert "Błędne hasło." in await r.text()
    finally:
        await runner.cleanup()


async def test_the_login_page_in_arabic_is_right_to_left_in_reading_order(tmp_path: Path) -> None:
    from vaccine.dashboard.i18n import Labels

    password_file = tmp_path / "dashboard.password"
    set_password(password_file, PASSWORD)
    port = free_port()
    web = WebDashboard("true", host="127.0.0.1", port=port, password_file=password_file,
                       is_childs=lambda peer: False, labels=Labels("ar", visual=False))  # fmt: skip
    runner = await web.run()
    try:
        async with client("127.0.0.1") as s, s.get(f"http://127.0.0.1:{port}/login") as r:
            page = await r.text()
        assert '<html lang="ar" dir="rtl">' in page
        assert "كلمة مرور الوالدين" in page  # as written, not turned round for a terminal
    finally:
        await runner.cleanup()
