"""Every page language has every string, with the same fields, and fonts that can draw it."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

import pytest

from vaccine.proxy.pages.language import (
    DEFAULT_LANGUAGE,
    FONTS,
    META_KEYS,
    available_languages,
    fields,
    flatten,
    read_locale,
)
from vaccine.proxy.policy.model import CATEGORIES

LANGUAGES = available_languages()
ENGLISH = dict(flatten(read_locale(DEFAULT_LANGUAGE) or {}))


def leaves(language: str) -> dict[str, object]:
    return dict(flatten(read_locale(language) or {}))


def test_the_four_languages_are_there() -> None:
    assert {"en", "pl", "vi", "ar"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_every_string_with_the_same_fields(language: str) -> None:
    table = leaves(language)
    sentences = {k for k in ENGLISH if k not in META_KEYS}
    assert sentences - set(table) == set(), "missing"
    assert set(table) - set(ENGLISH) == set(), "a key English does not have"
    for key in sentences:
        text = table[key]
        assert isinstance(text, str) and text.strip(), key
        assert fields(text) == fields(str(ENGLISH[key])), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_direction_code_and_review_list(language: str) -> None:
    data = read_locale(language) or {}
    assert data["lang"] == language
    assert data["dir"] in ("ltr", "rtl")
    review = data.get("review")
    assert isinstance(review, list)
    table = leaves(language)
    assert [k for k in review if k not in table] == [], "review names a key that does not exist"


def test_arabic_is_right_to_left_and_the_others_are_not() -> None:
    dirs = {lang: (read_locale(lang) or {})["dir"] for lang in LANGUAGES}
    assert dirs["ar"] == "rtl"
    assert {dirs[x] for x in ("en", "pl", "vi")} == {"ltr"}


def test_every_category_has_words_on_the_pages() -> None:
    assert set(CATEGORIES) == {k.removeprefix("categories.") for k in ENGLISH
                               if k.startswith("categories.")}  # fmt: skip


# --- fonts ----------------------------------------------------------------------------------


@cache
def coverage(family: str) -> frozenset[int] | None:
    """The code points the installed font `family` has, or None when it is not installed."""
    found = subprocess.run(["fc-match", "-f", "%{family}\n%{charset}", family],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    names, _, charset = found.partition("\n")
    if family not in names.split(","):
        return None  # fontconfig offered a stand-in
    points: set[int] = set()
    for item in charset.split():
        low, _, high = item.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(points)


def stack(direction: str) -> list[str]:
    return [f.strip().strip('"') for f in FONTS[direction].split(",") if '"' in f]


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig (fc-match) not installed")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_pages_font_stack_draws_every_character_of_the_language(language: str) -> None:
    """What Debian's fonts-noto-core and fonts-dejavu-core give a gateway: no character of a
    page falls through to a font the page did not name (or to a missing-glyph box)."""
    data = read_locale(language) or {}
    fonts = [(f, coverage(f)) for f in stack(data["dir"])]
    installed = [points for _, points in fonts if points is not None]
    if fonts[0][1] is None:
        pytest.skip(f"{fonts[0][0]} is not installed (Debian: fonts-noto-core)")
    missing = {
        ch
        for key, text in leaves(language).items()
        if key not in META_KEYS and isinstance(text, str)
        for ch in text
        if not ch.isspace() and not any(ord(ch) in points for points in installed)
    }
    assert missing == set(), f"no font of {stack(data['dir'])} has {sorted(missing)}"
