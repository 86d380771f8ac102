"""`vaccine service install [--root DIR]` / `vaccine service unit`: the systemd service.

`install` writes the unit (proxy.service), copies this checkout's example policies and
hand-written lists to /etc/vaccine when there are none yet, and, on the real system as root,
creates the `vaccine` system user, reloads systemd and enables the service (started at boot;
`--now` starts it too). With `--root DIR` everything is written under DIR and nothing is run:
for packagers and tests. `unit` only prints the unit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from vaccine.proxy.errors import VaccineError


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = sub.add_parser(
        "install",
        help="install the systemd service (starts at boot, restarts on failure)",
        description="install the systemd service (starts at boot, restarts on failure)",
    )
    install.add_argument(
        "--root", metavar="DIR", type=Path, default=Path("/"),
        help="write under DIR instead of / and run nothing (packaging, tests)",
    )  # fmt: skip
    install.add_argument("--now", action="store_true", help="also start it now")
    unit = sub.add_parser("unit", help="print the unit file", description="print the unit file")
    for p in (install, unit):
        p.add_argument(
            "--executable", metavar="FILE", type=Path,
            help="the vaccine command the service runs (default: this one)",
        )  # fmt: skip


def _executable(args: argparse.Namespace) -> Path:
    if args.executable:
        return Path(args.executable).absolute()
    found = Path(sys.argv[0]).absolute() if Path(sys.argv[0]).name == "vaccine" else None
    if found is None or not found.is_file():
        which = shutil.which("vaccine")
        found = Path(which).absolute() if which else Path(sys.executable).parent / "vaccine"
    return found


def main(args: argparse.Namespace) -> int:
    from vaccine.proxy import service

    layout = service.Layout(executable=_executable(args))
    text = service.unit_text(layout)
    if args.action == "unit":
        print(text, end="")
        return 0
    root: Path = args.root
    real = root.resolve() == Path("/")
    if real and os.geteuid() != 0:
        raise VaccineError("installing the service needs root (sudo), or --root DIR to stage it")
    unit_file = service.under(root, service.UNIT_DIR / service.UNIT_NAME)
    unit_file.parent.mkdir(parents=True, exist_ok=True)
    unit_file.write_text(text)
    unit_file.chmod(0o644)
    print(f"wrote {unit_file}")
    checkout = Path(__file__).resolve().parents[2]
    etc = service.under(root, service.ETC)
    for name in ("policies", "blocklists"):
        source, target = checkout / name, etc / name
        if target.exists() or not source.is_dir():
            print(f"kept {target}" if target.exists() else f"no {source} to copy")
            continue
        ignore = shutil.ignore_patterns(".index", "*.tmp") if name == "blocklists" else None
        shutil.copytree(source, target, ignore=ignore)
        print(f"copied {source} to {target}")
        if name == "policies":
            _point_settings_at_state(target / "settings.yaml", layout)
    if not real:
        print("staged only (--root): nothing was enabled or started")
        return 0
    _system_setup(layout, args.now)
    return 0


def _point_settings_at_state(settings: Path, layout: object) -> None:
    """The copied settings name the service's log and CA, so every command run with the
    system's policies (`vaccine report`, `devices`, `dashboard`) finds the same files."""
    import re

    from vaccine.proxy.service import Layout

    assert isinstance(layout, Layout)
    text = settings.read_text(encoding="utf-8") if settings.exists() else ""
    for key, value in (("database", layout.db), ("confdir", layout.confdir)):
        line = f"{key}: {value}   # the service's state (vaccine service install)"
        text, n = re.subn(rf"(?m)^{key}:.*$", line, text)
        if not n:
            text += ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    settings.write_text(text, encoding="utf-8")
    print(f"{settings}: database and confdir point at {layout.state}")


def _system_setup(layout: object, now: bool) -> None:
    from vaccine.proxy import service

    def run(*argv: str) -> None:
        print("+ " + " ".join(argv))
        result = subprocess.run(argv, check=False)
        if result.returncode:
            raise VaccineError(f"`{' '.join(argv)}` failed (exit {result.returncode})")

    if subprocess.run(["id", "-u", service.SERVICE_USER], capture_output=True).returncode:
        run("useradd", "--system", "--home-dir", str(service.STATE), "--no-create-home",
            "--shell", "/usr/sbin/nologin", service.SERVICE_USER)  # fmt: skip
    run("systemctl", "daemon-reload")
    run("systemctl", "enable", *(["--now"] if now else []), service.UNIT_NAME)
    print(f"The service starts at boot. Its log: journalctl -u {service.UNIT_NAME}")
