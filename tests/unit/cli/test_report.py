from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlite_utils import Database

from vaccine.proxy.cli.main import main
from vaccine.proxy.store import LogWriter, Record
from vaccine.proxy.store.schema import connect, migration_names, migrations


def seed(path: Path) -> None:
    with LogWriter(path, flush_interval=3600) as w:
        for minute in ("20:00", "20:01", "20:02"):
            for _ in range(2):
                w.submit(Record(f"2026-03-07 {minute}", "emma", "youtube.com", "social_networks",
                                "allowed", "default", ("video",)))  # fmt: skip
        w.submit(Record("2026-03-08 10:00", "emma", "google.com", "search", "rewritten", "default"))
        for _ in range(2):
            w.submit(Record("2026-03-08 10:00", "emma", "bet365.com", "gambling", "blocked",
                            "block.categories"))  # fmt: skip
        w.submit(Record("2026-03-08 10:01", "emma", "roblox.com", "games", "passed-through",
                        "default"))  # fmt: skip
        w.submit(Record("2026-03-08 10:01", "emma", "tiktok.com", "", "blocked", "block.domains"))
        w.submit(Record("2026-03-08 11:00", "leo", "", "video", "allowed", "default"))
        w.submit(Record("2026-02-01 11:00", "leo", "", "video", "allowed", "default"))  # too old
    with Database(path) as db:
        db.conn.execute(
            "INSERT INTO access_requests (profile, domain, category, message, created) "
            "VALUES ('emma', 'tiktok.com', 'social_networks', ?, '2026-03-08T19:02:11')",
            ["\x1b[31mplease\x07 it's for school"],
        )
        db.conn.commit()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    seed(path)
    return path


def report(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def base_args(log: Path, tmp_path: Path) -> list[str]:
    return ["--db", str(log), "--policies", str(tmp_path / "no-policies"), "--until", "2026-03-08"]


TEXT = """\
Activity from Mon 02 Mar 2026 to Sun 08 Mar 2026 (7 days)

emma
  Time online: 5 min
    social_networks                  3 min
    video                            3 min
    games                            1 min
    search                           1 min
  By day:
    Mon 02 Mar                       0 min
    Tue 03 Mar                       0 min
    Wed 04 Mar                       0 min
    Thu 05 Mar                       0 min
    Fri 06 Mar                       0 min
    Sat 07 Mar                       3 min
    Sun 08 Mar                       2 min
  Top sites:                          time    requests  category
    youtube.com                      3 min           6  social_networks
    google.com                       1 min           1  search
    roblox.com                       1 min           1  games
  Blocked attempts: 3
    gambling                             2
    (uncategorised)                      1
    sites: bet365.com (2), tiktok.com (1)
  Searches made safe: 1
  Waiting for an answer: 1
    #1 2026-03-08 19:02  tiktok.com (social_networks)  " [31mplease  it's for school"

leo
  Time online: 1 min
    video                            1 min
  By day:
    Mon 02 Mar                       0 min
    Tue 03 Mar                       0 min
    Wed 04 Mar                       0 min
    Thu 05 Mar                       0 min
    Fri 06 Mar                       0 min
    Sat 07 Mar                       0 min
    Sun 08 Mar                       1 min
  Blocked attempts: 0
  Searches made safe: 0
  Waiting for an answer: none
"""


def test_text_report_of_a_seeded_log(log: Path, tmp_path: Path, capsys) -> None:
    code, out, err = report(capsys, *base_args(log, tmp_path))
    assert (code, err) == (0, "")
    assert out == TEXT
    assert "\x1b" not in out and "\x07" not in out  # a child's message cannot drive the terminal


def test_json_report_is_the_documented_shape(log: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = report(capsys, *base_args(log, tmp_path), "--json", "--days", "2")
    assert code == 0
    doc = json.loads(out)
    assert list(doc) == ["format", "version", "from", "to", "days", "dropped_records", "profiles"]
    assert (doc["format"], doc["version"], doc["from"], doc["to"], doc["days"]) == (
        "vaccine-report", 1, "2026-03-07", "2026-03-08", 2,
    )  # fmt: skip
    emma = doc["profiles"][0]
    assert list(emma) == [
        "id", "name", "alerts", "sites_visible", "minutes_online", "minutes_by_day",
        "minutes_by_category", "top_sites", "blocked", "rewritten_searches", "pending_requests",
        "limits",
    ]  # fmt: skip
    assert emma["alerts"] == []
    assert emma["minutes_by_day"] == [
        {"day": "2026-03-07", "minutes": 3},
        {"day": "2026-03-08", "minutes": 2},
    ]
    assert emma["top_sites"][0] == {
        "site": "youtube.com", "category": "social_networks", "minutes": 3, "requests": 6,
    }  # fmt: skip
    assert emma["blocked"] == {
        "total": 3,
        "by_category": [{"category": "gambling", "count": 2}, {"category": None, "count": 1}],
        "top_sites": [{"site": "bet365.com", "count": 2}, {"site": "tiktok.com", "count": 1}],
    }
    assert emma["rewritten_searches"] == {
        "total": 1, "by_site": [{"site": "google.com", "count": 1}],
    }  # fmt: skip
    assert emma["pending_requests"] == [
        {
            "id": 1,
            "domain": "tiktok.com",
            "category": "social_networks",
            "message": "\x1b[31mplease\x07 it's for school",  # JSON escapes it; kept as sent
            "created": "2026-03-08T19:02:11",
        }
    ]
    assert "\\u001b" in out


def test_policies_give_the_database_names_and_hide_sites(log: Path, tmp_path: Path, capsys) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "settings.yaml").write_text(f"database: {log.name}\nunknown_devices: emma\n")
    (policies / "emma.yaml").write_text("name: Emma\n")
    (policies / "leo.yaml").write_text("name: Leo\nparents_see: categories\n")
    (policies / "zoe.yaml").write_text("name: Zoe\n")
    args = ["--policies", str(policies), "--until", "2026-03-08", "--days", "1"]
    code, out, _ = report(capsys, *args)
    assert code == 0
    assert "emma (Emma)\n" in out and "leo (Leo)\n" in out and "zoe (Zoe)\n" in out
    leo = out[out.index("leo (Leo)") : out.index("zoe (Zoe)")]
    assert "Sites: not shown (this profile's parents see categories only)" in leo

    code, out, _ = report(capsys, *args, "--profile", "zoe", "--json")
    zoe = json.loads(out)["profiles"]
    assert [(p["id"], p["name"], p["minutes_online"]) for p in zoe] == [("zoe", "Zoe", 0)]


def test_broken_policies_with_db_still_report_by_id(log: Path, tmp_path: Path, capsys) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "settings.yaml").write_text("retention_days: [not a number\n")
    code, out, err = report(capsys, *base_args(log, tmp_path), "--policies", str(policies))
    assert code == 0 and out.count("\nemma\n") == 1
    assert err == (
        f"vaccine report: the policies in {policies} have problems; "
        "profiles are shown by id only (run `vaccine check`)\n"
    )
    code, out, err = report(capsys, "--policies", str(policies))
    assert code == 1 and out == ""
    assert err.startswith(f"vaccine report: no --db given and the policies in {policies} have")


def test_one_profile(log: Path, tmp_path: Path, capsys) -> None:
    code, out, _ = report(capsys, *base_args(log, tmp_path), "--profile", "leo", "--json")
    assert code == 0
    assert [p["id"] for p in json.loads(out)["profiles"]] == ["leo"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--profile", "max"], "no profile 'max' (profiles: emma, leo)"),
        (["--days", "0"], "--days wants a number of days from 1 to 3660, not 0"),
        (["--until", "yesterday"], "--until wants a day like 2026-03-08, not 'yesterday'"),
        (["--top", "0"], "--top wants a positive number, not 0"),
    ],
)
def test_bad_input_is_one_line(log: Path, tmp_path: Path, capsys, extra, message) -> None:
    code, out, err = report(capsys, *base_args(log, tmp_path), *extra)
    assert (code, out, err) == (1, "", f"vaccine report: {message}\n")


def test_a_missing_corrupt_or_old_log_is_one_line(tmp_path: Path, capsys) -> None:
    nowhere = str(tmp_path / "no-policies")
    nothing = tmp_path / "nothing.db"
    code, _, err = report(capsys, "--db", str(nothing), "--policies", nowhere)
    assert code == 1 and err.startswith(f"vaccine report: no decision log at {nothing}")

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\xff" * 4096)
    code, _, err = report(capsys, "--db", str(garbage), "--policies", nowhere)
    assert code == 1 and "is not a decision log" in err and err.count("\n") == 1

    old = tmp_path / "old.db"
    with Database(old) as db:
        migrations.apply(db, stop_before=migration_names()[-1])
    code, _, err = report(capsys, "--db", str(old), "--policies", nowhere)
    assert code == 1 and "start `vaccine run` once to upgrade it" in err


def test_reports_while_the_proxy_writes(log: Path, tmp_path: Path, capsys) -> None:
    writer = connect(log)  # the proxy's connection, mid-transaction
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE meta SET value = '5' WHERE key = 'dropped_records'")
        code, out, _ = report(capsys, *base_args(log, tmp_path))
        assert code == 0 and "could not be recorded" not in out  # sees the last commit only
        writer.execute("COMMIT")
        code, out, _ = report(capsys, *base_args(log, tmp_path))
        assert "Note: 5 decisions could not be recorded" in out
    finally:
        writer.close()


def test_known_abuse_is_a_high_severity_alert_and_nothing_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vaccine.proxy.store import LogWriter, Record

    db = tmp_path / "v.db"
    with LogWriter(db) as w:
        for minute in ("10:00", "10:01", "10:01"):
            w.submit(Record(f"2026-03-08 {minute}", "emma", "", "", "blocked", "known_abuse"))
    base = ["report", "--db", str(db), "--policies", str(tmp_path / "none"), "--until",
            "2026-03-08"]  # fmt: skip
    assert main([*base, "--json"]) == 0
    emma = json.loads(capsys.readouterr().out)["profiles"][0]
    assert emma["alerts"] == [{"kind": "known_abuse", "severity": "high", "count": 3}]
    assert main(base) == 0
    text = capsys.readouterr().out
    assert "ALERT (high severity): 3 attempts to reach known child-abuse material" in text
