"""Lint, format and types are part of the one test command (`pytest`), so CI runs them too."""

from __future__ import annotations

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
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_passes(argv: list[str]) -> None:
    result = subprocess.run(
        [tool(argv[0]), *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_headless_core_never_imports_the_dashboard() -> None:
    code = (
        "import sys, proxy.decision, proxy.policy, proxy.lists, proxy.addon; "
        "sys.exit(any(m == 'textual' or m.startswith(('textual.', 'dashboard')) "
        "for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
