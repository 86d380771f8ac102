"""`vaccine check`: every problem as FILE:LINE: message, a summary, and the exit code.

The lists are stood in for by a fake `proxy.lists` (its own tests are elsewhere), so these
tests pin what `check` does with what the lists report; one test runs the real module.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vaccine.proxy.cli.main import main
from vaccine.proxy.errors import Problem, ProblemsError, VaccineError

REPO = Path(__file__).resolve().parents[3]

GOOD = {
    "settings": "unknown_devices: guest\n",
    "guest": "name: Guests\n",
    "emma": "name: Emma\ndevices:\n  - address: 192.168.1.23\nblock:\n  categories: [adult]\n",
}


@dataclass
class FakeLists:
    counts: dict[str, int]
    problems: list[Problem] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        return self.counts


@pytest.fixture
def lists(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What the fake load_lists returns (or raises); `seen` records the folder it was given."""
    state: dict[str, object] = {"result": FakeLists({"adult": 3, "games": 2})}

    def load_lists(directory: Path) -> FakeLists:
        state["seen"] = directory
        result = state["result"]
        if isinstance(result, Exception):
            raise result
        assert isinstance(result, FakeLists)
        return result

    if importlib.util.find_spec("vaccine.proxy.lists.index") is not None:
        # Other commands import other names from the real module: replace only the loader.
        monkeypatch.setattr("vaccine.proxy.lists.index.load_lists", load_lists)
    else:
        fake = types.ModuleType("vaccine.proxy.lists.index")
        fake.load_lists = load_lists  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "vaccine.proxy.lists.index", fake)
    return state


@pytest.fixture
def household(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    policies = tmp_path / "policies"
    policies.mkdir()
    for name, text in GOOD.items():
        (policies / f"{name}.yaml").write_text(text, encoding="utf-8")
    return policies


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_valid_household_exits_0_with_a_summary(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--policies", "policies")
    assert (code, out, err) == (0, ["2 profiles, 2 list categories, 0 problems"], "")
    assert lists["seen"] == household.parent / "blocklists"  # settings' default, resolved


def test_every_problem_is_printed_as_file_line_message_and_exits_1(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (household / "emma.yaml").write_text(
        textwrap.dedent("""\
        name: Emma
        devices:
          - address: 192.168.1.23
        block:
          categories: [adult, gmbling]
        schedule:
          bedtime: {from: "25:00", to: "07:00"}
        """)
    )
    (household / "leo.yaml").write_text("name: Leo\n")
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 1
    assert out == [
        'policies/emma.yaml:5: block.categories: "gmbling" is not a category; '
        "did you mean 'gambling'?",
        'policies/emma.yaml:7: schedule.bedtime.from: "25:00" is not a time (HH:MM)',
        "policies/leo.yaml: warning: no devices: no traffic uses this profile; add devices: to it",
        "3 profiles, 2 list categories, 3 problems (2 errors, 1 warning)",
    ]


def test_warnings_alone_still_exit_0(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    lists["result"] = FakeLists(
        {"adult": 1}, [Problem("blocklists/local/adult.txt", 4, "junk line", severity="warning")]
    )
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 0
    assert out == [
        "blocklists/local/adult.txt:4: warning: junk line",
        "2 profiles, 1 list category, 1 problem (0 errors, 1 warning)",
    ]


def test_categories_the_profiles_use_but_no_list_holds_are_a_warning(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    lists["result"] = FakeLists({"games": 5, "adult": 0})
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 0
    assert out[0] == (
        "blocklists: warning: no list entries for adult, which profiles block or limit: nothing "
        "is recognised as those until lists are added (vaccine lists update)"
    )


def test_a_category_no_public_list_covers_is_one_note_not_a_warning(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (household.parent / "blocklists").mkdir()
    (household.parent / "blocklists" / "sources.yaml").write_text(
        "sources:\n  bad:\n    url: http://lists.example/hosts\n    format: hosts\n"
        "    category: malware\n"
    )
    (household / "emma.yaml").write_text(
        "name: Emma\ndevices:\n  - address: 192.168.1.23\n"
        "block:\n  categories: [adult, self_harm, malware]\n"
    )
    lists["result"] = FakeLists({"adult": 3})
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 0
    assert out[0].startswith("note: no public list for self_harm: no maintained public list ")
    assert [line for line in out if "self_harm" in line] == out[:1]  # once, and no warning
    assert out[1] == (  # a category with a source not downloaded yet is still a warning
        "blocklists: warning: no list entries for malware, which profiles block or limit: "
        "nothing is recognised as those until lists are added (vaccine lists update)"
    )
    assert out[-1].endswith("1 problem (0 errors, 1 warning)")


def test_a_broken_hashed_list_is_an_error(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (household.parent / "blocklists" / "hashed").mkdir(parents=True)
    (household.parent / "blocklists" / "hashed" / "h.sha256").write_text("<html>\n")
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 1
    assert out[0] == (
        "blocklists/hashed/h.sha256: 0 digests, 1 junk lines: damaged or not a hashed list"
    )


@pytest.mark.parametrize(
    ("error", "printed"),
    [
        (ProblemsError([Problem("lists/sources.yaml", 3, "unknown category 'porn'")]),
         "lists/sources.yaml:3: unknown category 'porn'"),
        (VaccineError("cannot read the lists"), "elsewhere: cannot read the lists"),
    ],
)  # fmt: skip
def test_fatal_list_problems_exit_1(
    household: Path,
    lists: dict[str, object],
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    printed: str,
) -> None:
    lists["result"] = error
    code, out, _ = run(capsys, "--policies", "policies", "--lists", "elsewhere")
    assert lists["seen"] == Path("elsewhere")
    assert (code, out[0]) == (1, printed)
    assert out[-1] == "2 profiles, 0 list categories, 1 problem (1 error, 0 warnings)"


def test_the_lists_are_still_checked_when_a_profile_is_broken(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (household / "settings.yaml").write_text("blocklists: mylists\n")
    (household / "emma.yaml").write_text("inspect: all\ndevices: [{port: 8080}]\n")
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 1
    assert lists["seen"] == household.parent / "mylists"
    assert out[-1] == "2 profiles, 2 list categories, 1 problem (1 error, 0 warnings)"


def test_absolute_paths_are_shown_relative_to_the_current_folder(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    (household / "emma.yaml").write_text("inspect: all\ndevices: [{port: 8080}]\n")
    _, out, _ = run(capsys, "--policies", str(household))
    assert out[0] == 'policies/emma.yaml:1: inspect: "all" is not one of: needed, everything'


def test_the_default_policy_folder_is_used_without_policies(
    household: Path,
    lists: dict[str, object],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VACCINE_POLICIES", raising=False)
    code, out, _ = run(capsys)  # ./policies exists in the current folder
    assert (code, out) == (0, ["2 profiles, 2 list categories, 0 problems"])


def test_a_missing_policy_folder_is_one_line_on_stderr(
    tmp_path: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--policies", str(tmp_path / "nowhere"))
    assert (code, out) == (1, [])
    nowhere = tmp_path / "nowhere"
    expected = f"vaccine check: --policies {nowhere}: no such policy directory"
    assert err == expected + "\n"


def test_a_broken_logins_file_is_reported(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("vaccine.proxy.policy.htpasswd") is None:
        pytest.skip("proxy.htpasswd is not there yet")
    (household / "settings.yaml").write_text("proxy_auth: policies/users.htpasswd\n")
    (household / "users.htpasswd").write_text("emma:{SHA}abc=\n")
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 1
    assert out[0].startswith("policies/users.htpasswd:1: ")


@pytest.mark.skipif(
    importlib.util.find_spec("vaccine.proxy.lists.index") is None, reason="no proxy.lists"
)
def test_with_the_real_lists_the_shipped_household_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists_dir = tmp_path / "lists"
    (lists_dir / "local").mkdir(parents=True)
    (lists_dir / "local" / "adult.txt").write_text("example.com\n")
    code, out, _ = run(capsys, "--policies", str(REPO / "policies"), "--lists", str(lists_dir))
    assert code == 0, out
    assert out[-1].startswith("4 profiles, ")


def test_search_term_lists_are_checked_too(
    household: Path, lists: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    terms = household.parent / "blocklists" / "terms"
    terms.mkdir(parents=True)
    (terms / "adult.txt").write_bytes(b"porn\nab\n")  # line 2: too short to be a term
    (household / "kid.yaml").write_text(
        "name: Kid\nsearch_terms: [adult, self_harm]\n", encoding="utf-8"
    )
    code, out, _ = run(capsys, "--policies", "policies")
    assert code == 0  # warnings only
    assert any(line.startswith("blocklists/terms/adult.txt:2: warning:") for line in out)
    assert any("no search-term list for self_harm" in line for line in out)
