"""Kept-alive client connections: many requests on one connection, as browsers and load
generators send them, each decided and logged, over one server connection.

mitmproxy reuses a server connection for the next request to the same address and allows
five at a time per address and client connection. The test router once left the origin's
address on the server connection, so no request matched it: every request opened another and
the sixth waited forever. These tests would time out again if anything between the client
and the origin (the router, or an addon of ours) broke that reuse.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest

from . import logdb
from .client import Response, open_socket, read_body, read_head
from .harness import E2E, RunningProxy
from .household import Household
from .origins import KEEP_ALIVE_HEADER, ORIGIN_HEADER
from .scenarios import assert_block_page, assert_reached_origin

pytestmark = pytest.mark.e2e

#: More than mitmproxy's five server connections per address and client connection.
REQUESTS = 8
KID = "127.0.0.1"


def household(hh: Household) -> None:
    hh.write_settings(unknown_devices="kid")
    hh.write_list("adult", ["adult.test"])
    hh.write_profile(
        "kid",
        {
            "name": "Kid",
            "devices": [{"address": KID}],
            "block": {"categories": ["adult"]},
            "inspect": "everything",
        },
    )


def send(sock: socket.socket | ssl.SSLSocket, head: str) -> Response:
    """One request on a connection that stays open; its response, read exactly."""
    sock.sendall(head.encode())
    status, reason, headers = read_head(sock)
    return Response(status, reason, headers, read_body(sock, headers))


def get(target: str, host: str) -> str:
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{KEEP_ALIVE_HEADER}: 1\r\n\r\n"


@pytest.fixture
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("keepalive"))
    household(hh)
    with e2e.vaccine(hh) as running:
        yield running


def test_plain_http_requests_on_one_connection_are_each_decided_and_logged(
    proxy: RunningProxy,
) -> None:
    origin = proxy.e2e.http_origin
    before = origin.connections
    with open_socket(proxy.port, KID) as sock:
        for i in range(REQUESTS):
            assert_reached_origin(send(sock, get(f"http://site.test/{i}", "site.test")))
        # A blocked request in between is answered by the proxy; the connection goes on.
        assert_block_page(send(sock, get("http://adult.test/", "adult.test")), "adult.test")
        assert_reached_origin(send(sock, get("http://site.test/last", "site.test")))
    assert origin.connections - before == 1, "the server connection was not reused"
    hh = proxy.household
    assert hh is not None
    proxy.process.stop()  # SIGTERM: the log is flushed
    assert logdb.counts_by_action(hh.db, "kid") == {"allowed": REQUESTS + 1, "blocked": 1}


def test_intercepted_https_requests_on_one_connection_reuse_one_server_connection(
    proxy: RunningProxy,
) -> None:
    origin = proxy.e2e.https_origin
    before = origin.connections
    with proxy.client(source=KID).tunnel("site.test:443") as (tls, _issuer):
        for i in range(REQUESTS):
            r = send(tls, get(f"/{i}", "site.test"))
            assert r.status == 200 and ORIGIN_HEADER in r.headers, r
    assert origin.connections - before == 1, "the server connection was not reused"


def test_mitmdump_with_the_router_keeps_connections_alive(e2e: E2E) -> None:
    """The same through plain mitmdump: the bench compares the two on kept-alive traffic."""
    with e2e.mitmdump() as proxy:
        before = e2e.http_origin.connections
        with open_socket(proxy.port) as sock:
            for i in range(REQUESTS):
                assert_reached_origin(send(sock, get(f"http://site.test/{i}", "site.test")))
        assert e2e.http_origin.connections - before == 1
