"""The architecture, enforced: the proxy process never imports the dashboard or Textual, no
module takes another's private names, and nothing is re-exported under an old name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The one module of the proxy package allowed to start the dashboard (`vaccine dashboard`).
DASHBOARD_COMMAND = ROOT / "proxy" / "cli" / "dashboard.py"


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = ["vaccine", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in the file, at any depth (lazy ones too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            out.append((node.lineno, node.module or "", [a.name for a in node.names]))
    return out


@pytest.mark.parametrize("path", sources("proxy"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_proxy_never_imports_the_dashboard(path: Path) -> None:
    if path == DASHBOARD_COMMAND:
        return
    for line, module, _ in imported_modules(path):
        top = module.split(".")
        assert top[0] != "textual", f"{path}:{line}: imports {module}"
        assert top[:2] != ["vaccine", "dashboard"], f"{path}:{line}: imports {module}"


def test_the_proxy_process_loads_no_textual(tmp_path: Path) -> None:
    """Everything `vaccine run` loads (every addon, the reloader, the store), imported for
    real in a fresh interpreter outside the checkout, leaves Textual out of sys.modules."""
    modules = [
        module_name(p)
        for p in sources("proxy")
        if p != DASHBOARD_COMMAND and p.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from vaccine.proxy.addons import default_addons\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual' "
        "or m.startswith('vaccine.dashboard'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "path", sources("proxy") + sources("dashboard"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_private_names_across_modules_and_no_reexports(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("vaccine"):
            continue
        for a in node.names:
            assert not a.name.startswith("_"), f"{path}:{node.lineno}: imports private {a.name}"
            assert a.asname != a.name, f"{path}:{node.lineno}: re-exports {a.name}"
