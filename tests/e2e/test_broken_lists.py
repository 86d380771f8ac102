"""A category never silently shrinks: a list file replaced by junk, emptied, or deleted while
the proxy runs is refused at the reload (reported `FILE: message`, the last good lists stay in
force) and refuses the start-up; requests to its sites stay blocked throughout."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from .harness import E2E, RunningProxy
from .household import Household

pytestmark = pytest.mark.e2e

ADULT = [f"site{i}.adult.test" for i in range(40)] + ["adult.test"]
GAMBLING = ["casino.test", "poker.test"]


def write_household(hh: Household) -> None:
    hh.write_settings()
    hh.write_list("adult", ADULT)
    hh.write_list("gambling", GAMBLING)
    hh.write_profile(
        "kid",
        {"name": "Kid", "devices": [{"address": "127.0.0.1"}],
         "block": {"categories": ["adult", "gambling"]}},
    )  # fmt: skip
    hh.write_profile("guest", {"name": "Guest"})


@pytest.fixture
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("broken-lists"))
    write_household(hh)
    with e2e.vaccine(hh) as running:
        yield running


class Traffic:
    """Requests to blocked sites from another thread while the files change; counts leaks."""

    def __init__(self, proxy: RunningProxy, hosts: list[str]) -> None:
        self.proxy, self.hosts = proxy, hosts
        self.sent = self.leaked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = self.proxy.client()
        while not self._stop.is_set() and self.sent < 20_000:
            host = self.hosts[self.sent % len(self.hosts)]
            r = client.get(f"http://{host}/")
            self.sent += 1
            if r.status != 403 or r.from_origin:
                self.leaked += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


BREAKAGES = {
    "binary": lambda path: path.write_bytes(os.urandom(4096)),
    "empty": lambda path: path.write_bytes(b""),
    "mostly-junk": lambda path: path.write_text("adult.test\n" + "<html> not a list\n" * 50),
    "deleted": lambda path: path.unlink(),
    "moved": lambda path: path.rename(path.with_name(".adult.txt.old")),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_a_broken_list_keeps_its_category(proxy: RunningProxy, breakage: str) -> None:
    hh = proxy.household
    assert hh is not None
    with Traffic(proxy, [*ADULT, *GAMBLING]) as traffic:
        mark = proxy.process.mark()
        BREAKAGES[breakage](hh.list_path("adult"))
        failed = proxy.wait_reload_failed(mark)  # the watcher sees it within a second
        proxy.process.wait_for(r"adult\.txt: ", since=failed)
        mark = proxy.process.mark()
        proxy.hup()  # asked again: still refused
        proxy.wait_reload_failed(mark)
    assert traffic.sent > 0 and traffic.leaked == 0, f"{traffic.leaked} of {traffic.sent} leaked"

    # Fixed: the reload goes through, the category is whole again.
    mark = proxy.process.mark()
    hh.write_list("adult", ADULT)
    proxy.wait_reloaded(mark)
    assert proxy.client().get("http://site7.adult.test/").status == 403


@pytest.mark.parametrize("breakage", ["binary", "empty", "mostly-junk"])
def test_a_broken_list_refuses_the_start(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, breakage: str
) -> None:
    hh = Household(tmp_path_factory.mktemp("broken-start"))
    write_household(hh)
    BREAKAGES[breakage](hh.list_path("adult"))
    process, _ = e2e.spawn_vaccine(hh)
    assert process.wait_exit() != 0
    process.wait_for(r"adult\.txt: ")
    process.wait_for(r"not started")
