"""vaccine.proxy.addons.login: optional logins, 407 on wrong ones, never forwarded."""

from __future__ import annotations

import pytest
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.decision import PolicyDecision
from vaccine.proxy.addons.login import FAILED, ProxyLogin
from vaccine.proxy.addons.shared import Shared

from .conftest import auth, hook


@pytest.mark.parametrize(
    ("header", "status", "profile_blocks_tiktok"),
    [
        (None, None, False),  # no credentials: attributed by address → guest
        (auth("emma-tablet", "right"), None, True),
        (auth("emma-tablet", "wrong"), 407, False),
        (auth("nobody", "right"), 407, False),
        ("Bearer abc", 407, False),
    ],
)
async def test_optional_logins(
    shared: Shared,
    tctx: taddons.context,
    header: str | None,
    status: int | None,
    profile_blocks_tiktok: bool,
) -> None:
    f = tflow.tflow(req=tutils.treq(host="tiktok.com"))
    if header:
        f.request.headers["proxy-authorization"] = header
    await hook([ProxyLogin(shared), PolicyDecision(shared)], "requestheaders", f)
    assert "proxy-authorization" not in f.request.headers  # never forwarded
    if status == 407:
        assert f.response is not None and f.response.status_code == 407
        assert "proxy-authenticate" in f.response.headers and f.metadata[FAILED]
    elif profile_blocks_tiktok:
        assert f.response is not None and f.response.status_code == 403
    else:
        assert f.response is None


@pytest.mark.parametrize("name", [b"Proxy-Authorization", b"PROXY-AUTHORIZATION"])
async def test_the_header_is_found_whatever_its_case(
    shared: Shared, tctx: taddons.context, name: bytes
) -> None:
    """Header names are case-insensitive: any spelling is checked and never forwarded."""
    f = tflow.tflow(req=tutils.treq(host="tiktok.com"))
    value = auth("emma-tablet", "wrong").encode()
    f.request.headers.fields = (*f.request.headers.fields, (name, value))
    await hook([ProxyLogin(shared), PolicyDecision(shared)], "requestheaders", f)
    assert all(k.lower() != b"proxy-authorization" for k, _ in f.request.headers.fields)
    assert f.response is not None and f.response.status_code == 407


async def test_the_login_is_kept_for_the_connection_without_its_password(
    shared: Shared, tctx: taddons.context
) -> None:
    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="tiktok.com", port=443))
    f.request.headers["proxy-authorization"] = auth("emma-tablet", "right")
    await ProxyLogin(shared).http_connect(f)
    state = shared.conns[f.client_conn.id]
    assert state.user == "emma-tablet" and "right" not in repr(state)
    assert "right" not in repr(f.metadata)
