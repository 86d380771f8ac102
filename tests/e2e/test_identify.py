"""Which profile a connection belongs to: login, then source address (most specific CIDR),
then listening port, else `unknown_devices`.

Every profile of the main household blocks only its own `marker-<id>.test`, so the set of
blocked markers names the profile a request was attributed to.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .client import basic_auth
from .harness import E2E, RunningProxy, free_port
from .household import Household
from .scenarios import LOGIN, assert_reached_origin, blocked_markers, marker

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("source", "auth", "profile"),
    [
        pytest.param("127.0.0.1", None, "kid", id="address-kid"),
        pytest.param("127.0.0.2", None, "teen", id="address-teen"),
        pytest.param("127.0.0.3", None, "guest", id="unknown-address-is-guest"),
        pytest.param("127.0.1.5", None, "class", id="most-specific-cidr"),
        pytest.param("127.0.1.100", None, "lab", id="wider-cidr"),
        pytest.param("127.0.0.2", LOGIN, "emma", id="login-beats-address"),
        pytest.param("127.0.0.3", LOGIN, "emma", id="login-for-unknown-address"),
    ],
)
def test_http_request_attributed(
    main_proxy: RunningProxy, source: str, auth: tuple[str, str] | None, profile: str
) -> None:
    assert blocked_markers(main_proxy.client(source=source, auth=auth)) == {profile}


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param((LOGIN[0], "wrong password"), id="wrong-password"),
        pytest.param(("nobody", LOGIN[1]), id="unknown-user"),
        pytest.param((LOGIN[0], ""), id="empty-password"),
        pytest.param("Basic !!!not-base64!!!", id="garbled"),
        pytest.param("Bearer abc", id="other-scheme"),
    ],
)
def test_bad_credentials_get_407(main_proxy: RunningProxy, auth: tuple[str, str] | str) -> None:
    client = main_proxy.client(source="127.0.0.1", auth=auth)
    r = client.get("http://allowed.test/")
    assert r.status == 407 and not r.from_origin, r
    sock, status, head = client.connect("allowed.test:443")
    sock.close()
    assert status == 407, head


def test_connect_with_login_is_attributed_to_the_login(main_proxy: RunningProxy) -> None:
    """From teen's address (no CA: a blocked CONNECT is refused), with emma's login."""
    teen = main_proxy.client(source="127.0.0.2")
    assert teen.https(f"{marker('teen')}:443").refused
    as_emma = teen.with_(auth=basic_auth(*LOGIN))
    r = as_emma.https(f"{marker('teen')}:443")
    assert r.issuer == "origin" and r.response is not None, r
    assert_reached_origin(r.response)
    blocked = as_emma.https(f"{marker('emma')}:443")
    assert blocked.issuer == "proxy" and blocked.response is not None, blocked
    assert blocked.response.status == 403


@pytest.fixture(scope="module")
def two_listeners(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProxy, int]]:
    """A proxy with a second listener whose port alone names the `tablet` profile."""
    hh = Household(tmp_path_factory.mktemp("ports-household"))
    second = free_port()
    hh.write_settings()
    hh.write_profile(
        "kid",
        {
            "name": "Kid",
            "devices": [{"address": "127.0.0.1"}],
            "block": {"domains": [marker("kid")]},
        },
    )
    hh.write_profile(
        "tablet",
        {"name": "Tablet", "devices": [{"port": second}], "block": {"domains": [marker("tablet")]}},
    )
    hh.write_profile("guest", {"name": "Guest", "block": {"domains": [marker("guest")]}})
    with e2e.vaccine(hh, modes=[f"regular@{second}"]) as proxy:
        yield proxy, second


def _profile_of(proxy: RunningProxy, port: int, source: str) -> set[str]:
    client = proxy.client(port=port, source=source)
    return {
        p for p in ("kid", "tablet", "guest") if client.get(f"http://{marker(p)}/").status == 403
    }


@pytest.mark.parametrize(
    ("listener", "source", "profile"),
    [
        pytest.param("second", "127.0.2.1", "tablet", id="port-names-the-profile"),
        pytest.param("second", "127.0.0.1", "kid", id="address-beats-port"),
        pytest.param("main", "127.0.2.1", "guest", id="main-listener-unknown-address"),
        pytest.param("main", "127.0.0.1", "kid", id="main-listener-known-address"),
    ],
)
def test_listening_port_attribution(
    two_listeners: tuple[RunningProxy, int], listener: str, source: str, profile: str
) -> None:
    proxy, second = two_listeners
    port = second if listener == "second" else proxy.port
    assert _profile_of(proxy, port, source) == {profile}
