"""proxy.policyedit: "always" adds a site to allow.domains and changes nothing else."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from vaccine.proxy.policy.edit import PolicyEditError, add_allowed_domain, with_allowed_domain
from vaccine.proxy.policy.load import check_policies, load_policies

REPO = Path(__file__).resolve().parents[3]


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # flow stays flow, on its line, comments kept
            """
            allow:
              # Allowed whatever the lists say.
              domains: [khanacademy.org, scratch.mit.edu]   # homework
            safe_search: strict
            """,
            """
            allow:
              # Allowed whatever the lists say.
              domains: [khanacademy.org, scratch.mit.edu, roblox.com]   # homework
            safe_search: strict
            """,
        ),
        (  # a flow list over several lines keeps its line breaks
            """
            allow:
              domains: [khanacademy.org,
                        scratch.mit.edu]
            """,
            """
            allow:
              domains: [khanacademy.org,
                        scratch.mit.edu, roblox.com]
            """,
        ),
        (
            """
            allow:
              domains: []
            """,
            """
            allow:
              domains: [roblox.com]
            """,
        ),
        (  # block items: one more line at the same indentation, after the last one's comment
            """
            allow:
              domains:
                - 'khanacademy.org'   # quoting kept
                - "scratch.mit.edu"

            # the end
            name: Emma
            """,
            """
            allow:
              domains:
                - 'khanacademy.org'   # quoting kept
                - "scratch.mit.edu"
                - roblox.com

            # the end
            name: Emma
            """,
        ),
        (
            """
            allow:
              domains:
              - khanacademy.org
            name: Emma
            """,
            """
            allow:
              domains:
              - khanacademy.org
              - roblox.com
            name: Emma
            """,
        ),
        (  # no allow at all: added at the end, after a blank line
            """
            name: Emma   # no allow yet
            block:
                domains: [tiktok.com]
            """,
            """
            name: Emma   # no allow yet
            block:
                domains: [tiktok.com]

            allow:
                domains: [roblox.com]
            """,
        ),
        (
            """
            allow:   # nothing yet
            name: Emma
            """,
            """
            allow:   # nothing yet
              domains: [roblox.com]
            name: Emma
            """,
        ),
        (
            """
            allow: ~
            """,
            """
            allow:
              domains: [roblox.com]
            """,
        ),
        (
            """
            allow:
              domains:   # none yet
            """,
            """
            allow:
              domains: [roblox.com]   # none yet
            """,
        ),
        ("", "allow:\n  domains: [roblox.com]\n"),
        ("name: Emma", "name: Emma\n\nallow:\n  domains: [roblox.com]\n"),
        (
            "name: Emma\r\nallow:\r\n  domains:\r\n    - a.com\r\n",
            "name: Emma\r\nallow:\r\n  domains:\r\n    - a.com\r\n    - roblox.com\r\n",
        ),
    ],
)
def test_the_site_is_added_and_nothing_else_changes(before: str, after: str) -> None:
    assert with_allowed_domain(d(before), "roblox.com") == d(after)


@pytest.mark.parametrize(
    ("text", "domain", "inherited", "expected"),
    [
        ("allow:\n  domains: [roblox.com]\n", "roblox.com", (), None),
        ("allow:\n  domains: ['*.Roblox.COM']\n", "roblox.com", (), None),
        ("allow:\n  domains: [.roblox.com.]\n", "ROBLOX.com", (), None),
        ("name: Leo\n", "roblox.com", ("roblox.com",), None),  # the inherited list has it
        (  # a list of its own replaces the inherited one, so it starts with it
            "name: Leo\n",
            "roblox.com",
            ("khanacademy.org",),
            "name: Leo\n\nallow:\n  domains: [khanacademy.org, roblox.com]\n",
        ),
        (  # an own list is extended as it is: inherited entries are not its business
            "allow:\n  domains: [a.com]\n",
            "roblox.com",
            ("khanacademy.org",),
            "allow:\n  domains: [a.com, roblox.com]\n",
        ),
        (
            "allow:\n  domains: [a.com]\n",
            "2001:db8::1",
            (),
            'allow:\n  domains: [a.com, "2001:db8::1"]\n',
        ),
    ],
)
def test_duplicates_inheritance_and_quoting(
    text: str, domain: str, inherited: tuple[str, ...], expected: str | None
) -> None:
    assert with_allowed_domain(text, domain, inherited) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base: &b [a.com]\nallow:\n  domains: *b\n", "anchors"),
        ("allow: {domains: [a.com]}\n", "block of keys"),
        ("allow: [a.com]\n", "block of keys"),
        ("allow:\n  domains: a.com\n", "not a list"),
        ("- a\n- b\n", "not a map"),
        ("allow: [unclosed\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
    ],
)
def test_what_cannot_be_edited_safely_is_refused(text: str, message: str) -> None:
    with pytest.raises(PolicyEditError, match=message) as e:
        with_allowed_domain(text, "roblox.com", file="emma.yaml")
    assert "emma.yaml" in str(e.value)


# --- on a real household --------------------------------------------------------------------


@pytest.fixture
def household(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    return policies


def test_emma_gets_the_site_always_and_her_file_keeps_its_layout(household: Path) -> None:
    emma = household / "emma.yaml"
    emma.chmod(0o640)
    before = emma.read_text()
    assert add_allowed_domain(emma, "roblox.com") is True
    after = emma.read_text()
    assert after == before.replace(
        "domains: [khanacademy.org, scratch.mit.edu]",
        "domains: [khanacademy.org, scratch.mit.edu, roblox.com]",
    )
    assert emma.stat().st_mode & 0o777 == 0o640
    assert "roblox.com" in load_policies(household).profiles["emma"].allow_domains
    assert sorted(p.name for p in household.iterdir() if p.name.startswith(".")) == []
    assert add_allowed_domain(emma, "roblox.com") is False  # no duplicate
    assert emma.read_text() == after


def test_a_profile_without_its_own_list_keeps_what_it_inherited(household: Path) -> None:
    defaults = household / "defaults.yaml"
    defaults.write_text(defaults.read_text() + "\nallow:\n  domains: [wikipedia.org]\n")
    leo = load_policies(household).profiles["leo"]
    assert leo.allow_domains == ("wikipedia.org",)
    assert add_allowed_domain(leo.source, "roblox.com", inherited=leo.allow_domains)
    assert load_policies(household).profiles["leo"].allow_domains == (
        "wikipedia.org",
        "roblox.com",
    )


def test_an_edit_the_household_cannot_load_is_rolled_back(household: Path) -> None:
    (household / "guest.yaml").write_text("name: Guests\nsafe_search: sometimes\n")
    emma = household / "emma.yaml"
    before = emma.read_bytes()
    with pytest.raises(PolicyEditError, match="guest.yaml.*safe_search") as e:
        add_allowed_domain(emma, "roblox.com")
    assert "left as it was" in str(e.value)
    assert emma.read_bytes() == before
    assert [p.name for p in household.iterdir() if p.name.startswith(".")] == []


def test_without_validation_only_the_file_is_checked(household: Path) -> None:
    (household / "guest.yaml").write_text("name: Guests\nsafe_search: sometimes\n")
    emma = household / "emma.yaml"
    assert add_allowed_domain(emma, "roblox.com", validate=False)
    assert "roblox.com" in emma.read_text()


def test_a_symlinked_profile_stays_a_link(household: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere" / "emma.yaml"
    real.parent.mkdir()
    (household / "emma.yaml").rename(real)
    (household / "emma.yaml").symlink_to(real)
    assert add_allowed_domain(household / "emma.yaml", "roblox.com")
    assert (household / "emma.yaml").is_symlink()
    assert "roblox.com" in real.read_text()
    policies, problems = check_policies(household)
    assert policies is not None, problems


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "emma.yaml"
    f.write_bytes(b"name: Emm\xe9\n")
    with pytest.raises(PolicyEditError, match="UTF-8"):
        add_allowed_domain(f, "roblox.com", validate=False)
    assert f.read_bytes() == b"name: Emm\xe9\n"
