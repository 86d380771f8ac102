"""`vaccine explain` over the shipped example household (policies/ and blocklists/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaccine.proxy.cli.main import main

ROOT = Path(__file__).resolve().parents[3]


def explain(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    # --db: a log that does not exist, so no approvals from a developer's own var/vaccine.db
    code = main(["explain", "--policies", str(ROOT / "policies"), "--db", "/nonexistent/v.db",
                 "--lists", str(ROOT / "blocklists"), "--json", *argv])  # fmt: skip
    assert code == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("url", "profile", "at", "action", "rule"),
    [
        ("https://www.khanacademy.org/", "emma", "2026-11-23T12:00", "allow", "allow.domains"),
        ("https://www.tiktok.com/@x", "emma", "2026-11-23T12:00", "block", "block.domains"),
        ("https://dns.google/dns-query", "leo", "2026-11-23T12:00", "block", "block.categories"),
        ("http://10.0.0.1/", "guest", "2026-11-23T12:00", "block", "ip_literal"),
        # Sunday 21:00 is in Emma's school-night bedtime; Friday 21:00 is not
        ("https://example.com/", "emma", "2026-11-22T21:00", "block", "schedule"),
        ("https://example.com/", "emma", "2026-11-27T21:00", "allow", "default"),
        ("https://khanacademy.org/", "emma", "2026-11-22T21:00", "allow", "allow.domains"),
        ("https://www.google.com/search?q=cats", "emma", "2026-11-23T12:00", "allow",
         "safe_search"),
    ],
)  # fmt: skip
def test_explain(
    capsys: pytest.CaptureFixture[str], url: str, profile: str, at: str, action: str, rule: str
) -> None:
    out = explain(capsys, url, "--profile", profile, "--at", at)
    assert (out["action"], out["rule"]) == (action, rule)


def test_unknown_profile_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["explain", "--policies", str(ROOT / "policies"), "x.com", "--profile", "nobody"]) == 1
    )
    err = capsys.readouterr().err
    assert "no profile 'nobody'" in err and "emma" in err
