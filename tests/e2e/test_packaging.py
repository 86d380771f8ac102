"""Packaging that holds outside the checkout: the wheel a packager builds, installed (not
editable) into a fresh virtual environment, runs everything from another directory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from .harness import free_port
from .proc import ProxyProcess

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_folder_is_in_the_wheel() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        "vaccine." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ("proxy", "dashboard")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert found == listed


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv with the wheel installed from the package index's dependencies."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist"), str(ROOT)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch, not ours to leave
    (wheel,) = (tmp / "dist").glob("digital_vaccine-*.whl")
    venv.create(tmp / "venv", with_pip=True)
    bin_dir = tmp / "venv" / "bin"
    pip = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return bin_dir


@pytest.fixture
def household(tmp_path: Path) -> Path:
    """The example household, copied where no source checkout is in sight."""
    home = tmp_path / "home"
    shutil.copytree(ROOT / "policies", home / "policies")
    shutil.copytree(ROOT / "blocklists", home / "blocklists", ignore=shutil.ignore_patterns(".*"))
    return home


def run(bin_dir: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(bin_dir / "vaccine"), *argv], cwd=cwd, env=env, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_the_wheel_carries_the_c_walk(installed: Path, tmp_path: Path) -> None:
    """The list lookup in C (proxy/lists/cwalk.c) is built into the wheel, not only into the
    checkout: without it every new host costs ~2 µs more."""
    code = (
        "import sys; from vaccine.proxy.lists import packed; "
        "sys.exit(0 if packed.cwalk is not None and not packed.PURE else 1)"
    )
    done = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path, check=False)
    assert done.returncode == 0


@pytest.mark.slow
def test_the_installed_names_are_one_namespace(installed: Path, tmp_path: Path) -> None:
    code = (
        "import importlib.util as u, sys; "
        "sys.exit(0 if u.find_spec('vaccine.proxy') and u.find_spec('vaccine.dashboard') "
        "and not u.find_spec('proxy') and not u.find_spec('dashboard') else 1)"
    )
    done = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path, check=False)
    assert done.returncode == 0
    version = run(installed, tmp_path, "--version")
    assert version.stdout.strip() == f"vaccine {PYPROJECT['project']['version']}"


@pytest.mark.slow
def test_check_and_explain_a_self_harm_search(installed: Path, household: Path) -> None:
    check = run(installed, household, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    url = "https://www.google.com/search?q=how+to+kill+myself"
    out = run(installed, household, "explain", url, "--profile", "emma", "--at", "2026-11-23T12:00")
    assert out.returncode == 0, out.stderr
    assert "BLOCK" in out.stdout and "self_harm" in out.stdout, out.stdout


@pytest.mark.slow
def test_run_starts_and_stops(installed: Path, household: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = ProxyProcess(
        [str(installed / "vaccine"), "run", "--listen", f"127.0.0.1:{port}",
         "--confdir", str(tmp_path / "ca"), "--db", str(tmp_path / "v.db")],
        env, household,
    )  # fmt: skip
    try:
        proc.wait_for(r"vaccine: proxy running on")
    finally:
        code = proc.stop(signal.SIGTERM)
    assert code == 0, proc.output()
