"""Lint, format and types are part of the one test command (`pytest`), so CI runs them too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed (./install.sh --dev installs it)")
        return found
    return str(path)


@pytest.mark.parametrize(
    "argv",
    [
        ["ruff", "check", "proxy", "dashboard", "tests", "bench"],
        ["ruff", "format", "--check", "proxy", "dashboard", "tests", "bench"],
        ["mypy", "-p", "vaccine.proxy", "-p", "vaccine.dashboard"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_passes(argv: list[str], tmp_path: Path) -> None:
    env = dict(os.environ)
    if argv[0] == "mypy":  # the folders under their installed names (see pyproject.toml)
        (tmp_path / "vaccine").mkdir()
        for folder in ("proxy", "dashboard"):
            (tmp_path / "vaccine" / folder).symlink_to(ROOT / folder)
        env["MYPYPATH"] = str(tmp_path)
        argv = [*argv, "--cache-dir", str(tmp_path / "cache")]
    result = subprocess.run(
        [tool(argv[0]), *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
