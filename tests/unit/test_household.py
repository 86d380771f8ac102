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
