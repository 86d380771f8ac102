"""vaccine.proxy.addons.ask: the form is answered by the proxy, never forwarded."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.ask import AskParent
from vaccine.proxy.addons.decision import PolicyDecision
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.paths import ASK_PATH

from .conftest import hook


class FakeDesk:
    db_path = Path("/nonexistent/v.db")

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    async def handle(self, **kw: object) -> tuple[int, str]:
        self.calls.append(kw)
        return 200, "<h1>sent</h1>"


@pytest.mark.parametrize(
    ("host", "headers", "status", "asked"),
    [
        ("adultsite.com", {}, 200, True),  # from the block page of a blocked site
        ("example.com", {}, 200, True),  # an allowed site: still answered here, never forwarded
        ("adultsite.com", {"sec-fetch-site": "cross-site"}, 403, False),
        ("adultsite.com", {"origin": "http://evil.example"}, 403, False),  # no Sec-Fetch-Site
        ("adultsite.com", {"origin": "null"}, 403, False),
        ("adultsite.com", {"origin": "http://adultsite.com"}, 200, True),
        ("adultsite.com", {"origin": "https://ADULTSITE.com:443"}, 200, True),
        ("adultsite.com", {"origin": "http://adultsite.com.evil.example"}, 403, False),
    ],
)
async def test_the_ask_form_is_answered_by_the_proxy(
    shared: Shared,
    tctx: taddons.context,
    host: str,
    headers: dict[str, str],
    status: int,
    asked: bool,
) -> None:
    desk = FakeDesk()
    addons = [PolicyDecision(shared), AskParent(shared, desk)]  # type: ignore[arg-type]
    f = tflow.tflow(req=tutils.treq(host=host, method=b"POST", path=ASK_PATH.encode()))
    f.request.headers.update(headers)
    f.request.content = b"message=please&status=approved"
    await hook(addons, "requestheaders", f)
    assert f.response is None  # answered once the body is here
    await hook(addons, "request", f)
    assert f.response is not None and f.response.status_code == status
    assert bool(desk.calls) is asked
    if asked:
        assert desk.calls[0]["profile"].id == "guest"  # type: ignore[attr-defined]


async def test_without_a_log_the_form_shows_the_block_page(
    shared: Shared, tctx: taddons.context
) -> None:
    addons = [PolicyDecision(shared), AskParent(shared, None)]
    f = tflow.tflow(req=tutils.treq(host="adultsite.com", method=b"POST", path=ASK_PATH.encode()))
    await hook(addons, "requestheaders", f)
    await hook(addons, "request", f)
    assert f.response is not None and f.response.status_code == 403
