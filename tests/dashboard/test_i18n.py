"""Every language has the same words with the same fields; English fills any gap; Arabic
comes out joined and in display order, once."""

from __future__ import annotations

import string
import unicodedata
from datetime import date

import pytest

from vaccine.dashboard.i18n import EN, LANGUAGES, LOCALES, TERMINAL_BIDI_ENV, Labels
from vaccine.proxy.policy.model import CATEGORIES


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_four_languages_are_there() -> None:
    assert {"en", "pl", "vi", "ar"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_has_every_word_with_the_same_fields(language: str) -> None:
    table = LANGUAGES[language]
    assert set(table) - set(EN) == set(), "a key English does not have"
    assert set(EN) - set(table) == set(), "a word a parent would see in English"
    for key, text in table.items():
        assert fields(text) == fields(EN[key]), key
        assert unicodedata.is_normalized("NFC", text), key  # one cell per letter
    for key in ("weekday", "weekday_short"):
        assert len(table[key].split()) == 7, key


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_direction_code_and_review_list(language: str) -> None:
    data = LOCALES[language]
    assert data["lang"] == language
    assert data["dir"] == ("rtl" if language == "ar" else "ltr")
    assert [k for k in data["review"] if k not in EN] == [], "review names no such word"


def test_every_category_has_a_name() -> None:
    for category in (*CATEGORIES, ""):
        assert f"category.{category}" in EN


def test_fallbacks_and_formats() -> None:
    assert Labels("xx").language == "en"
    assert Labels("pl")("card.blocked") == "Zablokowane"
    assert Labels("vi")("card.blocked") == "Đã chặn"
    assert Labels("en").category("not_a_category") == "not_a_category"
    assert Labels("en").duration(45) == "45 min"
    assert Labels("en").duration(125) == "2 h 05 min"
    assert Labels("en").duration(120) == "2 h"
    assert Labels("en").short(90) == "1h30"
    assert Labels("en").weekday(date(2026, 11, 22), short=True) == "Sun"


def names(text: str) -> list[str]:
    return [unicodedata.name(ch) for ch in text]


def test_arabic_is_joined_and_in_display_order() -> None:
    ar = Labels("ar", visual=True)
    # خروج ("Quit"): drawn left to right, the last letter comes first; khah joins reh, and
    # reh and waw never join the letter after them.
    assert names(ar("key.quit")) == [
        "ARABIC LETTER JEEM ISOLATED FORM",
        "ARABIC LETTER WAW ISOLATED FORM",
        "ARABIC LETTER REH FINAL FORM",
        "ARABIC LETTER KHAH INITIAL FORM",
    ]
    # A Latin name stays left to right and goes where the sentence starts: on the right.
    assert ar("child.title", name="Emma").endswith(":Emma")
    # Brackets are mirrored for a terminal that draws what it is given.
    assert ar("card.used_up", limit="1h30").startswith("(1h30) ")


def test_a_label_inside_a_label_is_not_turned_round_twice() -> None:
    ar = Labels("ar", visual=True)
    games = ar.category("games")
    shown = ar("policy.limit", category=games, time="1h")
    # Read right to left: the category, then 1h, then "a day": so, drawn, category last.
    assert shown.endswith(games) and " 1h " in shown
    assert Labels("ar", visual=False)("policy.limit", category="ألعاب", time="1h") == (
        "ألعاب 1h يوميًا"
    )
    # A name written in Arabic (logical order) is put in display order too.
    assert ar("child.title", name="ليلى").endswith(":" + ar.show("ليلى"))


def test_a_terminal_that_lays_out_arabic_itself_gets_reading_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TERMINAL_BIDI_ENV, "1")
    assert Labels("ar")("key.quit") == "خروج"
    monkeypatch.delenv(TERMINAL_BIDI_ENV)
    assert Labels("ar")("key.quit") != "خروج"
    assert Labels("vi")("key.quit") == "Thoát"  # left-to-right languages are never touched
