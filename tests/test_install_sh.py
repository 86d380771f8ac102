"""install.sh on a machine whose only Python is too old (Debian 12's 3.11): it gets uv from
the package index into .bootstrap/, lets uv install Python 3.12 and says so. The network steps
are played by small fake programs, so what is tested is install.sh's own decisions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ["bash", "sed", "ls", "sort", "dirname", "rm", "cat", "mkdir", "cp", "touch", "chmod"]
GOOD = sys.executable  # the Python >= 3.12 the fake uv "installs"


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of install.sh and a PATH holding only basic tools and a python3 that is 3.11."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "install.sh", checkout / "install.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    log = tmp_path / "calls.log"
    # `uv`: finds nothing until it has "installed" 3.12, then answers the real good Python.
    uv = script(
        tmp_path / "fake-uv",
        f"""\
        echo "uv $*" >> {log}
        case "$1 $2" in
          "python find") [ -e {tmp_path}/installed ] && echo {GOOD} && exit 0; exit 2 ;;
          "python install") touch {tmp_path}/installed ;;
        esac
        """,
    )
    # python3 3.11: too old for `good_python`, but makes a venv whose pip "installs" uv.
    script(
        bin_dir / "python3",
        f"""\
        echo "python3 $*" >> {log}
        [ "$1" = -c ] && exit 1
        if [ "$1 $2" = "-m venv" ]; then
          mkdir -p "$3/bin"
          printf '#!/bin/bash\\necho "venv-python $*" >> {log}\\ncp {uv} "$(dirname "$0")/uv"\\n' \\
            > "$3/bin/python"
          chmod +x "$3/bin/python"
        fi
        """,
    )
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8"}
    return checkout, env


def run(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "install.sh"), "--find-python"],
        env=env, capture_output=True, text=True, timeout=60, cwd=checkout,
    )  # fmt: skip


def test_without_a_good_python_it_bootstraps_uv_then_python(
    machine: tuple[Path, dict[str, str]],
) -> None:
    checkout, env = machine
    result = run(checkout, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == GOOD
    calls = (checkout.parent / "calls.log").read_text()
    assert f"python3 -m venv {checkout}/.bootstrap" in calls
    assert "venv-python -m pip install --quiet --disable-pip-version-check uv" in calls
    assert "uv python install 3.12" in calls
    assert (
        "installing uv into" in result.stderr and "installing Python 3.12 with uv" in result.stderr
    )
    assert f"installed by uv at {GOOD}" in result.stderr
    # A second run reuses the bootstrap's uv and the Python it installed.
    again = run(checkout, env)
    assert again.returncode == 0 and again.stdout.strip() == GOOD
    assert "installing uv into" not in again.stderr


def test_vaccine_uv_names_the_uv_to_use(machine: tuple[Path, dict[str, str]]) -> None:
    checkout, env = machine
    result = run(checkout, {**env, "VACCINE_UV": str(checkout.parent / "fake-uv")})
    assert result.returncode == 0 and result.stdout.strip() == GOOD
    assert not (checkout / ".bootstrap").exists()


def test_when_uv_cannot_get_python_it_says_so(machine: tuple[Path, dict[str, str]]) -> None:
    checkout, env = machine
    failing = script(checkout.parent / "no-net-uv", "exit 2\n")
    result = run(checkout, {**env, "VACCINE_UV": str(failing)})
    assert result.returncode == 1 and result.stdout == ""
    assert "no Python >= 3.12 found or installed" in result.stderr


def test_a_good_python_on_the_path_is_used_as_it_is(
    machine: tuple[Path, dict[str, str]],
) -> None:
    checkout, env = machine
    os.unlink(Path(env["PATH"]) / "python3")
    (Path(env["PATH"]) / "python3").symlink_to(GOOD)
    result = run(checkout, env)
    assert result.returncode == 0 and result.stdout.strip().endswith("python3")
    assert not (checkout / ".bootstrap").exists()


@pytest.mark.slow
def test_install_sh_service_stages_the_unit(tmp_path: Path) -> None:
    """`install.sh --service` installs (in place, as always) and then the service; with
    VACCINE_SERVICE_ROOT it stages the files there and enables nothing."""
    env = {**os.environ, "VACCINE_SERVICE_ROOT": str(tmp_path)}
    result = subprocess.run(
        ["bash", str(ROOT / "install.sh"), "--service"],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "etc/systemd/system/vaccine.service").read_text()
    assert f"ExecStart={ROOT}/.venv/bin/vaccine run --policies /etc/vaccine/policies" in unit
    assert "nothing was enabled or started" in result.stdout
