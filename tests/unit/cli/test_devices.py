"""`vaccine devices add / list / assign`, through the real entry point."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from vaccine.proxy.cli.main import main
from vaccine.proxy.newdevices import SeenTable

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def household(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    return policies


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_wireguard_makes_a_peer_a_qr_and_a_device_rule(
    household: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (household / "emma.yaml").read_text()
    code, out, err = run(
        capsys, "devices", "add", "emma-phone", "--profile", "emma", "--wireguard",
        "--endpoint", "192.168.1.10", "--policies", str(household),
    )  # fmt: skip
    assert (code, err) == (0, "")
    folder = household.parent / "var" / "devices"
    key, conf, png = (folder / f"emma-phone{s}" for s in (".json", ".client.conf", ".png"))
    for f in (key, conf, png):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert "█" in out and "Endpoint = 192.168.1.10:51820" in conf.read_text()
    spec = f"wireguard:{key}@51820"
    after = (household / "emma.yaml").read_text()
    assert after.replace(f"\n  - mode: {spec}   # emma-phone (WireGuard)", "", 1) == before
    # a second device gets its own port and keys
    code, _, _ = run(
        capsys, "devices", "add", "emma-laptop", "--profile", "emma", "--wireguard",
        "--endpoint", "192.168.1.10", "--policies", str(household),
    )  # fmt: skip
    assert code == 0
    assert "Endpoint = 192.168.1.10:51821" in (folder / "emma-laptop.client.conf").read_text()
    code, out, err = run(capsys, "check", "--policies", str(household))
    assert "not in settings.yaml modes" not in out + err  # no warning about the new rules
    if shutil.which("zbarimg"):
        read = subprocess.run(
            ["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, timeout=30
        ).stdout
        assert read.rstrip("\n") == conf.read_text().rstrip("\n")


def test_add_twice_with_one_name_is_refused(
    household: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("devices", "add", "tab", "--profile", "leo", "--wireguard", "--endpoint", "h")
    assert run(capsys, *argv, "--policies", str(household))[0] == 0
    code, _, err = run(capsys, *argv, "--policies", str(household))
    assert code == 1 and "exists already" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "x", "--profile", "nobody", "--address", "10.1.1.1"], "no profile 'nobody'"),
        (["add", "x", "--profile", "leo", "--address", "10.1.1"], "not an address"),
        (["add", "a b", "--profile", "leo", "--address", "10.1.1.1"], "device name"),
        (["assign", "192.168.1.23", "--profile", "leo"], "also a device of 'emma'"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    household: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = {p.name: p.read_bytes() for p in household.iterdir()}
    code, out, err = run(capsys, "devices", *argv, "--policies", str(household))
    assert code == 1 and message in err
    assert err.startswith("vaccine devices: ")
    assert {p.name: p.read_bytes() for p in household.iterdir()} == before


def test_list_shows_new_devices_and_assign_gives_one_away(
    household: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = SeenTable(household.parent / "var" / "unknown-devices.json")
    seen.note("192.168.1.77", datetime.now())
    seen.save()
    code, out, _ = run(capsys, "devices", "list", "--policies", str(household))
    assert code == 0
    assert "  address 192.168.1.23" in out
    assert "192.168.1.77" in out.split("New devices")[1]
    code, out, err = run(
        capsys, "devices", "assign", "192.168.1.77", "--profile", "leo", "--name", "console",
        "--policies", str(household),
    )  # fmt: skip
    assert (code, err) == (0, "")
    leo = yaml.safe_load((household / "leo.yaml").read_text())
    assert {"address": "192.168.1.77"} in leo["devices"]
    assert "# console" in (household / "leo.yaml").read_text()
    code, out, _ = run(capsys, "devices", "list", "--json", "--policies", str(household))
    assert '"new_devices": []' in out
    assert "address 192.168.1.77" in out
