""" "Always" during bedtime, end to end: a child asks during a schedule window, the parent
answers with `vaccine requests approve --for always`, chooses whether bedtime is included,
and the real proxy does what the answer said — before its reload, after it, and once the
approval row no longer stands in for the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import yaml

from .harness import E2E, RunningProxy, wait_until
from .household import Household
from .logdb import rows

pytestmark = pytest.mark.e2e

ASK = "/.well-known/digital-vaccine/ask"
FORM = {"content-type": "application/x-www-form-urlencoded"}
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _bedtime(now: datetime) -> dict[str, object]:
    """A window in force now on every day (now ± 2 h), blocking everything."""
    return {
        "days": EVERY_DAY,
        "from": (now - timedelta(hours=2)).strftime("%H:%M"),
        "to": (now + timedelta(hours=2)).strftime("%H:%M"),
        "block": "everything",
    }


@pytest.fixture(scope="module")
def bedtime(e2e: E2E, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProxy]:
    hh = Household(tmp_path_factory.mktemp("always-household"))
    hh.write_settings()
    hh.write_list("games", ["games.test"])
    hh.write_list("video", ["video.test"])
    hh.write_profile(
        "kid",
        {
            "name": "Kid",
            "devices": [{"address": "127.0.0.1"}],
            "schedule": {"bedtime": _bedtime(datetime.now())},
        },
    )
    hh.write_profile("guest", {"name": "Guest"})
    with e2e.vaccine(hh) as proxy:
        yield proxy


def _cli(proxy: RunningProxy, *args: str) -> tuple[int, str, str]:
    hh = proxy.household
    assert hh is not None
    r = proxy.e2e.cli(hh, *args, "--policies", str(hh.policies), "--db", str(hh.db))
    return r.returncode, r.stdout, r.stderr


def _ask(proxy: RunningProxy, host: str) -> int:
    kid = proxy.client()
    assert kid.get(f"http://{host}/").status == 403  # bedtime
    sent = kid.get(f"http://{host}{ASK}", method="POST", headers=FORM, body=b"message=homework")
    assert sent.status == 200
    code, out, _ = _cli(proxy, "requests", "list", "--json")
    assert code == 0
    (req,) = [r for r in json.loads(out)["requests"] if r["domain"] == host]
    return int(req["id"])


def _explain(proxy: RunningProxy, host: str, at: datetime) -> tuple[str, str]:
    code, out, err = _cli(proxy, "explain", f"http://{host}/", "--profile", "kid", "--json",
                          "--at", at.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    return data["action"], data["rule"]


def _age_approval(proxy: RunningProxy, request_id: int) -> None:
    """As if the approval had been given long ago: its row no longer stands in for the file."""
    hh = proxy.household
    assert hh is not None
    db = sqlite3.connect(hh.db, timeout=5)
    try:
        db.execute("UPDATE access_requests SET answered_at = '2000-01-01T00:00:00' WHERE id = ?",
                   [request_id])  # fmt: skip
        db.commit()
    finally:
        db.close()


def test_always_including_bedtime_opens_the_site_and_keeps_it_open(
    bedtime: RunningProxy,
) -> None:
    hh = bedtime.household
    assert hh is not None
    rid = _ask(bedtime, "games.test")
    before = hh.profile_path("kid").read_text()

    # "always" alone: the parent is told that bedtime would still block it, nothing changes
    code, out, err = _cli(bedtime, "requests", "approve", str(rid), "--for", "always")
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and "during Kid's bedtime" in err
    assert "--during-schedule allow" in err and "--during-schedule block" in err
    assert hh.profile_path("kid").read_text() == before

    code, out, err = _cli(bedtime, "requests", "approve", str(rid), "--for", "always",
                          "--during-schedule", "allow")  # fmt: skip
    assert code == 0, err
    assert "It is open during bedtime (every day " in out
    kid_yaml = yaml.safe_load(hh.profile_path("kid").read_text())
    assert kid_yaml["allow"]["domains"] == ["games.test"]
    assert kid_yaml["schedule"]["bedtime"]["allow"] == ["games.test"]

    kid = bedtime.client()
    wait_until(lambda: kid.get("http://games.test/").status != 403, timeout=15,
               what="always, also during bedtime, applied")  # fmt: skip

    # Ten minutes on (the approval row no longer counts) the file alone keeps it open: the
    # proxy now decides it by allow.domains, and never blocked it meanwhile.
    _age_approval(bedtime, rid)
    statuses: list[int] = []

    def decided_by_the_file() -> bool:
        statuses.append(kid.get("http://games.test/").status)
        found = rows(hh.db, "SELECT count(*) FROM decisions WHERE profile = 'kid' AND "
                     "site = 'games.test' AND rule = 'allow.domains'")  # fmt: skip
        return bool(found and found[0][0])

    wait_until(decided_by_the_file, timeout=15, what="the file, not the approval, decides")
    assert 403 not in statuses
    assert _explain(bedtime, "games.test", datetime.now()) == ("allow", "allow.domains")


def test_always_but_not_during_bedtime_never_flips(bedtime: RunningProxy) -> None:
    """The parent chose "blocked during bedtime": it is not opened now and closed later."""
    hh = bedtime.household
    assert hh is not None
    rid = _ask(bedtime, "video.test")
    mark = bedtime.process.mark()
    code, out, err = _cli(bedtime, "requests", "approve", str(rid), "--for", "always",
                          "--during-schedule", "block")  # fmt: skip
    assert code == 0, err
    assert "It stays blocked during bedtime (every day " in out
    assert "It opens when bedtime ends, at " in out
    kid = bedtime.client()
    # before the reload (the approval row is in force) and after it, bedtime still blocks it
    assert kid.get("http://video.test/").status == 403
    bedtime.wait_reloaded(mark, check=lambda: "video.test" in hh.profile_path("kid").read_text())
    assert kid.get("http://video.test/").status == 403
    now = datetime.now()
    assert _explain(bedtime, "video.test", now) == ("block", "schedule")
    # when bedtime is over, the file's allow.domains opens it
    assert _explain(bedtime, "video.test", now + timedelta(hours=3)) == ("allow", "allow.domains")
