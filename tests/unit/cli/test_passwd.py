from __future__ import annotations

import io
import stat
import sys
import types
from pathlib import Path

import pytest

from vaccine.proxy.cli.main import main
from vaccine.proxy.errors import Problem, ProblemsError
from vaccine.proxy.policy import htpasswd
from vaccine.proxy.policy.htpasswd import Htpasswd
from vaccine.proxy.policy.model import Device, PolicySet, Profile, Settings


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(htpasswd, "DEFAULT_ROUNDS", 4)


class FakeStdin(io.StringIO):
    def __init__(self, text: str, tty: bool = False):
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
def stdin(monkeypatch: pytest.MonkeyPatch):
    def feed(text: str, tty: bool = False) -> None:
        monkeypatch.setattr(sys, "stdin", FakeStdin(text, tty))

    return feed


@pytest.fixture
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Stands in for proxy.policy.load_policies, so these tests do not depend on the loader."""
    directory = tmp_path / "policies"
    directory.mkdir()
    state: dict[str, object] = {"proxy_auth": None, "problems": None}

    def load_policies(d: Path) -> PolicySet:
        assert d == directory
        if state["problems"]:
            raise ProblemsError([Problem(str(d / "settings.yaml"), 3, "bad key")])
        emma = Profile(
            id="emma",
            name="Emma",
            source=d / "emma.yaml",
            devices=(Device("user", user="emma-tablet"),),
        )
        settings = Settings(proxy_auth=state["proxy_auth"])  # type: ignore[arg-type]
        return PolicySet(d, settings, {"emma": emma})

    fake = types.ModuleType("vaccine.proxy.policy.load")
    fake.load_policies = load_policies  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vaccine.proxy.policy.load", fake)
    return directory, state


def run(*argv: str) -> int:
    return main(["passwd", *argv])


def test_adds_then_changes_a_login_read_from_stdin(
    tmp_path: Path, stdin, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.htpasswd"
    stdin("apple pie\n")
    assert run("emma-tablet", "--file", str(path), "--stdin") == 0
    assert capsys.readouterr().out == f"added login emma-tablet to {path}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Htpasswd.load(path).verify("emma-tablet", "apple pie")

    stdin("banana split\r\n")  # not a terminal: one line, no --stdin needed
    assert run("emma-tablet", "--file", str(path)) == 0
    out, err = capsys.readouterr()
    assert out == f"changed login emma-tablet in {path}\n" and err == ""
    logins = Htpasswd.load(path)
    assert logins.verify("emma-tablet", "banana split")
    assert not logins.verify("emma-tablet", "apple pie")


def test_terminal_prompts_twice_without_echo(
    tmp_path: Path, stdin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "apple pie"

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    stdin("", tty=True)
    path = tmp_path / "users.htpasswd"
    assert run("emma", "--file", str(path)) == 0
    assert prompts == ["New password for emma: ", "Repeat it: "]
    assert Htpasswd.load(path).verify("emma", "apple pie")
    assert "apple" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stdin_text", "tty", "typed", "message"),
    [
        (["emma", "--stdin"], "\n", False, [], "an empty password is refused"),
        (["emma", "--stdin"], "", False, [], "an empty password is refused"),
        (["emma"], "", True, ["", ""], "an empty password is refused"),
        (["emma"], "", True, ["apple", "appel"], "the two passwords differ"),
        (["em ma", "--stdin"], "secret\n", False, [], "may not contain ':' or white space"),
        (["a:b", "--stdin"], "secret\n", False, [], "may not contain ':' or white space"),
        (["emma", "--stdin"], "x" * 73 + "\n", False, [], "longer than 72 bytes"),
    ],
)
def test_bad_input_exits_1_with_one_line(
    tmp_path: Path,
    stdin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin_text: str,
    tty: bool,
    typed: list[str],
    message: str,
) -> None:
    answers = iter(typed)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    stdin(stdin_text, tty)
    path = tmp_path / "users.htpasswd"
    assert run(*argv, "--file", str(path)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("vaccine passwd: ") and message in err
    assert "secret" not in err and "apple" not in err
    assert not path.exists()


def test_unwritable_file_is_one_line(
    tmp_path: Path, stdin, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin("secret\n")
    assert run("emma", "--file", str(tmp_path / "missing" / "users.htpasswd")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "secret" not in err


def test_default_file_comes_from_settings_proxy_auth(
    tmp_path: Path, stdin, policies, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, state = policies
    state["proxy_auth"] = tmp_path / "logins" / "kids.htpasswd"
    (tmp_path / "logins").mkdir()
    stdin("apple pie\n")
    assert run("emma-tablet", "--policies", str(directory)) == 0
    out = capsys.readouterr().out
    assert out == f"added login emma-tablet to {tmp_path / 'logins' / 'kids.htpasswd'}\n"


def test_without_proxy_auth_it_writes_next_to_the_policies_and_says_how_to_use_it(
    stdin, policies, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, _ = policies
    stdin("apple pie\n")
    assert run("leo-phone", "--policies", str(directory)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"added login leo-phone to {directory / 'users.htpasswd'}",
        f"hint: the proxy uses this file once {directory / 'settings.yaml'} "
        "says `proxy_auth: policies/users.htpasswd`",
        "hint: no profile names this login yet; add `- user: leo-phone` to its `devices:`",
    ]
    assert Htpasswd.load(directory / "users.htpasswd").users == {"leo-phone"}


def test_invalid_policies_without_file_is_one_line(
    stdin, policies, capsys: pytest.CaptureFixture[str]
) -> None:
    directory, state = policies
    state["problems"] = True
    stdin("apple pie\n")
    assert run("emma", "--policies", str(directory)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{directory / 'settings.yaml'}:3: bad key" in err
    assert "name the login file with --file" in err


def test_warns_when_other_lines_keep_the_file_from_loading(
    tmp_path: Path, stdin, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "users.htpasswd"
    path.write_text("leo:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n")
    stdin("apple pie\n")
    assert run("emma", "--file", str(path)) == 0
    out, err = capsys.readouterr()
    assert out == f"added login emma to {path}\n"
    assert err.startswith(f"warning: {path}:1: login 'leo': a SHA-1")
    assert path.read_text().startswith("leo:{SHA}")
