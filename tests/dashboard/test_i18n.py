"""Every language has the same words with the same fields; English fills any gap."""

from __future__ import annotations

import string

import pytest

from vaccine.dashboard.i18n import EN, LANGUAGES, Labels
from vaccine.proxy.policy.model import CATEGORIES


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_same_keys_and_fields_as_english(language: str) -> None:
    table = LANGUAGES[language]
    assert set(table) - set(EN) == set(), "a key English does not have"
    for key, text in table.items():
        assert fields(text) == fields(EN[key]), key


def test_polish_has_every_word_a_parent_sees() -> None:
    missing = set(EN) - set(LANGUAGES["pl"]) - {"rule.default"}
    assert missing == set()


def test_every_category_has_a_name() -> None:
    for category in (*CATEGORIES, ""):
        assert f"category.{category}" in EN


def test_fallbacks_and_formats() -> None:
    assert Labels("xx").language == "en"
    assert Labels("pl")("card.blocked") == "Zablokowane"
    assert Labels("en").category("not_a_category") == "not_a_category"
    assert Labels("en").duration(45) == "45 min"
    assert Labels("en").duration(125) == "2 h 05 min"
    assert Labels("en").duration(120) == "2 h"
    assert Labels("en").short(90) == "1h30"
