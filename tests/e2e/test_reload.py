"""Reloading: SIGHUP applies edits at once, the watcher applies them by itself, and a broken
edit keeps the last good policy in force (reported as FILE:LINE) until it is fixed.

Each test has its own proxy: these tests change the files under it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from .harness import E2E, RunningProxy
from .household import Household

pytestmark = pytest.mark.e2e


def kid(block: Sequence[str], categories: Sequence[str] = ()) -> str:
    """The kid profile as text, so tests know which line holds what."""
    return (
        "name: Kid\n"  # 1
        "devices:\n"  # 2
        "  - address: 127.0.0.1\n"  # 3
        "block:\n"  # 4
        f"  categories: [{', '.join(categories)}]\n"  # 5
        f"  domains: [{', '.join(block)}]\n"  # 6
    )


@pytest.fixture
def reloading(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("reload-household"))
    hh.write_settings()
    hh.write_list("adult", ["adult.test"])
    hh.write_profile("kid", kid(["blocked.test", "other1.test"], ["adult"]))
    hh.write_profile("guest", "name: Guest\n")
    with e2e.vaccine(hh) as proxy:
        yield proxy


def status(proxy: RunningProxy, host: str) -> int:
    return proxy.client().get(f"http://{host}/").status


def test_sighup_applies_an_edit_at_once(reloading: RunningProxy) -> None:
    """The edit keeps size and mtime, so only SIGHUP (not the watcher) can notice it."""
    hh = reloading.household
    assert hh is not None
    assert status(reloading, "later1.test") == 200
    hh.rewrite_in_place(hh.profile_path("kid"), "other1.test", "later1.test")
    mark = reloading.hup()
    reloading.wait_reloaded(mark, check=lambda: status(reloading, "later1.test") == 403)
    assert status(reloading, "later1.test") == 403
    assert status(reloading, "other1.test") == 200
    assert status(reloading, "blocked.test") == 403


def test_watcher_applies_an_edit_without_sighup(reloading: RunningProxy) -> None:
    hh = reloading.household
    assert hh is not None
    assert status(reloading, "later2.test") == 200
    mark = reloading.process.mark()
    hh.write_profile("kid", kid(["blocked.test", "later2.test"], ["adult"]))
    reloading.wait_reloaded(mark, check=lambda: status(reloading, "later2.test") == 403)
    assert status(reloading, "later2.test") == 403


def test_sighup_reloads_the_lists(reloading: RunningProxy) -> None:
    hh = reloading.household
    assert hh is not None
    assert status(reloading, "newly-adult.test") == 200
    hh.write_list("adult", ["adult.test", "newly-adult.test"])
    mark = reloading.hup()
    reloading.wait_reloaded(mark, check=lambda: status(reloading, "newly-adult.test") == 403)
    assert status(reloading, "newly-adult.test") == 403
    assert status(reloading, "www.newly-adult.test") == 403


BROKEN = [
    # (content, line the problem must be reported at). Each broken file would also unblock
    # blocked.test and block allowed.test if it were (wrongly) half-applied.
    pytest.param(
        "name: Kid\ndevices:\n  - address: 127.0.0.1\n"
        "block:\n  domains: [allowed.test]\n  categorise: [adult]\n",
        6,
        id="unknown-key",
    ),
    pytest.param(
        "name: Kid\ndevices:\n  - address: 127.0.0.1\nblock:\n\tdomains: [allowed.test]\n",
        5,
        id="yaml-syntax-error",
    ),
    pytest.param(
        "name: Kid\ndevices:\n  - address: 127.0.0.1\n"
        "block:\n  domains: [allowed.test]\n  categories: [adult, gamblin]\n",
        6,
        id="unknown-category",
    ),
]


@pytest.mark.parametrize(("broken", "line"), BROKEN)
def test_broken_edit_keeps_the_last_good_policy(
    reloading: RunningProxy, broken: str, line: int
) -> None:
    hh = reloading.household
    assert hh is not None
    assert (status(reloading, "blocked.test"), status(reloading, "allowed.test")) == (403, 200)

    mark = reloading.process.mark()
    hh.write_profile("kid", broken)
    reloading.hup()
    failed_at = reloading.wait_reload_failed(mark)
    reloading.process.wait_for(rf"kid\.yaml:{line}: ", since=failed_at)
    # The last good policy is still the one in force, and the proxy still answers.
    assert (status(reloading, "blocked.test"), status(reloading, "allowed.test")) == (403, 200)

    mark = reloading.process.mark()
    hh.write_profile("kid", kid(["allowed.test"]))
    reloading.hup()
    reloading.wait_reloaded(mark, check=lambda: status(reloading, "allowed.test") == 403)
    assert (status(reloading, "blocked.test"), status(reloading, "allowed.test")) == (200, 403)
