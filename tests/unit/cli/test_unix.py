"""The `vaccine` command as a Unix tool: a reader that leaves, a busy port, a policy folder
that cannot be found, a mistyped profile, counts in words — each ends in one clear line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vaccine.proxy import paths
from vaccine.proxy.cli.main import EXIT_BROKEN_PIPE, main
from vaccine.proxy.store.requests import add_request
from vaccine.proxy.store.schema import connect

REPO = Path(__file__).resolve().parents[3]
VACCINE = [sys.executable, "-m", "vaccine.proxy"]


@pytest.fixture
def household(tmp_path: Path) -> Path:
    """The shipped household with a log holding a request; commands find the log by settings."""
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    (tmp_path / "blocklists").symlink_to(REPO / "blocklists")
    db = tmp_path / "var" / "vaccine.db"
    connect(db).close()
    from datetime import datetime

    add_request(db, "emma", "roblox.com", "games", "", datetime(2026, 3, 8, 19, 0))
    return policies


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCINE_")}
    return {**env, "VACCINE_CONFDIR": str(tmp_path / "confdir")}


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--json"],
        ["report"],
        ["requests", "list", "--json"],
        ["requests", "list"],
        ["explain", "https://www.tiktok.com/", "--profile", "emma"],
    ],
    ids=" ".join,
)
def test_a_reader_that_leaves_ends_the_command_quietly(
    household: Path, tmp_path: Path, argv: list[str]
) -> None:
    """`vaccine report --json | head -1`: the pipe is closed before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes its first byte
    try:
        done = subprocess.run(
            [*VACCINE, *argv, "--policies", str(household)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=_env(tmp_path),
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == EXIT_BROKEN_PIPE


def test_the_same_commands_write_everything_to_a_reader_that_stays(
    household: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*VACCINE, "requests", "list", "--policies", str(household)],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=120,
        check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert "roblox.com" in done.stdout


def test_a_busy_port_is_one_line_naming_listen(household: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*VACCINE, "run", "--policies", str(household), "--listen", f"127.0.0.1:{port}",
             "--db", str(tmp_path / "run.db")],
            capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=120,
            check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"vaccine run: cannot listen on 127.0.0.1:{port}: the address is already in use "
        "(another proxy running?); choose another with --listen HOST:PORT"
    ]
    assert "--mode" not in done.stderr and "Errno" not in done.stderr


def test_a_missing_policy_folder_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VACCINE_POLICIES", raising=False)
    monkeypatch.setattr(paths, "SYSTEM_POLICIES", tmp_path / "etc" / "policies")
    monkeypatch.setattr(paths, "install_checkout", lambda: None)  # a system-wide install
    for argv in (["report"], ["requests", "list"], ["explain", "a.test", "--profile", "x"],
                 ["run"], ["check"]):  # fmt: skip
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.splitlines() == [
            f"vaccine {argv[0]}: no policy folder found (looked in ./policies, "
            f"{tmp_path}/etc/policies); give --policies DIR or set VACCINE_POLICIES"
        ]
    assert main(["report", "--policies", "nowhere"]) == 1
    assert (
        capsys.readouterr().err == "vaccine report: --policies nowhere: no such policy directory\n"
    )


def test_an_installed_service_finds_its_checkout_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "opt" / "vaccine"
    (checkout / "policies").mkdir(parents=True)
    monkeypatch.setattr(paths, "install_checkout", lambda: checkout)
    monkeypatch.delenv("VACCINE_POLICIES", raising=False)
    monkeypatch.chdir(tmp_path)  # a service starts in / or wherever: no ./policies here
    assert paths.find_policies_dir(None) == checkout / "policies"
    (tmp_path / "policies").mkdir()  # ./policies comes first
    assert paths.find_policies_dir(None) == Path("policies")
    monkeypatch.setenv("VACCINE_POLICIES", str(checkout / "policies"))  # and the variable wins
    assert paths.find_policies_dir(None) == checkout / "policies"
    monkeypatch.setenv("VACCINE_POLICIES", str(tmp_path / "gone"))
    with pytest.raises(paths.VaccineError, match="VACCINE_POLICIES=.*gone: no such folder"):
        paths.find_policies_dir(None)


def test_the_checkout_of_this_environment_is_found() -> None:
    # The tests run in the checkout's .venv, as install.sh makes it.
    assert paths.install_checkout() == REPO


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--profile", "emam"],
        ["requests", "list", "--profile", "emam"],
        ["explain", "a.test", "--profile", "emam"],
    ],
    ids=lambda a: a[0],
)
def test_a_mistyped_profile_gets_a_suggestion(
    household: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--policies", str(household)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "no profile 'emam'; did you mean 'emma'?" in line
    assert "defaults" not in line  # the base is no child to choose


def test_the_base_profile_is_not_listed_as_a_child(
    household: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--policies", str(household)]) == 0
    out = capsys.readouterr().out
    titles = [line for line in out.splitlines() if line and not line.startswith((" ", "Act"))]
    assert titles == ["emma (Emma)", "guest (Guests)", "leo (Leo)"]
    # asked for by name, it is still reported
    assert main(["report", "--policies", str(household), "--profile", "defaults"]) == 0
    assert "defaults (Defaults)" in capsys.readouterr().out
