"""vaccine.proxy.util.files: atomic writes and input fingerprints."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vaccine.proxy.util.files import fingerprint, write_atomically


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_never_world_readable_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "secret", b"x")
        write_atomically(tmp_path / "shared", b"x", mode=0o640)
    finally:
        os.umask(old)
    assert mode(tmp_path / "secret") == 0o600
    assert mode(tmp_path / "shared") == 0o640


def test_an_existing_file_keeps_its_mode_and_nothing_is_left_behind(tmp_path: Path) -> None:
    target = tmp_path / "emma.yaml"
    target.write_text("old")
    target.chmod(0o644)
    write_atomically(target, b"new")
    assert target.read_text() == "new" and mode(target) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emma.yaml"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "emma.yaml"
    target.write_text("old")

    def broken(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emma.yaml"]


def test_fingerprint_sees_a_change_and_a_missing_file(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_text("1")
    before = fingerprint([a, tmp_path / "missing"])
    assert before[1] == (str(tmp_path / "missing"), -1, -1)
    a.write_text("22")
    assert fingerprint([a, tmp_path / "missing"]) != before


def test_the_decision_log_and_its_wal_and_shm_are_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    from vaccine.proxy.store.schema import connect

    old = os.umask(0o022)
    try:
        db = connect(tmp_path / "var" / "vaccine.db")
        db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        files = sorted((tmp_path / "var").iterdir())
        assert {f.name for f in files} >= {"vaccine.db", "vaccine.db-wal", "vaccine.db-shm"}
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        db.conn.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_log_loses_world_access(tmp_path: Path) -> None:
    from vaccine.proxy.util.files import private_file

    f = tmp_path / "vaccine.db"
    f.write_bytes(b"")
    f.chmod(0o644)
    assert private_file(f) and mode(f) == 0o640  # the group a parent chose stays
    assert not private_file(f)
