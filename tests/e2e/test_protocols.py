"""HTTP/2 and WebSocket through `vaccine run`: every stream and every upgrade is decided.

Runs against the shared main proxy (tests/e2e/scenarios.py): kid (127.0.0.1) has the CA and
`inspect: needed`, so only blocked hosts are intercepted; open (127.0.0.4) has
`inspect: everything`, so allowed hosts are intercepted too. Both block blocked.test; kid
blocks the adult category (adult.test). The origins speak HTTP/1.1 only: the proxy
translates the client's HTTP/2 streams, as it must for any such server.
"""

from __future__ import annotations

import json
import uuid

import pytest

from .client import open_socket
from .h2client import H2Request, exchange
from .harness import RunningProxy
from .scenarios import ADDRESSES, assert_block_page, assert_reached_origin
from .wsclient import WebSocket, upgrade

pytestmark = pytest.mark.e2e


def mark() -> str:
    """A path segment no other request uses: whether the origin saw it is unambiguous."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


def origin_saw(proxy: RunningProxy, needle: str) -> bool:
    origins = (proxy.e2e.http_origin, proxy.e2e.https_origin)
    return any(needle in echo["path"] for o in origins for echo in o.seen)


# -- HTTP/2 ------------------------------------------------------------------------------------


def test_h2_is_negotiated_and_an_allowed_stream_reaches_the_origin(
    main_proxy: RunningProxy,
) -> None:
    m = mark()
    client = main_proxy.client(source=ADDRESSES["open"])
    with client.tunnel("allowed.test:443", alpn=["h2", "http/1.1"]) as (tls, issuer):
        assert issuer == "proxy"
        [result] = exchange(tls, [H2Request("allowed.test", f"/{m}/page?x=1")])
    assert result.response is not None, result
    echo = assert_reached_origin(result.response, "allowed.test")
    assert echo["path"] == f"/{m}/page?x=1"
    assert echo["sni"] == "allowed.test"


@pytest.mark.parametrize(
    ("profile", "target", "site"),
    [
        pytest.param("open", "blocked.test", "blocked.test", id="inspect-everything-block-domain"),
        pytest.param("kid", "blocked.test", "blocked.test", id="inspect-needed-block-domain"),
        pytest.param("kid", "www.adult.test", "adult.test", id="inspect-needed-category"),
    ],
)
def test_h2_blocked_host_gets_the_block_page_without_reaching_the_origin(
    main_proxy: RunningProxy, profile: str, target: str, site: str
) -> None:
    m = mark()
    client = main_proxy.client(source=ADDRESSES[profile])
    with client.tunnel(f"{target}:443", alpn=["h2"]) as (tls, issuer):
        assert issuer == "proxy"
        [result] = exchange(tls, [H2Request(target, f"/{m}/private-diary-7f3a")])
    assert result.response is not None, f"stream reset instead of a block page: {result}"
    assert_block_page(result.response, site)
    assert not origin_saw(main_proxy, m)


def test_h2_each_stream_is_decided_on_its_own_authority(main_proxy: RunningProxy) -> None:
    """Coalescing: one connection to an allowed host, one stream naming a blocked one."""
    m = mark()
    client = main_proxy.client(source=ADDRESSES["open"])
    with client.tunnel("allowed.test:443", alpn=["h2"]) as (tls, _):
        first, coalesced, last = exchange(
            tls,
            [
                H2Request("allowed.test", f"/{m}/first"),
                H2Request("blocked.test", f"/{m}/coalesced"),
                H2Request("allowed.test", f"/{m}/last"),
            ],
        )
    assert first.response is not None and last.response is not None, (first, last)
    assert assert_reached_origin(first.response)["path"] == f"/{m}/first"
    assert assert_reached_origin(last.response)["path"] == f"/{m}/last"
    assert coalesced.response is not None, f"stream reset instead of a block page: {coalesced}"
    assert_block_page(coalesced.response, "blocked.test")
    assert not origin_saw(main_proxy, f"{m}/coalesced")


# -- WebSocket -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "host"),
    [
        pytest.param("kid", "blocked.test", id="block-domain"),
        pytest.param("kid", "www.adult.test", id="category"),
        pytest.param("open", "blocked.test", id="inspect-everything"),
    ],
)
@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_websocket_upgrade_to_a_blocked_host_gets_403(
    main_proxy: RunningProxy, scheme: str, profile: str, host: str
) -> None:
    m = mark()
    client = main_proxy.client(source=ADDRESSES[profile])
    if scheme == "ws":
        with open_socket(main_proxy.port, client.source) as sock:
            response, ws = upgrade(sock, f"http://{host}/{m}", host)
    else:
        with client.tunnel(f"{host}:443") as (tls, issuer):
            assert issuer == "proxy"
            response, ws = upgrade(tls, f"/{m}", host)
    assert ws is None, f"the upgrade was accepted: {response}"
    site = "adult.test" if "adult" in host else host
    assert_block_page(response, site)
    assert not origin_saw(main_proxy, m)


@pytest.mark.parametrize(
    ("scheme", "profile"),
    [
        pytest.param("ws", "kid", id="ws"),
        pytest.param("wss", "open", id="wss-intercepted"),
    ],
)
def test_websocket_upgrade_to_an_allowed_host_is_relayed(
    main_proxy: RunningProxy, scheme: str, profile: str
) -> None:
    m = mark()
    client = main_proxy.client(source=ADDRESSES[profile])
    if scheme == "ws":
        with open_socket(main_proxy.port, client.source) as sock:
            response, ws = upgrade(sock, f"http://allowed.test/{m}", "allowed.test")
            assert ws is not None, response
            messages = _talk(ws, f"round trip {m}")
    else:
        with client.tunnel("allowed.test:443") as (tls, issuer):
            assert issuer == "proxy"
            response, ws = upgrade(tls, f"/{m}", "allowed.test")
            assert ws is not None, response
            messages = _talk(ws, f"round trip {m}")
    assert response.from_origin, response
    hello, echoed = messages
    echo = json.loads(hello)  # what the origin received: the upgrade, for our path
    assert echo["origin"] == ("http" if scheme == "ws" else "https")
    assert echo["host"] == "allowed.test"
    assert echo["path"] == f"/{m}"
    assert echo["headers"]["upgrade"].lower() == "websocket"
    assert echoed == f"round trip {m}"


def _talk(ws: WebSocket, text: str) -> tuple[str, str]:
    """The origin's first message (its echo of the upgrade), and its echo of `text`."""
    hello = ws.receive()
    ws.send(text)
    echoed = ws.receive()
    ws.close()
    return hello, echoed
