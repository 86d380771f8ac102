import json
import stat
from pathlib import Path

from vaccine.proxy import wireguard


def test_missing_key_files_are_created_private(tmp_path: Path) -> None:
    key = tmp_path / "wg" / "emma.json"
    wireguard.prepare(["regular", f"wireguard:{key}@51820"], str(tmp_path))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    keys = json.loads(key.read_text())
    assert set(keys) == {"server_key", "client_key"} and keys["server_key"] != keys["client_key"]


def test_an_existing_key_file_is_left_alone(tmp_path: Path) -> None:
    key = tmp_path / "wireguard.conf"  # the default when the mode names no file
    key.write_text("{}")
    wireguard.prepare(["wireguard@51820"], str(tmp_path))
    assert key.read_text() == "{}"
