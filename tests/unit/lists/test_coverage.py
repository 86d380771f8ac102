"""What the start line says the lists hold, and the categories no public list covers."""

from __future__ import annotations

from pathlib import Path

from vaccine.proxy.lists import coverage
from vaccine.proxy.lists.layout import read_sources
from vaccine.proxy.policy.model import CATEGORIES

REPO = Path(__file__).resolve().parents[3]


def test_every_category_is_in_exactly_one_group() -> None:
    grouped = [c for cats in coverage.GROUPS.values() for c in cats]
    assert sorted(grouped) == sorted(CATEGORIES)


def test_the_start_line() -> None:
    stats = dict.fromkeys(CATEGORIES, 0) | {"adult": 11, "doh": 41, "games": 5, "search": 9}
    assert coverage.start_line(stats, 66) == (
        "lists: 66 entries (harmful 11, security 0, bypass 41, apps 5, other 9); nothing for "
        "gambling, dating, violence, drugs, weapons, hate, self_harm, phishing, malware, "
        "proxy_bypass, social_networks, video, chat, shopping, education, banking, health"
    )
    assert coverage.start_line(dict.fromkeys(CATEGORIES, 1), 21).endswith("other 4)")


def test_every_category_has_a_shipped_source_or_a_stated_reason() -> None:
    sources, problems = read_sources(REPO / "blocklists")
    assert problems == []
    covered = coverage.source_categories(sources)
    assert set(CATEGORIES) - covered == set(coverage.NO_PUBLIC_LIST)


def test_the_readme_states_each_reason() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for category in coverage.NO_PUBLIC_LIST:
        assert f"`{category}`" in readme.split("### Categories without a public list", 1)[1]


def test_the_note_names_only_used_categories_without_a_source() -> None:
    sources, _ = read_sources(REPO / "blocklists")
    notes = coverage.no_source_note(sources, {"self_harm", "adult"})
    assert [n.split(":")[0] for n in notes] == ["self_harm"]
    assert coverage.no_source_note(sources, {"adult"}) == []
