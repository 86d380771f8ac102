"""`vaccine dashboard --web`: the same Textual dashboard in a browser on the home network, for
a parent's phone (textual-serve runs one dashboard process per browser session).

In front of textual-serve's handlers sits one aiohttp middleware, in this order:

1. An address that belongs to a child's profile (the proxy's own `devices: - address:` rules)
   gets 403, password or not: a child's device can never approve.
2. Without a valid session cookie, pages redirect to the login form and the socket gets 401.
3. The login compares the parent password with a bcrypt hash in a file readable by its owner
   only; 5 tries a minute per address, then 429 until the minute is over.

The session cookie is random, HttpOnly and SameSite=Strict (a page of another site cannot
open the socket with it); sessions live in memory and end with the server or after 12 hours.
Nothing here logs a site, and the log names no address.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import bcrypt
from aiohttp import web
from textual_serve.server import Server

from vaccine.dashboard.i18n import Labels
from vaccine.proxy.errors import VaccineError
from vaccine.proxy.util.files import private_file

COOKIE = "vaccine_session"
SESSION_SECONDS = 12 * 3600
TRIES = 5  # logins per address ...
TRY_WINDOW = 60.0  # ... in this many seconds
MIN_PASSWORD = 8

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def set_password(path: Path, password: str) -> None:
    """Store a bcrypt hash of the parent password in `path` (0600, replaced whole)."""
    if len(password) < MIN_PASSWORD:
        raise VaccineError(f"the password needs at least {MIN_PASSWORD} characters")
    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    tmp = path.with_name(path.name + ".new")
    private_file(tmp)
    tmp.write_text(digest + "\n")
    tmp.replace(path)


def read_hash(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise VaccineError(
            f"{path}: no dashboard password yet (set one with `vaccine dashboard --set-password`)"
        ) from None
    except OSError as e:
        raise VaccineError(f"{path}: {e.strerror}") from None
    if not text.startswith("$2"):
        raise VaccineError(f"{path}: not a bcrypt hash (set it with --set-password)")
    return text.encode()


def child_addresses(policies_dir: Path) -> Callable[[str], bool]:
    """Whether an address belongs to a profile's `devices: - address:` rules, as the proxy
    attributes it (the most specific network wins). The policies are read again when a file
    changed; the last good set stays. No good set at all: every address is refused."""
    from vaccine.dashboard.source import LogSource
    from vaccine.proxy.policy.identify import Identifier

    source = LogSource(policies_dir / "unused.db", policies_dir)
    cache: dict[int, Identifier] = {}

    def is_childs(peer: str) -> bool:
        policies, _ = source.policies()
        if policies is None:
            return True
        identifier = cache.get(id(policies))
        if identifier is None:
            cache.clear()
            identifier = cache[id(policies)] = Identifier(policies)
        identity = identifier.identify(user=None, peer=peer, listen_port=None, mode_spec=None)
        return identity.how == "address"

    return is_childs


class RateLimit:
    """At most `tries` in `window` seconds per key."""

    def __init__(self, tries: int = TRIES, window: float = TRY_WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.tries, self.window, self.clock = tries, window, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = self.clock()
        seen = self._seen[key]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.tries:
            return False
        seen.append(now)
        return True


VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
GOOGLE_FONTS = re.compile(r'<link\s+rel="stylesheet"\s+href="https://fonts\.googleapis\.com[^>]*>')

LOGIN_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Digital Vaccine</title>
<style>
body {{ font-family: sans-serif; max-width: 22rem; margin: 3rem auto; padding: 0 1rem; }}
input, button {{ font-size: 1.2rem; width: 100%; box-sizing: border-box; padding: .6rem;
  margin-top: .6rem; }}
.error {{ color: #b00020; }}
</style></head>
<body><h1>Digital Vaccine</h1><p>{intro}</p>
<form method="post" action="/login">
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus>
<button id="login" type="submit">{open}</button>
</form>{error}</body></html>
"""


class WebDashboard(Server):
    """textual-serve's server behind the parent's login and the children's-address check."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        password_file: Path,
        is_childs: Callable[[str], bool],
        limit: RateLimit | None = None,
        labels: Labels | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title="Digital Vaccine")
        # a browser lays out right-to-left text itself: the words in reading order
        self.labels = labels or Labels("en", visual=False)
        self.password_file = password_file
        self.is_childs = is_childs
        self.limit = limit or RateLimit()
        self._sessions: dict[str, float] = {}

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login)
        return app

    # -- the guard ---------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = request.remote or ""
        if self.is_childs(peer):
            return web.Response(status=403, text=self.labels("web.refused") + "\n")
        if request.path == "/login" or self._valid(request.cookies.get(COOKIE)):
            return await handler(request)
        if request.path == "/ws":
            return web.Response(status=401, text="Log in first.\n")
        raise web.HTTPSeeOther("/login")

    def _valid(self, token: str | None) -> bool:
        if not token:
            return False
        expires = self._sessions.get(token)
        if expires is None:
            return False
        if expires < time.monotonic():
            del self._sessions[token]
            return False
        return True

    # -- logging in --------------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        return self._page("")

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.limit.allow(request.remote or ""):
            return self._page(self.labels("web.too_many"), status=429)
        form = await request.post()
        password = form.get("password")
        try:
            digest = read_hash(self.password_file)
        except VaccineError as e:
            return self._page(str(e), status=500)
        # bcrypt takes a quarter of a second on purpose: not on the event loop
        if not isinstance(password, str) or not await asyncio.to_thread(
            bcrypt.checkpw, password.encode(), digest
        ):
            return self._page(self.labels("web.wrong"), status=401)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = time.monotonic() + SESSION_SECONDS
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                            max_age=SESSION_SECONDS, path="/")  # fmt: skip
        return response

    def _page(self, error: str, status: int = 200) -> web.Response:
        labels = self.labels
        shown = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
        page = LOGIN_PAGE.format(
            lang=labels.language,
            dir="rtl" if labels.rtl else "ltr",
            intro=html.escape(labels("web.intro")),
            password=html.escape(labels("web.password")),
            open=html.escape(labels("web.open")),
            error=shown,
        )
        return web.Response(status=status, text=page, content_type="text/html")

    # -- textual-serve -----------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.Response:
        # The page tells the browser where the socket is: at the address the phone used.
        self.public_url = f"http://{request.host}"
        response = await super().handle_index(request)
        assert isinstance(response, web.Response) and response.text is not None
        # A phone lays out a page without a viewport as 980 pixels wide, shrunk: the terminal
        # would be unreadably small. And the page loads nothing from the internet.
        page = response.text.replace("<head>", f"<head>{VIEWPORT}", 1)
        response.text = GOOGLE_FONTS.sub("", page)
        return response

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its banner here; `vaccine dashboard --web` says one line."""

    async def run(self) -> web.AppRunner:
        """Start serving (for `serve_forever` and tests); returns the runner to clean up."""
        runner = web.AppRunner(await self._make_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        return runner
