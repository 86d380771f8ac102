"""Session fixtures for the end-to-end tests: CAs, local origins, and the harness object.

A proxy under test reaches `*.test` hosts only through tests/e2e/route_addon.py, which points
them at the origins here; nothing resolves a name and nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .certs import Issuers, make_ca
from .harness import E2E, RunningProxy
from .household import Household
from .origins import start_http_origin, start_https_origin
from .scenarios import write_main_household


@pytest.fixture(scope="session")
def issuers(tmp_path_factory: pytest.TempPathFactory) -> Issuers:
    # The proxy's CA is made here, before any proxy starts, so every proxy uses this one.
    proxy_ca = make_ca(tmp_path_factory.mktemp("confdir"), "mitmproxy", "vaccine-e2e proxy CA")
    origin_ca = make_ca(tmp_path_factory.mktemp("origin-ca"), "origin", "vaccine-e2e origin CA")
    return Issuers(proxy=proxy_ca, origin=origin_ca)


@pytest.fixture(scope="session")
def e2e(issuers: Issuers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    http_origin = start_http_origin()
    https_origin = start_https_origin(issuers.origin.store(), tmp_path_factory.mktemp("leaves"))
    try:
        yield E2E(
            issuers,
            issuers.proxy.directory,
            http_origin,
            https_origin,
            scratch=lambda name: tmp_path_factory.mktemp(name),
        )
    finally:
        https_origin.close()
        http_origin.close()


@pytest.fixture(scope="session")
def main_proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    """One `vaccine run` over the main household, shared by every read-only test."""
    hh = Household(tmp_path_factory.mktemp("main-household"))
    write_main_household(hh)
    with e2e.vaccine(hh) as proxy:
        yield proxy
