"""proxy.service and `vaccine service`: the systemd unit, checked by systemd itself."""

from __future__ import annotations

import configparser
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vaccine.proxy import service
from vaccine.proxy.cli.main import main

VACCINE = Path(sys.executable).parent / "vaccine"


def unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_the_unit_grants_only_what_the_proxy_needs() -> None:
    u = unit(service.unit_text(service.Layout(executable=VACCINE)))
    s = u["Service"]
    assert s["User"] == "vaccine" and s["Group"] == "vaccine"
    assert s["Restart"] == "on-failure"
    assert s["AmbientCapabilities"] == s["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert s["NoNewPrivileges"] == "yes"
    assert s["StateDirectory"] == "vaccine" and s["StateDirectoryMode"] == "0700"
    assert s["StandardError"] == "journal"
    # SIGTERM only to the supervisor, which passes it to each worker once (twice: no grace)
    assert s["KillMode"] == "mixed"
    assert s["ExecStart"].split() == [
        str(VACCINE), "run", "--policies", "/etc/vaccine/policies",
        "--db", "/var/lib/vaccine/vaccine.db", "--confdir", "/var/lib/vaccine/ca",
    ]  # fmt: skip
    assert u["Install"]["WantedBy"] == "multi-user.target"


def test_paths_with_spaces_are_quoted() -> None:
    layout = service.Layout(executable=Path("/opt/digital vaccine/.venv/bin/vaccine"))
    assert "ExecStart='/opt/digital vaccine/.venv/bin/vaccine' run" in service.unit_text(layout)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    code = main(["service", "install", "--root", str(tmp_path), "--executable", str(VACCINE)])
    assert code == 0
    unit_file = tmp_path / "etc/systemd/system/vaccine.service"
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_file)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in result.stderr.splitlines() if "vaccine.service" in line]
    assert result.returncode == 0 and problems == [], result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a unit whose program does not exist is refused."""
    text = service.unit_text(service.Layout(executable=tmp_path / "missing" / "vaccine"))
    (tmp_path / "vaccine.service").write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "vaccine.service")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0


def test_install_under_a_root_stages_everything_and_runs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["service", "install", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    unit_file = tmp_path / "etc/systemd/system/vaccine.service"
    assert stat.S_IMODE(unit_file.stat().st_mode) == 0o644
    settings = tmp_path / "etc/vaccine/policies/settings.yaml"
    data = yaml.safe_load(settings.read_text())
    assert data["database"] == "/var/lib/vaccine/vaccine.db"
    assert data["confdir"] == "/var/lib/vaccine/ca"
    assert "# Where devices that are set up by hand" in settings.read_text()  # comments kept
    assert (tmp_path / "etc/vaccine/policies/emma.yaml").is_file()
    assert (tmp_path / "etc/vaccine/blocklists/sources.yaml").is_file()
    assert "nothing was enabled or started" in out
    # Run again: the parent's edited policies are kept as they are.
    (tmp_path / "etc/vaccine/policies/emma.yaml").write_text("name: Emma\n")
    assert main(["service", "install", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "etc/vaccine/policies/emma.yaml").read_text() == "name: Emma\n"


def test_unit_prints_the_same_unit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "unit", "--executable", str(VACCINE)]) == 0
    assert capsys.readouterr().out == service.unit_text(service.Layout(executable=VACCINE))
