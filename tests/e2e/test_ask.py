"""Ask a parent, end to end: the block page's form submitted as the child, the request
answered with `vaccine requests`, then the site reached — and nothing the child's device sends
can approve anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import yaml

from .harness import E2E, RunningProxy, wait_until
from .household import Household
from .scenarios import assert_reached_origin

pytestmark = pytest.mark.e2e

ASK = "/.well-known/digital-vaccine/ask"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def asking(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("ask-household"))
    hh.write_settings()
    hh.write_list("games", ["games.test"])
    hh.write_list("adult", ["adult.test"])
    hh.write_profile(
        "kid",
        "# Kid's profile: this comment must survive an 'always' approval.\n"
        "name: Kid\n"
        "devices:\n  - address: 127.0.0.1\n"
        "block:\n  categories: [games, adult]   # the two lists above\n"
        "  domains: [blocked.test]\n",
    )
    hh.write_profile("guest", {"name": "Guest"})
    with e2e.vaccine(hh) as proxy:
        yield proxy


def requests_json(proxy: RunningProxy, *args: str) -> list[dict[str, object]]:
    hh = proxy.household
    assert hh is not None
    r = proxy.e2e.cli(hh, "requests", "list", "--json", "--all", "--policies", str(hh.policies),
                      "--db", str(hh.db), *args)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["requests"]  # type: ignore[no-any-return]


def answer(proxy: RunningProxy, *args: str) -> str:
    hh = proxy.household
    assert hh is not None
    r = proxy.e2e.cli(hh, "requests", *args, "--policies", str(hh.policies), "--db", str(hh.db))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_ask_then_approve_for_a_while_then_the_site_is_reached(asking: RunningProxy) -> None:
    kid = asking.client()
    page = kid.get("http://www.games.test/level/3?secret=abc")
    assert page.status == 403
    form = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert form is not None and form.group(1) == ASK  # relative: posted back to the same host
    sent = kid.get("http://www.games.test" + ASK, method="POST", headers=FORM,
                   body=b"message=for+my+homework&status=approved")  # fmt: skip
    assert sent.status == 200 and not sent.from_origin
    pending = [r for r in requests_json(asking) if r["domain"] == "games.test"]
    assert len(pending) == 1 and pending[0]["status"] == "pending"
    assert pending[0]["message"] == "for my homework" and pending[0]["category"] == "games"
    assert "secret" not in json.dumps(pending)
    assert kid.get("http://www.games.test/").status == 403  # not before a parent says yes

    answer(asking, "approve", str(pending[0]["id"]), "--for", "15m")
    # applied without a restart: the proxy polls the approvals every second
    wait_until(lambda: kid.get("http://www.games.test/").status != 403, what="approval applied")
    assert_reached_origin(kid.get("http://play.games.test/"))
    assert kid.get("http://adult.test/").status == 403  # only that site


def test_always_writes_the_allow_list_keeping_comments(asking: RunningProxy) -> None:
    kid = asking.client()
    kid.get("http://adult.test" + ASK, method="POST", headers=FORM, body=b"message=")
    (req,) = [r for r in requests_json(asking) if r["domain"] == "adult.test"]
    answer(asking, "approve", str(req["id"]), "--for", "always")
    hh = asking.household
    assert hh is not None
    text = hh.profile_path("kid").read_text()
    assert "this comment must survive" in text and "# the two lists above" in text
    assert "adult.test" in yaml.safe_load(text)["allow"]["domains"]
    wait_until(lambda: kid.get("http://adult.test/").status != 403, what="always applied")


def test_deny_and_the_child_cannot_approve(asking: RunningProxy) -> None:
    kid = asking.client()
    for body in (b"message=please", b"id=1&status=approved&approved_until=2099-01-01T00:00"):
        kid.get("http://blocked.test" + ASK, method="POST", headers=FORM, body=body)
    mine = [r for r in requests_json(asking) if r["domain"] == "blocked.test"]
    assert len(mine) == 1 and mine[0]["status"] == "pending"  # the second one: already asked
    answer(asking, "deny", str(mine[0]["id"]))
    assert kid.get("http://blocked.test/").status == 403
    assert [r["status"] for r in requests_json(asking) if r["domain"] == "blocked.test"] == [
        "denied"
    ]


def test_a_form_posted_from_another_site_is_refused(asking: RunningProxy) -> None:
    kid = asking.client()
    before = requests_json(asking)
    for headers in ({"origin": "http://evil.test"}, {"origin": "null"},
                    {"sec-fetch-site": "cross-site"}):  # fmt: skip
        sent = kid.get("http://adult.test" + ASK, method="POST", headers={**FORM, **headers},
                       body=b"message=from+elsewhere")  # fmt: skip
        assert sent.status == 403 and not sent.from_origin
    assert requests_json(asking) == before
