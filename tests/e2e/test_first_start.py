"""The first `vaccine run` filters for real: it says what its starter lists hold and what is
missing, fetches the sources of sources.yaml in the background (a local server plays the list
sites) while it already filters, and swaps the fetched lists in without a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import E2E
from .household import Household
from .listsite import ListSite, ut1_tarball

pytestmark = pytest.mark.e2e

ADULT = [f"site{i}.adult.test" for i in range(30)]
SOURCES = """\
sources:
  ut1:
    url: {base}/blacklists.tar.gz
    format: ut1
    categories: {{adult: adult, drogue: drugs}}
  bad:
    url: {base}/hosts
    format: hosts
    into: bad.hosts
    category: malware
"""


@pytest.fixture
def site() -> Iterator[ListSite]:
    with ListSite() as s:
        s.publish("/blacklists.tar.gz", ut1_tarball({"adult": ADULT, "drogue": ["weed.test"]}))
        s.publish("/hosts", b"0.0.0.0 malware.test\n0.0.0.0 trojan.test\n")
        yield s


def household(root: object, base: str, **lists: object) -> Household:
    hh = Household(root)  # type: ignore[arg-type]
    hh.write_settings(**({"lists": lists} if lists else {}))
    hh.write_list("gambling", ["casino.test"])
    hh.write(hh.lists / "sources.yaml", SOURCES.format(base=base))
    hh.write_profile(
        "kid",
        {"name": "Kid", "devices": [{"address": "127.0.0.1"}],
         "block": {"categories": ["adult", "drugs", "gambling", "malware"]}},
    )  # fmt: skip
    hh.write_profile("guest", {"name": "Guest"})
    return hh


def test_the_first_start_fetches_and_swaps_the_lists_in(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, site: ListSite
) -> None:
    site.hold.add("/blacklists.tar.gz")  # the archive arrives only when the test says so
    hh = household(tmp_path_factory.mktemp("first-start"), site.base)
    with e2e.vaccine(hh) as proxy:
        _, line = proxy.process.wait_for(r"^vaccine: lists: ")
        assert line.startswith("vaccine: lists: 1 entry (harmful 1, security 0, bypass 0,")
        assert "; nothing for adult, dating, violence, drugs, weapons," in line
        assert line.endswith("; starter lists only: fetching 2 sources in the background")
        site.held.wait(30)
        client = proxy.client()
        assert client.get("http://casino.test/").status == 403  # filtering goes on meanwhile
        before = client.get("http://site3.adult.test/")
        assert before.status == 200 and before.from_origin  # not fetched yet
        mark = proxy.process.mark()
        site.release.set()
        proxy.wait_reloaded(
            mark, check=lambda: client.get("http://site3.adult.test/").status == 403
        )
        assert client.get("http://x.site7.adult.test/").status == 403
        assert client.get("http://weed.test/").status == 403
        assert client.get("http://trojan.test/").status == 403
        said = proxy.process.stderr_lines(mark)
        assert any(x.startswith("vaccine: lists: ut1: updated, 5 files, 31 entries") for x in said)
        assert any(x.startswith("vaccine: lists: compiled 33 entries") for x in said)
        assert site.full_bodies == {"/blacklists.tar.gz": 1, "/hosts": 1}
    assert (hh.lists / ".state" / "ut1.json").is_file()


def test_a_failed_first_fetch_keeps_the_starter_lists(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, site: ListSite
) -> None:
    del site.files["/hosts"]  # 404
    hh = household(tmp_path_factory.mktemp("first-start-404"), site.base)
    with e2e.vaccine(hh) as proxy:
        i, _ = proxy.process.wait_for(r"^vaccine: lists: bad: failed \(HTTP 404 ")
        _, line = proxy.process.wait_for(r"^vaccine: reloaded", since=i)
        client = proxy.client()
        assert client.get("http://casino.test/").status == 403
        assert client.get("http://site3.adult.test/").status == 403  # ut1 arrived all the same
        assert client.get("http://trojan.test/").status == 200


def test_fetch_on_start_off_only_says_so(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory, site: ListSite
) -> None:
    hh = household(tmp_path_factory.mktemp("no-fetch"), site.base, fetch_on_start=False)
    with e2e.vaccine(hh) as proxy:
        _, line = proxy.process.wait_for(r"^vaccine: lists: ")
        assert line.endswith(
            "; starter lists only (lists.fetch_on_start is off: run `vaccine lists update`)"
        )
        assert proxy.client().get("http://site3.adult.test/").status == 200
    assert site.requests == {}
