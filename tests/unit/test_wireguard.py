import json
import stat
from pathlib import Path

import pytest

from vaccine.proxy import wireguard
from vaccine.proxy.errors import VaccineError


def test_missing_key_files_are_created_private(tmp_path: Path) -> None:
    key = tmp_path / "wg" / "emma.json"
    wireguard.prepare(["regular", f"wireguard:{key}@51820"], str(tmp_path))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    keys = json.loads(key.read_text())
    assert set(keys) == {"server_key", "client_key"} and keys["server_key"] != keys["client_key"]


def test_an_existing_key_file_is_left_alone_but_made_private(tmp_path: Path) -> None:
    key = tmp_path / "wireguard.conf"  # the default when the mode names no file
    wireguard.prepare(["wireguard@51820"], str(tmp_path))
    before = key.read_text()
    key.chmod(0o644)  # as mitmproxy itself would have created it
    wireguard.prepare(["wireguard@51820"], str(tmp_path))
    assert key.read_text() == before
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_an_empty_file_made_beforehand_gets_keys(tmp_path: Path) -> None:
    """The old advice: `touch wg.json; chmod 600 wg.json`, then start: mitmproxy itself fails
    on the empty file with a raw JSON error."""
    key = tmp_path / "wg.json"
    key.touch(mode=0o600)
    wireguard.prepare([f"wireguard:{key}@51820"], str(tmp_path))
    assert set(json.loads(key.read_text())) == {"server_key", "client_key"}
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ("{}", "no server_key"),
        ('{"server_key": "x", "client_key": "y"}', "server_key is not a WireGuard key"),
    ],
)
def test_a_file_that_is_no_key_file_is_one_line_and_kept(
    tmp_path: Path, text: str, why: str
) -> None:
    key = tmp_path / "wg.json"
    key.write_text(text)
    with pytest.raises(VaccineError) as e:
        wireguard.prepare([f"wireguard:{key}@51820"], str(tmp_path))
    assert str(e.value) == (
        f"{key}: not a WireGuard key file ({why}); move it away and the proxy creates a new one "
        "(the device then needs its new configuration)"
    )
    assert key.read_text() == text


class _Server:
    def __init__(self, spec: str) -> None:
        from mitmproxy.proxy import mode_specs

        self.mode = mode_specs.ProxyMode.parse(spec)

    def client_conf(self) -> str:
        return "[Interface]\nPrivateKey = made-by-mitmproxy"


def test_device_confs_made_by_devices_add_are_not_overwritten(tmp_path: Path) -> None:
    mine, other = tmp_path / "emma-phone.json", tmp_path / "house.json"
    mine.with_suffix(".client.conf").write_text("the parent's endpoint\n")
    servers = [_Server(f"wireguard:{mine}@51821"), _Server(f"wireguard:{other}@51822")]
    written = wireguard.write_client_confs(servers, str(tmp_path), frozenset({str(mine)}))
    assert written == [other.with_suffix(".client.conf")]
    assert mine.with_suffix(".client.conf").read_text() == "the parent's endpoint\n"
