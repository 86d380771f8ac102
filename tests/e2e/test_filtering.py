"""Plain HTTP through `vaccine run`: what is blocked, what is not, and the bypass attempts.

All requests come from 127.0.0.1, the `kid` profile of the main household
(tests/e2e/scenarios.py): blocks adult and gambling; block.domains blocked.test, both.test,
tube.test, bad.forum.test, bücher.test; allow.domains fun.casino.test, both.test,
edu.tube.test, forum.test, 127.0.0.1.
"""

from __future__ import annotations

import pytest

from .client import open_socket, read_response
from .harness import RunningProxy
from .origins import KEEP_ALIVE_HEADER
from .scenarios import ADDRESSES, SECRET_PATH, assert_block_page, assert_reached_origin

pytestmark = pytest.mark.e2e

ALLOWED = [
    pytest.param("allowed.test", id="not-listed"),
    pytest.param("social.test", id="category-not-blocked-by-profile"),
    pytest.param("fun.casino.test", id="allow-domain-beats-category"),
    pytest.param("www.fun.casino.test", id="allow-domain-covers-subdomains"),
    pytest.param("edu.tube.test", id="more-specific-allow-beats-block"),
    pytest.param("www.edu.tube.test", id="more-specific-allow-covers-subdomains"),
    pytest.param("forum.test", id="parent-of-blocked-subdomain"),
    pytest.param("xblocked.test", id="same-suffix-but-not-a-subdomain"),
    pytest.param("blocked.test.example.test", id="blocked-name-as-a-label-elsewhere"),
]


@pytest.mark.parametrize("host", ALLOWED)
def test_allowed_host_reaches_the_origin(main_proxy: RunningProxy, host: str) -> None:
    r = main_proxy.client().get(f"http://{host}/some/page?x=1")
    echo = assert_reached_origin(r, host)
    assert echo["path"] == "/some/page?x=1"


BLOCKED = [
    pytest.param("blocked.test", "blocked.test", id="block-domain"),
    pytest.param("www.blocked.test", "blocked.test", id="block-domain-subdomain"),
    pytest.param("adult.test", "adult.test", id="category-list"),
    pytest.param("deep.sub.adult.test", "adult.test", id="category-list-subdomain"),
    pytest.param("casino.test", "casino.test", id="second-category"),
    pytest.param("www.casino.test", "casino.test", id="second-category-subdomain"),
    pytest.param("both.test", "both.test", id="tie-between-allow-and-block-blocks"),
    pytest.param("tube.test", "tube.test", id="block-parent-of-allowed-child"),
    pytest.param("other.tube.test", "tube.test", id="sibling-of-allowed-child"),
    pytest.param("bad.forum.test", "bad.forum.test", id="more-specific-block-beats-allow"),
    pytest.param("x.bad.forum.test", "bad.forum.test", id="more-specific-block-subdomain"),
    pytest.param("xn--bcher-kva.test", "bcher", id="idn-block-domain-written-in-unicode"),
    pytest.param("xn--sndig-kva.test", "sndig", id="idn-list-entry-written-in-unicode"),
]


@pytest.mark.parametrize(("host", "named"), BLOCKED)
def test_blocked_host_gets_the_block_page(main_proxy: RunningProxy, host: str, named: str) -> None:
    r = main_proxy.client().get(f"http://{host}{SECRET_PATH}")
    assert_block_page(r, named)


def test_block_page_shows_the_help_line(main_proxy: RunningProxy) -> None:
    r = main_proxy.client().get(f"http://blocked.test{SECRET_PATH}")
    assert_block_page(r, "blocked.test")
    assert 'Childline <bdi dir="ltr">0800 1111</bdi>' in r.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_every_method_is_decided(main_proxy: RunningProxy, method: str) -> None:
    r = main_proxy.client().get("http://blocked.test/form", method=method)
    assert r.status == 403 and not r.from_origin, r


# (absolute URL, Host header or None for the URL's own) → each must be blocked.
BYPASSES = [
    pytest.param("http://BLOCKED.TEST/", None, id="upper-case"),
    pytest.param("http://Blocked.Test/", None, id="mixed-case"),
    pytest.param("http://blocked.test./", None, id="trailing-dot"),
    pytest.param("http://BLOCKED.TEST./", None, id="upper-case-and-trailing-dot"),
    pytest.param("http://blocked.test:8080/", None, id="explicit-port"),
    pytest.param("http://XN--BCHER-KVA.TEST/", None, id="idn-upper-case-punycode"),
    pytest.param("http://allowed.test/", "blocked.test", id="host-header-blocked-url-allowed"),
    pytest.param("http://blocked.test/", "allowed.test", id="url-blocked-host-header-allowed"),
    pytest.param("http://allowed.test/", "BLOCKED.TEST.", id="host-header-upper-trailing-dot"),
    pytest.param("http://allowed.test/", "blocked.test:80", id="host-header-with-port"),
    pytest.param("http://allowed.test/", "bücher.test".encode(), id="host-header-raw-utf8-idn"),
]


@pytest.mark.parametrize(("url", "host"), BYPASSES)
def test_bypass_attempt_is_blocked(main_proxy: RunningProxy, url: str, host: str | None) -> None:
    r = main_proxy.client().get(url, host=host)
    assert r.status == 403 and not r.from_origin, r


def test_ip_literal_allowed_by_allow_domains(main_proxy: RunningProxy) -> None:
    port = main_proxy.e2e.http_origin.port
    assert_reached_origin(main_proxy.client().get(f"http://127.0.0.1:{port}/"))


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.2", id="dotted"),
        pytest.param("0x7f000002", id="hex"),
        pytest.param("2130706434", id="decimal"),
        pytest.param("0177.0.0.2", id="octal"),
        pytest.param("[::1]", id="ipv6"),
        pytest.param("[::ffff:127.0.0.2]", id="ipv4-mapped-ipv6"),
    ],
)
def test_ip_literal_not_in_allow_domains_is_blocked(main_proxy: RunningProxy, host: str) -> None:
    port = main_proxy.e2e.http_origin.port
    r = main_proxy.client().get(f"http://{host}:{port}/")
    assert r.status == 403 and not r.from_origin, r


def test_ip_literal_allowed_for_one_profile_is_blocked_for_another(
    main_proxy: RunningProxy,
) -> None:
    port = main_proxy.e2e.http_origin.port
    r = main_proxy.client(source=ADDRESSES["open"]).get(f"http://127.0.0.1:{port}/")
    assert r.status == 403 and not r.from_origin, r


@pytest.mark.parametrize("profile", ["kid", "walled"])
def test_onboarding_is_always_reachable(main_proxy: RunningProxy, profile: str) -> None:
    client = main_proxy.client(source=ADDRESSES[profile])
    page = client.get("http://mitm.it/")
    assert page.status == 200 and not page.from_origin, page
    cert = client.get("http://mitm.it/cert/pem")
    assert cert.status == 200, cert
    assert cert.body.strip() == main_proxy.e2e.issuers.proxy.cert_pem.read_bytes().strip()


@pytest.mark.parametrize(
    ("url", "host"),
    [
        # mitmproxy's own onboarding app answers only the exact spelling `mitm.it`; any other
        # spelling of it in the Host header must not exempt the request from the decision.
        pytest.param("http://blocked.test/", "MITM.IT.", id="upper-case-trailing-dot"),
        pytest.param("http://blocked.test/", "Mitm.It", id="mixed-case"),
        pytest.param("http://blocked.test/", "mitm.it.", id="trailing-dot"),
    ],
)
def test_claiming_to_be_onboarding_does_not_reach_a_blocked_site(
    main_proxy: RunningProxy, url: str, host: str
) -> None:
    """The onboarding exemption is for the onboarding page, not for any request naming it."""
    r = main_proxy.client().get(url, host=host)
    assert not r.from_origin, r


def test_walled_profile_really_blocks(main_proxy: RunningProxy) -> None:
    """The onboarding test above means something only if this profile blocks the rest."""
    r = main_proxy.client(source=ADDRESSES["walled"]).get("http://allowed.test/")
    assert_block_page(r, "allowed.test")


def test_blocked_request_never_reaches_the_origin_on_a_kept_alive_connection(
    main_proxy: RunningProxy,
) -> None:
    """An allowed request first, then a blocked one on the same client connection."""
    with open_socket(main_proxy.port) as sock:
        sock.sendall(
            b"GET http://allowed.test/first HTTP/1.1\r\nHost: allowed.test\r\n"
            + KEEP_ALIVE_HEADER.encode()
            + b": 1\r\n\r\n"
        )
        first = read_response(sock)
        assert_reached_origin(first, "allowed.test")
        sock.sendall(
            b"GET http://blocked.test/second HTTP/1.1\r\nHost: blocked.test\r\n"
            b"Connection: close\r\n\r\n"
        )
        second = read_response(sock)
    assert_block_page(second, "blocked.test")
