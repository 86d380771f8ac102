"""proxy.newdevices: the bounded, private table of addresses no profile recognises."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

from vaccine.proxy.newdevices import SeenTable, forget_address, read_seen

NOW = datetime(2026, 3, 8, 19, 0, 30)


def test_only_the_address_and_the_minute_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "unknown-devices.json"
    table = SeenTable(path)
    table.note("192.168.1.77", NOW)
    table.save()
    assert json.loads(path.read_text()) == [
        {"address": "192.168.1.77", "last_seen": "2026-03-08 19:00"}
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_table_is_bounded_and_keeps_the_latest(tmp_path: Path) -> None:
    table = SeenTable(tmp_path / "seen.json", max_entries=3)
    for i in range(5):
        table.note(f"10.0.0.{i}", NOW + timedelta(minutes=i))
    table.note("10.0.0.2", NOW + timedelta(minutes=9))  # seen again: now the newest
    table.save()
    got = read_seen(tmp_path / "seen.json", now=NOW + timedelta(minutes=10))
    assert [s.address for s in got] == ["10.0.0.2", "10.0.0.4", "10.0.0.3"]


def test_the_same_minute_does_not_make_it_dirty(tmp_path: Path) -> None:
    table = SeenTable(tmp_path / "seen.json")
    table.note("10.0.0.1", NOW)
    table.save()
    table.note("10.0.0.1", NOW + timedelta(seconds=20))
    assert not table.dirty


def test_old_entries_are_left_out_and_a_damaged_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "seen.json"
    table = SeenTable(path)
    table.note("10.0.0.1", NOW - timedelta(days=8))
    table.note("10.0.0.2", NOW)
    table.save()
    assert [s.address for s in read_seen(path, now=NOW)] == ["10.0.0.2"]
    path.write_text('[{"address": "not an address", "last_seen": "x"}, 7')
    assert read_seen(path, now=NOW) == []


def test_an_assigned_address_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "seen.json"
    table = SeenTable(path)
    table.note("10.0.0.1", NOW)
    table.note("10.0.0.2", NOW)
    table.save()
    forget_address(path, "10.0.0.1")
    assert [s.address for s in read_seen(path, now=NOW)] == ["10.0.0.2"]
