from __future__ import annotations

import asyncio
import base64
import stat
import threading
from pathlib import Path

import bcrypt
import pytest

from vaccine.proxy.errors import ProblemsError
from vaccine.proxy.policy import htpasswd
from vaccine.proxy.policy.htpasswd import (
    Htpasswd,
    parse_proxy_authorization,
    set_password,
    validate_user,
)


def bcrypt_hash(password: str, prefix: str = "$2y$") -> str:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    return prefix + hashed[4:]


@pytest.fixture(scope="module")
def emma_hash() -> str:
    return bcrypt_hash("apple pie")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.htpasswd"
    path.write_text(text)
    return path


@pytest.fixture
def checkpw_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Counts bcrypt.checkpw calls, recording which hash each was against."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(htpasswd.bcrypt, "checkpw", counting)
    return calls


# --- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["$2y$", "$2a$", "$2b$"])
def test_load_accepts_bcrypt_variants(tmp_path: Path, prefix: str) -> None:
    path = write(tmp_path, f"emma-tablet:{bcrypt_hash('apple pie', prefix)}\n")
    logins = Htpasswd.load(path)
    assert logins.users == {"emma-tablet"}
    assert logins.verify("emma-tablet", "apple pie")


def test_load_skips_comments_blank_lines_crlf_and_bom(tmp_path: Path, emma_hash: str) -> None:
    text = f"\ufeff# logins for the proxy\r\n\r\nemma:{emma_hash}\r\n  # indented comment\r\n"
    path = write(tmp_path, text)
    assert Htpasswd.load(path).users == {"emma"}


SHA = "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M="
APR1 = "$apr1$sdfgh123$3b4Gdi8xu7hPQZDmRMzFn."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"emma:{APR1}", "MD5 ($apr1$) hash: only bcrypt"),
        (f"emma:{SHA}", "SHA-1 ({SHA}) hash"),
        ("emma:$6$saltsalt$" + "a" * 86, "crypt() hash"),
        ("emma:rqXexS6ZhobKA", "DES crypt() hash or a plain-text password"),
        ("emma:hunter2", "not a bcrypt hash"),
        ("emma:", "not a bcrypt hash"),
        ("emma:$2y$10$tooshort", "malformed bcrypt hash"),
        ("emma:$2y$99$" + "a" * 53, "bcrypt cost 99 is outside 04-31"),
        ("just some text", "expected USER:HASH"),
        (":$2y$04$" + "a" * 53, "a login name cannot be empty"),
        ("em ma:$2y$04$" + "a" * 53, "may not contain ':' or white space"),
        ("x" * 65 + ":$2y$04$" + "a" * 53, "longer than 64 characters"),
    ],
)
def test_load_refuses_each_bad_kind_with_its_line(
    tmp_path: Path, emma_hash: str, line: str, expected: str
) -> None:
    path = write(tmp_path, f"# header\nleo:{emma_hash}\n{line}\n")
    with pytest.raises(ProblemsError) as e:
        Htpasswd.load(path)
    [problem] = e.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert expected in problem.message


def test_load_never_echoes_a_secret(tmp_path: Path) -> None:
    path = write(tmp_path, "emma:hunter2\nleo hunter3\n")
    with pytest.raises(ProblemsError) as e:
        Htpasswd.load(path)
    assert "hunter" not in str(e.value)


def test_load_reports_every_problem_including_duplicates(tmp_path: Path, emma_hash: str) -> None:
    path = write(tmp_path, f"emma:{emma_hash}\nleo:{APR1}\nemma:{emma_hash}\nbroken\n")
    with pytest.raises(ProblemsError) as e:
        Htpasswd.load(path)
    assert [(p.line, p.message) for p in e.value.problems] == [
        (2, "login 'leo': an MD5 ($apr1$) hash: only bcrypt is accepted; "
            "set it again with `vaccine passwd USER`"),
        (3, "login 'emma' is already defined on line 1"),
        (4, "expected USER:HASH"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "cannot read"), (b"emma:\xff\xfe\n", "not UTF-8 text")],
)
def test_load_unreadable_file_is_a_problem(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    path = tmp_path / "users.htpasswd"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ProblemsError) as e:
        Htpasswd.load(path)
    [problem] = e.value.problems
    assert problem.line is None and expected in problem.message


# --- verifying ----------------------------------------------------------------------------


@pytest.fixture
def logins(tmp_path: Path, emma_hash: str) -> Htpasswd:
    return Htpasswd.load(write(tmp_path, f"emma:{emma_hash}\nleo:{bcrypt_hash('x' * 72)}\n"))


@pytest.mark.parametrize(
    ("user", "password", "ok"),
    [
        ("emma", "apple pie", True),
        ("emma", "apple pie ", False),
        ("emma", "Apple pie", False),
        ("emma", "", False),
        ("Emma", "apple pie", False),
        ("nobody", "apple pie", False),
        ("", "", False),
        # bcrypt only sees 72 bytes; longer hashes made by Apache must still verify.
        ("leo", "x" * 72, True),
        ("leo", "x" * 80, True),
        ("leo", "x" * 71, False),
    ],
)
def test_verify(logins: Htpasswd, user: str, password: str, ok: bool) -> None:
    assert logins.verify(user, password) is ok


def test_unknown_user_still_costs_a_hash_of_the_same_cost(
    logins: Htpasswd, checkpw_calls: list[bytes]
) -> None:
    assert not logins.verify("nobody", "guess")
    [hashed] = checkpw_calls
    assert hashed.startswith(b"$2b$04$")  # the file's cost, so timing matches real users


def test_second_verify_is_not_rehashed(logins: Htpasswd, checkpw_calls: list[bytes]) -> None:
    for _ in range(3):
        assert logins.verify("emma", "apple pie")
        assert not logins.verify("emma", "wrong")
    assert len(checkpw_calls) == 2
    assert logins.verify("leo", "x" * 72)
    assert len(checkpw_calls) == 3


def test_cache_never_holds_the_password(logins: Htpasswd) -> None:
    logins.verify("emma", "apple pie")
    [key] = logins._cache
    assert b"apple" not in key and len(key) == 32


def test_cache_keys_do_not_collide_across_the_user_password_split(tmp_path: Path) -> None:
    logins = Htpasswd.load(write(tmp_path, f"ab:{bcrypt_hash('c')}\n"))
    assert logins.verify("ab", "c")
    assert not logins.verify("a", "bc")


def test_cache_is_bounded(
    logins: Htpasswd, checkpw_calls: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(htpasswd, "CACHE_SIZE", 2)
    for guess in ("a", "b", "c"):
        logins.verify("emma", guess)
    assert len(logins._cache) == 2
    logins.verify("emma", "a")  # the oldest was evicted
    assert len(checkpw_calls) == 4


def test_reloading_starts_a_new_cache(
    tmp_path: Path, emma_hash: str, checkpw_calls: list[bytes]
) -> None:
    path = write(tmp_path, f"emma:{emma_hash}\n")
    assert Htpasswd.load(path).verify("emma", "apple pie")
    set_password(path, "emma", "new password", rounds=4)
    reloaded = Htpasswd.load(path)
    assert not reloaded.verify("emma", "apple pie")
    assert reloaded.verify("emma", "new password")


def test_averify_runs_off_the_loop_and_shares_one_hash(
    logins: Htpasswd, checkpw_calls: list[bytes]
) -> None:
    async def scenario() -> list[bool]:
        first = await asyncio.gather(*(logins.averify("emma", "apple pie") for _ in range(5)))
        return [*first, await logins.averify("emma", "apple pie"), await logins.averify("x", "y")]

    assert asyncio.run(scenario()) == [True] * 6 + [False]
    assert len(checkpw_calls) == 2
    assert logins._inflight == {}


def test_averify_does_not_hash_on_the_event_loop_thread(
    logins: Htpasswd, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = bcrypt.checkpw

    def recording(password: bytes, hashed: bytes) -> bool:
        threads.append(threading.current_thread())
        return real(password, hashed)

    monkeypatch.setattr(htpasswd.bcrypt, "checkpw", recording)
    assert asyncio.run(logins.averify("emma", "apple pie"))
    assert threads and threads[0] is not threading.main_thread()


# --- Proxy-Authorization ------------------------------------------------------------------


def basic(raw: bytes) -> str:
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (basic(b"emma:apple pie"), ("emma", "apple pie")),
        (basic(b"emma:"), ("emma", "")),
        (basic(b"emma:a:b:c"), ("emma", "a:b:c")),
        (basic("émma:pässword".encode()), ("émma", "pässword")),
        ("basic " + base64.b64encode(b"emma:x").decode(), ("emma", "x")),
        ("  BASIC   " + base64.b64encode(b"emma:x").decode() + "  ", ("emma", "x")),
    ],
)
def test_parse_proxy_authorization(value: str, expected: tuple[str, str]) -> None:
    assert parse_proxy_authorization(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Basic",
        "Basic ",
        "Bearer abc.def",
        "Digest username=emma",
        "Basic !!!notbase64",
        "Basic ZW1tYTp4eQ",  # missing padding
        basic(b"emma-no-colon"),
        basic(b":password-only"),
        basic(b"emma:\xff\xfe"),
        base64.b64encode(b"emma:x").decode(),  # no scheme
    ],
)
def test_parse_proxy_authorization_refuses(value: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_proxy_authorization(value)
    assert "emma" not in str(e.value) and "password" not in str(e.value)


# --- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["", "a:b", "a b", "tab\there", "#emma", "x" * 65])
def test_validate_user_refuses(user: str) -> None:
    with pytest.raises(ValueError):
        validate_user(user)


def test_set_password_creates_file_readable_by_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "users.htpasswd"
    assert set_password(path, "emma-tablet", "apple pie", rounds=4) is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("emma-tablet:$2y$04$") and text.endswith("\n")
    assert "apple" not in text
    assert Htpasswd.load(path).verify("emma-tablet", "apple pie")
    assert [p.name for p in tmp_path.iterdir()] == ["users.htpasswd"]  # no temp file left


def test_set_password_keeps_other_lines_and_changes_in_place(
    tmp_path: Path, emma_hash: str
) -> None:
    leo = bcrypt_hash("leo's")
    original = f"# household logins\nleo:{leo}\n\nemma:{emma_hash}\n# last comment"
    path = write(tmp_path, original)
    path.chmod(0o640)

    assert set_password(path, "emma", "changed", rounds=4) is False
    lines = path.read_text().splitlines()
    assert lines[:3] == ["# household logins", f"leo:{leo}", ""]
    assert lines[3].startswith("emma:$2y$04$") and lines[3] != f"emma:{emma_hash}"
    assert lines[4:] == ["# last comment"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # an existing file keeps its mode

    assert set_password(path, "zoe", "zoe's", rounds=4) is True
    lines = path.read_text().splitlines()
    assert lines[4] == "# last comment" and lines[5].startswith("zoe:$2y$04$")

    logins = Htpasswd.load(path)
    assert logins.users == {"leo", "emma", "zoe"}
    assert logins.verify("emma", "changed") and logins.verify("leo", "leo's")


def test_set_password_keeps_lines_it_would_not_load_and_drops_a_duplicate(
    tmp_path: Path, emma_hash: str
) -> None:
    path = write(tmp_path, f"leo:{APR1}\nemma:{emma_hash}\nemma:{emma_hash}\n")
    assert set_password(path, "emma", "changed", rounds=4) is False
    lines = path.read_text().splitlines()
    assert lines[0] == f"leo:{APR1}" and len(lines) == 2


def test_set_password_through_a_symlink_edits_the_target(tmp_path: Path) -> None:
    target = tmp_path / "real.htpasswd"
    link = tmp_path / "users.htpasswd"
    link.symlink_to(target)
    set_password(link, "emma", "apple pie", rounds=4)
    assert link.is_symlink() and "emma:" in target.read_text()


@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("emma", ""),
        ("emma", "x" * 73),
        ("emma", "é" * 37),  # 37 characters, 74 bytes: bcrypt would silently cut it
        ("a:b", "ok"),
        ("", "ok"),
    ],
)
def test_set_password_refuses_bad_input_without_touching_the_file(
    tmp_path: Path, user: str, password: str
) -> None:
    path = tmp_path / "users.htpasswd"
    with pytest.raises(ValueError):
        set_password(path, user, password, rounds=4)
    assert not path.exists()
