"""`vaccine requests list / approve / deny`, through the real entry point."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from vaccine.proxy.cli import requests as requests_cli
from vaccine.proxy.cli.main import main
from vaccine.proxy.store.requests import add_request, answer, approvals_in_force, get_request
from vaccine.proxy.store.schema import connect

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 8, 19, 0, 0)


@pytest.fixture
def household(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped household in tmp_path; its settings put the log at tmp_path/var/vaccine.db."""
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    connect(tmp_path / "var" / "vaccine.db").close()
    monkeypatch.setattr(requests_cli, "clock", lambda: NOW)
    return policies


@pytest.fixture
def db(household: Path) -> Path:
    path = household.parent / "var" / "vaccine.db"
    add_request(path, "emma", "roblox.com", "games", "for school", NOW)
    add_request(path, "leo", "discord.com", "chat", "\x1b[31mplease\x07", NOW)
    add_request(path, "emma", "example.org", "", "", NOW)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_what_waits(
    household: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "requests", "list", "--policies", str(household))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == [
        '#1  2026-03-08 19:00  emma  roblox.com (games)  "for school"',
        '#2  2026-03-08 19:00  leo  discord.com (chat)  " [31mplease "',  # no escapes reach the tty
        "#3  2026-03-08 19:00  emma  example.org",
    ]
    assert "vaccine requests approve ID" in out


def test_list_json_and_all(household: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answer(db, 1, approve=True, until=datetime(2026, 3, 8, 20, 0), now=NOW)
    answer(db, 3, approve=False, until=None, now=NOW)
    code, out, _ = run(capsys, "requests", "--policies", str(household), "list", "--json")
    data = json.loads(out)
    assert (data["format"], data["version"]) == ("vaccine-requests", 1)
    assert data["requests"] == [
        {
            "id": 2,
            "profile": "leo",
            "domain": "discord.com",
            "category": "chat",
            "message": "\x1b[31mplease\x07",
            "created": "2026-03-08T19:00:00",
            "status": "pending",
            "answered_at": None,
            "approved_until": None,
        }
    ]
    code, out, _ = run(capsys, "requests", "list", "--all", "--policies", str(household))
    assert "[approved until 2026-03-08 20:00]" in out and "[denied]" in out and "[waiting]" in out
    code, out, _ = run(capsys, "requests", "list", "--json", "--all", "--profile", "emma",
                       "--db", str(db))  # fmt: skip
    assert [r["id"] for r in json.loads(out)["requests"]] == [1, 3]


def test_list_when_nothing_waits(household: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "requests", "list", "--policies", str(household))
    assert (code, out) == (0, "No requests waiting for an answer.\n")


@pytest.mark.parametrize(
    ("argv", "said", "until"),
    [
        (["--for", "15m"], "emma may visit roblox.com until 19:15.", datetime(2026, 3, 8, 19, 15)),
        ([], "emma may visit roblox.com until 20:00.", datetime(2026, 3, 8, 20, 0)),  # 1h
        (["--for", "today"], "emma may visit roblox.com until midnight.", datetime(2026, 3, 9)),
        (["--for", "6h"], "until Mon 09 Mar 01:00.", datetime(2026, 3, 9, 1, 0)),
    ],
)
def test_approve_for_a_while(
    household: Path,
    db: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    said: str,
    until: datetime,
) -> None:
    code, out, err = run(capsys, "requests", "approve", "1", *argv, "--policies", str(household))
    assert (code, err) == (0, "")
    assert out.startswith("Approved #1: ") and said in out
    assert approvals_in_force(db, NOW) == {"emma": {"roblox.com": until}}


def test_approve_always_edits_the_profile_file(
    household: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "requests", "approve", "#1", "--for", "always",
                       "--during-schedule", "block", "--policies", str(household))  # fmt: skip
    assert code == 0
    assert "emma may visit roblox.com always, except during bedtime." in out
    assert f"Added roblox.com to allow.domains in {(household / 'emma.yaml').absolute()}" in out
    assert "scratch.mit.edu, roblox.com]" in (household / "emma.yaml").read_text()
    # NOW is Sunday 19:00, before bedtime: nothing opens or closes at its end
    assert out.splitlines()[-1] == (
        "It stays blocked during bedtime (Mon, Tue, Wed, Thu, Sun 19:30–07:00)."
    )


def test_always_during_bedtime_asks_first_then_says_what_happens(
    household: Path, db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bedtime = datetime(2026, 3, 8, 21, 0)  # a Sunday evening
    monkeypatch.setattr(requests_cli, "clock", lambda: bedtime)
    before = (household / "emma.yaml").read_text()
    code, out, err = run(capsys, "requests", "approve", "1", "--for", "always",
                         "--policies", str(household))  # fmt: skip
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "vaccine requests: roblox.com would still be blocked during Emma's bedtime (Mon, Tue, "
        "Wed, Thu, Sun 19:30–07:00): say whether always includes that time, with "
        "--during-schedule allow (open then too) or --during-schedule block (blocked then, "
        "open the rest of the time)"
    ]
    assert (household / "emma.yaml").read_text() == before and get_request(
        db, 1
    ).status == "pending"
    code, out, _ = run(capsys, "requests", "approve", "1", "--for", "always",
                       "--during-schedule", "block", "--policies", str(household))  # fmt: skip
    assert code == 0
    assert out.splitlines()[-1] == (
        "It stays blocked during bedtime (Mon, Tue, Wed, Thu, Sun 19:30–07:00). "
        "It opens when bedtime ends, at 07:00."
    )
    code, out, _ = run(capsys, "requests", "approve", "3", "--for", "always",
                       "--during-schedule", "allow", "--policies", str(household))  # fmt: skip
    assert code == 0
    assert out.splitlines()[1:] == [
        f"Added example.org to allow.domains and schedule.bedtime.allow in "
        f"{(household / 'emma.yaml').absolute()}.",
        "It is open during bedtime (Mon, Tue, Wed, Thu, Sun 19:30–07:00) too.",
    ]
    code, _, err = run(capsys, "requests", "approve", "2", "--for", "1h",
                       "--during-schedule", "allow", "--policies", str(household))  # fmt: skip
    assert (code, err) == (1, "vaccine requests: --during-schedule goes with --for always\n")


def test_deny(household: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "requests", "deny", "2", "--policies", str(household))
    assert (code, out) == (0, "Denied #2: leo, discord.com.\n")
    assert get_request(db, 2).status == "denied"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["approve", "9"], "there is no request #9"),
        (["approve", "1", "--for", "soon"], "'soon' is not a duration"),
        (["approve", "one"], "'one' is not a request number"),
        (["deny", "3"], "request #3 was already denied"),
        (["approve", "3", "--for", "always"], "request #3 was already denied"),
    ],
)
def test_bad_input_is_one_clean_line(
    household: Path, db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    answer(db, 3, approve=False, until=None, now=NOW)
    code, out, err = run(capsys, "requests", *argv, "--policies", str(household))
    assert (code, out) == (1, "")
    assert err.startswith("vaccine requests: ") and error in err
    assert len(err.strip().splitlines()) == 1
    assert get_request(db, 1).status == "pending"


def test_without_db_the_policies_must_load(
    household: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (household / "guest.yaml").write_text("name: Guests\nsafe_search: sometimes\n")
    code, _, err = run(capsys, "requests", "list", "--policies", str(household))
    assert code == 1 and "run `vaccine check`" in err
    code, _, err = run(capsys, "requests", "list", "--db", str(tmp_path / "none.db"),
                       "--policies", str(household))  # fmt: skip
    assert code == 1 and "no decision log at" in err
