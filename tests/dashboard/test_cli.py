"""`vaccine dashboard`: its options, and where it finds the log and the language."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaccine.dashboard.app import DashboardApp
from vaccine.proxy.cli import dashboard as dashboard_cli
from vaccine.proxy.cli.main import main


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[DashboardApp]:
    """Pretend to be in a terminal, and record the app instead of running it."""
    apps: list[DashboardApp] = []
    monkeypatch.setattr(dashboard_cli, "in_terminal", lambda: True)
    monkeypatch.setattr(DashboardApp, "run", lambda self, *a, **k: apps.append(self))
    return apps


def test_the_log_and_language_come_from_settings(ran: list[DashboardApp], policies: Path) -> None:
    settings = policies / "settings.yaml"
    settings.write_text(settings.read_text().replace("language: en", "language: pl"))
    assert main(["dashboard", "--policies", str(policies), "--poll", "5"]) == 0
    (app,) = ran
    assert app.source.db_path == policies.parent / "var" / "vaccine.db"
    assert app.labels.language == "pl" and app.poll_interval == 5


def test_db_flag_and_light_theme(ran: list[DashboardApp], policies: Path, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    assert main(["dashboard", "--policies", str(policies), "--db", str(db), "--light"]) == 0
    assert ran[0].source.db_path == db and ran[0].theme == "textual-light"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--poll", "0.01"], "--poll wants 0 or"),
        (["--policies", "/nonexistent"], "no such policy directory"),
    ],
)
def test_bad_input_is_one_line(
    ran: list[DashboardApp], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not ran


def test_needs_a_terminal(policies: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--policies", str(policies)]) == 1
    assert "needs a terminal" in capsys.readouterr().err


def test_set_password_reads_one_line_and_stores_a_private_hash(
    policies: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import stat

    monkeypatch.setattr("sys.stdin", io.StringIO("sofa-approves-42\n"))
    assert main(["dashboard", "--policies", str(policies), "--set-password"]) == 0
    stored = policies / "dashboard.password"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stored.read_text().startswith("$2") and "sofa" not in stored.read_text()
    assert "password is set" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["dashboard", "--policies", str(policies), "--set-password"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err


def test_web_is_served_in_a_session_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    assert dashboard_cli.in_terminal()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no dashboard password yet (set one with `vaccine dashboard --set-password`)"),
        (["--listen", "nonsense"], "--listen nonsense: not HOST:PORT"),
    ],
)
def test_web_bad_input_is_one_line(
    policies: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", "--policies", str(policies), "--web", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_web_on_a_busy_port_is_one_line(policies: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from vaccine.dashboard.web import set_password

    set_password(policies / "dashboard.password", "sofa-approves-42")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["dashboard", "--policies", str(policies), "--web", "--listen", f"127.0.0.1:{port}"]
        assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"--listen 127.0.0.1:{port}: address already in use" in err.lower()
    assert err.count("\n") == 1
