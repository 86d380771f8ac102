"""vaccine.proxy.household: an edit made while the household loads is never missed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vaccine.proxy import household as hh

ROOT = Path(__file__).resolve().parents[2]


def test_an_edit_during_the_load_shows_at_the_next_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(
        ROOT / "blocklists", tmp_path / "blocklists", ignore=shutil.ignore_patterns(".*")
    )
    policies, lists = tmp_path / "policies", tmp_path / "blocklists"
    real = hh.load_policies

    def load_then_edit(directory: Path):  # type: ignore[no-untyped-def]
        loaded = real(directory)
        (directory / "emma.yaml").write_text((directory / "emma.yaml").read_text() + "\n# edit\n")
        return loaded

    monkeypatch.setattr(hh, "load_policies", load_then_edit)
    loaded = hh.load_household(policies, lists)
    now = hh.inputs_fingerprint(policies, lists, loaded.policies.settings.proxy_auth)
    assert loaded.fingerprint != now
    monkeypatch.setattr(hh, "load_policies", real)
    assert hh.load_household(policies, lists).fingerprint == now  # and nothing else differs


def household_with_hashed(tmp_path: Path) -> tuple[Path, Path]:
    from vaccine.proxy.lists.hashed import hash_lines

    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    shutil.copytree(
        ROOT / "blocklists", tmp_path / "blocklists", ignore=shutil.ignore_patterns(".*")
    )
    lists = tmp_path / "blocklists"
    (lists / "hashed").mkdir()
    (lists / "hashed" / "h.sha256").write_text("\n".join(hash_lines(["abuse.example"]).lines))
    return tmp_path / "policies", lists


def test_a_hashed_match_comes_before_every_rule_and_names_nothing(tmp_path: Path) -> None:
    from datetime import datetime

    from vaccine.proxy.decision import Facts, Usage
    from vaccine.proxy.store.records import record_for

    policies, lists = household_with_hashed(tmp_path)
    loaded = hh.load_household(policies, lists)
    emma = loaded.policies.profile("emma")
    now = datetime(2026, 12, 1, 12, 0)
    approved = Usage(approvals={"abuse.example": None})  # a parent's approval, "always"
    for stage, treatment in (("connect", "tunnel"), ("handshake", "intercept")):
        d = loaded.decide(Facts(("www.abuse.example",), stage=stage), emma, now, approved)  # type: ignore[arg-type]
        assert (d.rule, d.treatment, d.host) == ("known_abuse", treatment, "")
    d = loaded.decide(Facts(("abuse.example",), path="/x?y=1"), emma, now, approved)
    assert (d.action, d.rule, d.treatment, d.page, d.categories) == (
        "block",
        "known_abuse",
        "page",
        "block",
        frozenset(),
    )
    record = record_for(emma, d, "blocked", now)
    assert record is not None and (record.site, record.category, record.rule) == (
        "",
        "",
        "known_abuse",
    )


def test_a_hashed_list_that_breaks_or_vanishes_keeps_the_last_good_lists(tmp_path: Path) -> None:
    from vaccine.proxy.errors import ProblemsError

    policies, lists = household_with_hashed(tmp_path)
    good = hh.load_household(policies, lists)
    (lists / "hashed" / "h.sha256").write_text("<html>captive portal</html>\n")
    with pytest.raises(ProblemsError, match="damaged or not a hashed list"):
        hh.load_household(policies, lists)
    (lists / "hashed" / "h.sha256").unlink()
    assert [p.message for p in hh.vanished_lists(good, hh.load_household(policies, lists))] == [
        "missing (deleted or moved); the last good lists stay in force"
    ]


def test_a_remembered_decision_never_hides_a_hashed_path(tmp_path: Path) -> None:
    from datetime import datetime

    from vaccine.proxy.decision import Facts
    from vaccine.proxy.lists.hashed import hash_lines

    policies, lists = household_with_hashed(tmp_path)
    (lists / "hashed" / "h.sha256").write_text(
        "\n".join(hash_lines(["images.example/gallery/12"]).lines)
    )
    loaded = hh.load_household(policies, lists)
    emma = loaded.policies.profile("emma")
    now = datetime(2026, 12, 1, 12, 0)
    first = loaded.decide(Facts(("images.example",), path="/ok.jpg"), emma, now)
    again = loaded.decide(Facts(("images.example",), path="/gallery/12/a.jpg"), emma, now)
    assert (first.action, again.action, again.rule) == ("allow", "block", "known_abuse")
    shake = loaded.decide(Facts(("images.example",), stage="handshake"), emma, now)
    assert shake.treatment == "intercept"  # decrypted, so its paths can be checked
