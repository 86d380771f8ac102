"""A hashed list blocks a host and a URL prefix through the real proxy, over HTTP and HTTPS,
with the reporting line on the page, only the rule in the log, and the clear list nowhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import logdb
from .harness import E2E, RunningProxy, wait_until
from .household import Household
from .scenarios import page_words

pytestmark = pytest.mark.e2e

REPORTING = "Vietnam: call 111 (national child protection hotline)"


@pytest.fixture(scope="module")
def proxy(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("hashed"))
    hh.write_settings(reporting_line=REPORTING)
    hh.write_list("gambling", ["casino.test"])
    hh.write_profile(
        "kid",
        {"name": "Kid", "devices": [{"address": "127.0.0.1"}],
         "block": {"categories": ["gambling"]}, "allow": {"domains": ["abuse.test"]}},
    )  # fmt: skip
    hh.write_profile("guest", {"name": "Guest"})
    clear = tmp_path_factory.mktemp("hotline") / "clear.txt"
    clear.write_text("abuse.test\nwww.images.test/gallery/12\n")
    made = e2e.cli(hh, "lists", "hash", str(clear), "-o", str(hh.lists / "hashed" / "h.sha256"))
    assert made.returncode == 0, made.stderr
    assert made.stderr.strip() == (
        f"hashed 1 hosts and 1 URL prefixes into {hh.lists / 'hashed' / 'h.sha256'}"
    )
    clear.unlink()  # the clear list is gone before the proxy ever starts
    with e2e.vaccine(hh) as running:
        yield running


@pytest.mark.parametrize(
    "url", ["http://abuse.test/", "http://deep.abuse.test/x", "http://images.test/gallery/12/a.jpg"]
)
def test_a_hashed_entry_blocks_with_the_reporting_line(proxy: RunningProxy, url: str) -> None:
    r = proxy.client().get(url)
    assert r.status == 403 and not r.from_origin
    assert REPORTING in page_words(r.text)
    assert "Childline" not in r.text
    assert "/ask" not in r.text  # no "Ask a parent": a parent cannot open this either


def test_the_rest_of_a_host_with_a_hashed_path_is_reachable(proxy: RunningProxy) -> None:
    client = proxy.client()
    for url in ("http://images.test/gallery/123", "http://images.test/ok.jpg"):
        r = client.get(url)
        assert r.status == 200 and r.from_origin, url


def test_https_a_host_with_a_hashed_path_is_decrypted_and_the_path_blocked(
    proxy: RunningProxy,
) -> None:
    client = proxy.client()
    bad = client.https("images.test:443", path="/gallery/12/b.jpg")
    assert bad.response is not None and bad.response.status == 403
    assert REPORTING in page_words(bad.response.text)
    fine = client.https("images.test:443", path="/fine.jpg")
    assert fine.response is not None and fine.response.status == 200
    assert fine.response.from_origin
    host = client.https("abuse.test:443")
    assert host.response is not None and host.response.status == 403


def test_the_log_keeps_only_the_rule_and_the_clear_list_is_nowhere(proxy: RunningProxy) -> None:
    proxy.client().get("http://abuse.test/again")
    hh = proxy.household
    assert hh is not None
    found = wait_until(
        lambda: logdb.rows(
            hh.db, "SELECT site, category, action FROM decisions WHERE rule = 'known_abuse'"
        ),
        what="the known_abuse records",
    )
    assert set(found) == {("", "", "blocked")}
    # Everything but the profile, which names abuse.test in allow.domains (to no effect).
    files = [f for f in logdb.files_under(hh.root) if f != hh.profile_path("kid")]
    assert logdb.leaks(["abuse.test", "gallery"], files, proxy.process.output()) == []
