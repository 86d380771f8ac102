"""proxy.devices: a WireGuard peer per device, its configuration and QR code."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import mitmproxy_rs
import pytest

from vaccine.proxy import devices
from vaccine.proxy.errors import VaccineError
from vaccine.proxy.policy.load import load_policies

REPO = Path(__file__).resolve().parents[2]


def test_the_key_file_is_private_and_the_conf_matches_it(tmp_path: Path) -> None:
    key_file = tmp_path / "devices" / "emma-phone.json"
    devices.new_key_file(key_file, "emma-phone")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = json.loads(key_file.read_text())
    conf = devices.client_conf(key_file, "192.168.1.10", 51821)
    assert f"PrivateKey = {keys['client_key']}\n" in conf
    assert f"PublicKey = {mitmproxy_rs.wireguard.pubkey(keys['server_key'])}\n" in conf
    assert "Endpoint = 192.168.1.10:51821\n" in conf
    assert "Endpoint = [fd00::1]:51821\n" in devices.client_conf(key_file, "fd00::1", 51821)
    assert keys["device"] == "emma-phone"
    with pytest.raises(VaccineError, match="exists already"):
        devices.new_key_file(key_file, "emma-phone")  # a device's key is never silently replaced


def test_every_device_gets_its_own_keys(tmp_path: Path) -> None:
    devices.new_key_file(tmp_path / "a.json", "a")
    devices.new_key_file(tmp_path / "b.json", "b")
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert {a["server_key"], a["client_key"]}.isdisjoint({b["server_key"], b["client_key"]})


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")
def test_the_png_reads_back_as_the_configuration(tmp_path: Path) -> None:
    devices.new_key_file(tmp_path / "k.json", "k")
    conf = devices.client_conf(tmp_path / "k.json", "192.168.1.10", 51820)
    devices.write_qr_png(conf, tmp_path / "k.png")
    assert stat.S_IMODE((tmp_path / "k.png").stat().st_mode) == 0o600
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "k.png")],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    assert out.rstrip("\n") == conf.rstrip("\n")


def test_the_terminal_qr_is_blocks_only() -> None:
    text = devices.qr_terminal("[Interface]\nPrivateKey = x\n")
    assert set(text) <= set("█▀▄ \n")
    assert len(text.splitlines()) > 10


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 33, "emma.phone"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(VaccineError, match="device name"):
        devices.check_name(name)


def test_device_rules_open_listeners_once(tmp_path: Path) -> None:
    policies_dir = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies_dir)
    emma = policies_dir / "emma.yaml"
    emma.write_text(
        emma.read_text().replace(
            "  - user: emma-tablet",
            "  - user: emma-tablet\n  - mode: wireguard:/k/emma.json@51820\n  - port: 8082",
        )
    )
    policies = load_policies(policies_dir)
    assert devices.wireguard_modes(policies) == ["wireguard:/k/emma.json@51820"]
    assert devices.with_device_listeners(["regular"], policies) == [
        "regular", "wireguard:/k/emma.json@51820",
    ]  # fmt: skip
    already = ["regular", "WireGuard:/k/emma.json@0.0.0.0:51820"]
    assert devices.with_device_listeners(already, policies) == already
    assert devices.free_port(policies) == 51821


def test_lan_addresses_are_never_loopback() -> None:
    for addr in devices.lan_addresses():
        assert not addr.startswith("127.") and addr != "::1"


def test_only_key_files_made_for_a_device_are_marked(tmp_path: Path) -> None:
    """Their configurations were written by `devices add`; a key file of a device rule the
    parent wrote by hand still gets mitmproxy's configuration at start."""
    policies_dir = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies_dir)
    made, by_hand = tmp_path / "made.json", tmp_path / "hand.json"
    devices.new_key_file(made, "made")
    by_hand.write_text(json.dumps({"server_key": "x", "client_key": "y"}))
    emma = policies_dir / "emma.yaml"
    emma.write_text(
        emma.read_text().replace(
            "  - user: emma-tablet",
            f"  - user: emma-tablet\n  - mode: wireguard:{made}@51830\n"
            f"  - mode: wireguard:{by_hand}@51831\n  - mode: wireguard:{tmp_path}/gone.json@51832",
        )
    )
    assert devices.device_key_files(load_policies(policies_dir)) == frozenset({str(made)})
