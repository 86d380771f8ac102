"""HTTPS through CONNECT: what is intercepted, what is passed through, what is refused.

The client trusts both the proxy's CA and the origin CA; the leaf's issuer tells
interception ("proxy") from pass-through ("origin"). Profiles (tests/e2e/scenarios.py):
kid (127.0.0.1) CA installed, inspect: needed; open (127.0.0.4) inspect: everything;
teen (127.0.0.2) ca_installed: false. never_decrypt is [banking, health]; bank.test is banking.
"""

from __future__ import annotations

import pytest

from .client import TLSResult
from .harness import RunningProxy
from .scenarios import ADDRESSES, SECRET_PATH, assert_block_page, assert_reached_origin

pytestmark = pytest.mark.e2e


def passed_through(r: TLSResult, sni: str) -> None:
    """The tunnel carried the client's own TLS to the origin, untouched."""
    assert r.connect_status == 200, r
    assert r.issuer == "origin", r
    assert r.response is not None, r
    echo = assert_reached_origin(r.response)
    assert echo["sni"] == sni, echo


def intercepted_and_blocked(r: TLSResult, site: str) -> None:
    assert r.connect_status == 200, r
    assert r.issuer == "proxy", r
    assert r.response is not None, r
    assert_block_page(r.response, site)


def never_intercepted_nor_delivered(r: TLSResult) -> None:
    """Blocked without the CA: refused at CONNECT or closed at the ClientHello."""
    assert r.issuer != "proxy", f"intercepted a device without the CA: {r}"
    assert r.response is None or not r.response.from_origin, f"reached the origin: {r}"
    assert r.refused or r.issuer is None, r


# -- kid: CA installed, inspect: needed ------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("allowed.test", id="allowed"),
        pytest.param("social.test", id="category-not-blocked"),
        pytest.param("fun.casino.test", id="allow-domain-beats-category"),
        pytest.param("bank.test", id="never-decrypt-category"),
    ],
)
def test_allowed_host_is_passed_through(main_proxy: RunningProxy, host: str) -> None:
    r = main_proxy.client().https(f"{host}:443", path="/inside")
    passed_through(r, host)
    assert r.response is not None and r.response.json()["path"] == "/inside"


@pytest.mark.parametrize(
    ("target", "sni", "host", "named"),
    [
        pytest.param("blocked.test:443", None, None, "blocked.test", id="block-domain"),
        pytest.param("www.adult.test:443", None, None, "adult.test", id="category"),
        pytest.param("BLOCKED.TEST:443", None, None, "blocked.test", id="upper-case"),
        pytest.param("blocked.test.:443", "blocked.test", None, "blocked.test", id="trailing-dot"),
        pytest.param(
            "allowed.test:443",
            "blocked.test",
            None,
            "blocked.test",
            id="sni-blocked-connect-allowed",
        ),
        pytest.param(
            "blocked.test:443",
            "allowed.test",
            "allowed.test",
            "blocked.test",
            id="connect-blocked-sni-and-host-allowed",
        ),
    ],
)
def test_blocked_host_is_intercepted_for_the_block_page(
    main_proxy: RunningProxy, target: str, sni: str | None, host: str | None, named: str
) -> None:
    r = main_proxy.client().https(target, sni=sni, host=host, path=SECRET_PATH)
    intercepted_and_blocked(r, named)


def test_ip_literal_allowed_by_allow_domains_is_passed_through(main_proxy: RunningProxy) -> None:
    port = main_proxy.e2e.https_origin.port
    r = main_proxy.client().https(f"127.0.0.1:{port}", sni="allowed.test")
    passed_through(r, "allowed.test")


def test_ip_literal_not_allowed_is_blocked(main_proxy: RunningProxy) -> None:
    port = main_proxy.e2e.https_origin.port
    r = main_proxy.client().https(f"127.0.0.2:{port}", sni=None, check_hostname=False)
    assert r.connect_status == 200 and r.issuer == "proxy", r
    assert r.response is not None and r.response.status == 403, r


# -- open: inspect: everything ----------------------------------------------------------


def test_inspect_everything_intercepts_an_allowed_host_and_reaches_the_origin(
    main_proxy: RunningProxy,
) -> None:
    r = main_proxy.client(source=ADDRESSES["open"]).https("allowed.test:443", path="/seen")
    assert r.issuer == "proxy", r
    assert r.response is not None, r
    echo = assert_reached_origin(r.response, "allowed.test")
    assert echo["path"] == "/seen"
    assert echo["sni"] == "allowed.test"


def test_never_decrypt_beats_inspect_everything(main_proxy: RunningProxy) -> None:
    r = main_proxy.client(source=ADDRESSES["open"]).https("bank.test:443")
    passed_through(r, "bank.test")


@pytest.mark.parametrize(
    ("target", "sni", "host"),
    [
        pytest.param("blocked.test:443", None, None, id="block-domain"),
        pytest.param("allowed.test:443", "allowed.test", "blocked.test", id="inner-host-blocked"),
        pytest.param("allowed.test:443", "allowed.test", "BLOCKED.TEST.", id="inner-host-spelled"),
    ],
)
def test_inspect_everything_blocks_inside_the_tunnel(
    main_proxy: RunningProxy, target: str, sni: str | None, host: str | None
) -> None:
    r = main_proxy.client(source=ADDRESSES["open"]).https(
        target, sni=sni, host=host, path=SECRET_PATH
    )
    intercepted_and_blocked(r, "blocked.test")


def test_ip_literal_connect_is_blocked_for_a_profile_without_it(main_proxy: RunningProxy) -> None:
    port = main_proxy.e2e.https_origin.port
    r = main_proxy.client(source=ADDRESSES["open"]).https(f"127.0.0.1:{port}", sni="allowed.test")
    assert r.connect_status == 200 and r.issuer == "proxy", r
    assert r.response is not None and r.response.status == 403, r
    assert not r.response.from_origin


# -- teen: ca_installed: false ------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("blocked.test:443", id="block-domain"),
        pytest.param("adult.test:443", id="category"),
        pytest.param("BLOCKED.TEST.:443", id="spelled-differently"),
        pytest.param("127.0.0.1:{https}", id="ip-literal"),
    ],
)
def test_without_ca_a_blocked_connect_is_refused(main_proxy: RunningProxy, target: str) -> None:
    target = target.format(https=main_proxy.e2e.https_origin.port)
    r = main_proxy.client(source=ADDRESSES["teen"]).https(target, sni="allowed.test")
    assert r.refused, r
    assert r.issuer is None, r


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("allowed.test:443", id="connect-allowed"),
        pytest.param("mitm.it:443", id="connect-onboarding-host"),
    ],
)
def test_without_ca_a_blocked_sni_is_closed_never_intercepted(
    main_proxy: RunningProxy, target: str
) -> None:
    r = main_proxy.client(source=ADDRESSES["teen"]).https(
        target, sni="blocked.test", path=SECRET_PATH
    )
    never_intercepted_nor_delivered(r)


@pytest.mark.parametrize("host", ["allowed.test", "fun.casino.test", "bank.test"])
def test_without_ca_an_allowed_host_is_passed_through(main_proxy: RunningProxy, host: str) -> None:
    r = main_proxy.client(source=ADDRESSES["teen"]).https(f"{host}:443")
    passed_through(r, host)


def test_without_ca_plain_http_still_gets_the_block_page(main_proxy: RunningProxy) -> None:
    r = main_proxy.client(source=ADDRESSES["teen"]).get(f"http://blocked.test{SECRET_PATH}")
    assert_block_page(r, "blocked.test")
