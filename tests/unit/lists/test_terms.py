import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vaccine.proxy.lists.terms import (
    EMPTY_TERMS,
    blocked_detail,
    build_terms,
    load_terms,
    normalise_query,
    parse_line,
    read_terms,
)

SHIPPED = Path(__file__).resolve().parents[3] / "proxy" / "lists" / "words"
TERMS, PROBLEMS = load_terms(SHIPPED)
ALL = frozenset({"adult", "self_harm", "drugs", "violence"})


# --- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Hello World", "hello world"),
        ("self-harm", "self harm"),
        ("self_harm", "self harm"),
        ("a+b.c,d/e|f", "a b c d e f"),
        ("  lots   of\tspace  ", "lots of space"),
        ("Tự Tử", "tu tu"),
        ("đường dây nóng", "duong day nong"),
        ("Łódź żółć", "lodz zolc"),
        ("Straße", "strasse"),
        ("ｐｏｒｎ", "porn"),  # full-width
        ("p\u200born", "porn"),  # a zero-width space does not split a word
        ("cafe\u0301", "cafe"),  # decomposed input
        ("S3X", "sex"),
        ("p0rn", "porn"),
        ("$ex", "sex"),
        ("h@te", "hate"),
        ("k1ll", "kill"),
        ("t4k3 7h1s", "take this"),
        # numbers stay numbers: leetspeak only inside a word that holds a letter
        ("2024", "2024"),
        ("covid-19", "covid 19"),
        ("top 10 games 2024", "top 10 games 2024"),
        ("$5 @ 3pm", "5 epm"),
        ("", ""),
        ("!!! ???", ""),
    ],
)
def test_normalise_query(text: str, normal: str) -> None:
    assert normalise_query(text) == normal


@given(st.text(max_size=80))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise_query(text)
    assert normalise_query(once) == once


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_the_ascii_fast_path_agrees_with_the_unicode_path(text: str) -> None:
    """A non-ASCII letter sends the query down the general path; the rest must not change."""
    assert normalise_query(text + " é") == (normalise_query(text) + " e").lstrip()


# --- matching, with a small list of our own -----------------------------------------------------


def _terms(tmp_path: Path, **files: str):  # type: ignore[no-untyped-def]
    for category, text in files.items():
        (tmp_path / f"{category}.txt").write_text(text, encoding="utf-8")
    terms, problems = load_terms(tmp_path)
    assert problems == []
    return terms


@pytest.mark.parametrize(
    ("query", "category"),
    [
        ("sex", "adult"),
        ("SEX", "adult"),
        ("free s3x now", "adult"),
        ("sussex", None),
        ("essex weather", None),
        ("sextant", None),
        ("self harm", "self_harm"),
        ("SELF-HARM tips", "self_harm"),
        ("self_harm", "self_harm"),
        ("self.harm", "self_harm"),
        ("self", None),
        ("harm", None),
        ("myself harmless", None),
        ("self harm hotline", None),  # allow: lifts the block
        ("tự tử", "self_harm"),
        ("cách tự tử", "self_harm"),
        ("cach tu tu", None),  # exact: needs the marks
        ("cách từ từ giảm cân", None),  # "slowly": other marks
        ("kupić marihuanę", "drugs"),
        ("kupie marihuane", "drugs"),
        ("kupić marihuan", "drugs"),  # the stem itself
        ("kupić mari", None),
        ("marihuana", None),
    ],
)
def test_match(tmp_path: Path, query: str, category: str | None) -> None:
    terms = _terms(
        tmp_path,
        adult="sex\n",
        self_harm="self harm\nexact: tự tử\nallow: hotline\n",
        drugs="kupić marihuan*\nkupię marihuan*\n",
    )
    assert terms.match(query, ALL) == category


def test_only_the_profiles_categories_block(tmp_path: Path) -> None:
    terms = _terms(tmp_path, adult="porn\n", drugs="buy weed\n")
    assert terms.match("porn", frozenset({"drugs"})) is None
    assert terms.match("porn", frozenset()) is None
    assert terms.match("buy weed", frozenset({"drugs"})) == "drugs"


def test_self_harm_wins_over_other_categories(tmp_path: Path) -> None:
    terms = _terms(tmp_path, adult="pills\n", self_harm="how many pills\n", drugs="many\n")
    assert terms.match("how many pills", ALL) == "self_harm"


def test_allow_lifts_only_its_own_category(tmp_path: Path) -> None:
    terms = _terms(tmp_path, adult="porn\n", self_harm="kill myself\nallow: help\n")
    assert terms.match("kill myself help", ALL) is None
    assert terms.match("porn help", ALL) == "adult"


def test_tone_mark_position_does_not_matter(tmp_path: Path) -> None:
    terms = _terms(tmp_path, adult="exact: khỏa thân\n")
    assert terms.match("khỏa thân", ALL) == "adult"  # new-style placement
    assert terms.match("khoả thân", ALL) == "adult"  # old-style placement
    assert terms.match("khoa than", ALL) is None


def test_match_returns_the_category_never_the_term(tmp_path: Path) -> None:
    terms = _terms(tmp_path, adult="porn\n")
    assert terms.match("porn", ALL) == "adult"
    assert blocked_detail("self_harm") == "search blocked: self_harm"


def test_empty_terms_match_nothing() -> None:
    assert EMPTY_TERMS.match("anything at all", ALL) is None
    assert load_terms(Path("/nonexistent/terms")) == (EMPTY_TERMS, [])


# --- problems in a terms file -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("# a comment", ""),
        ("", ""),
        ("!!!", "nothing left to match once normalised"),
        ("420", "numbers alone would block ordinary searches"),
        ("18 21", "numbers alone would block ordinary searches"),
        ("xy", "a one-word term needs at least 3 letters"),
        ("sex*", "a word ending in '*' needs at least 4 letters before it"),
        ("p*rn", "'*' may only end the last word"),
        ("exact: porn", "'exact:' is for words with diacritics; this one has none"),
        ("exact: tự tử*", "'exact:' terms cannot end in '*'"),
        ("allow:", "nothing left to match once normalised"),
    ],
)
def test_unusable_lines(line: str, why: str) -> None:
    entry, reason = parse_line(line)
    assert entry is None
    assert reason == why


def test_file_problems_are_warnings_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "adult.txt"
    path.write_bytes(b"\xef\xbb\xbfporn\r\nbad \xff byte\r\n42\r\nnudes # inline comment\r\n")
    entries, problems = read_terms(path, "adult")
    assert [e.words for e in entries] == [("porn",), ("nudes",)]
    assert [(p.line, p.severity) for p in problems] == [(2, "warning"), (3, "warning")]
    assert "not UTF-8" in problems[0].message
    assert "byte" not in str(problems[0])  # the line itself is never echoed


def test_files_named_after_no_category_are_reported(tmp_path: Path) -> None:
    (tmp_path / "rude.txt").write_text("porn\n")
    (tmp_path / "README.md").write_text("not a list\n")
    (tmp_path / ".hidden.txt").write_text("porn\n")
    terms, problems = load_terms(tmp_path)
    assert len(terms) == 0
    assert [p.message for p in problems] == ["'rude' is not a category; file ignored"]


# --- the shipped lists --------------------------------------------------------------------------


def test_shipped_lists_load_cleanly() -> None:
    assert PROBLEMS == []
    assert TERMS.categories >= ALL


@pytest.mark.parametrize(
    ("query", "category"),
    [
        # English
        ("free p0rn videos", "adult"),
        ("how to kill myself", "self_harm"),
        ("painless suicide methods", "self_harm"),
        ("where to buy weed near me", "drugs"),
        ("how to make a bomb", "violence"),
        # Polish
        ("nagie zdjęcia", "adult"),
        ("jak popełnić samobójstwo", "self_harm"),
        ("jak popelnic samobojstwo", "self_harm"),
        ("gdzie kupić marihuanę", "drugs"),
        ("jak zrobić bombę", "violence"),
        # Vietnamese, with and without diacritics where the phrase allows it
        ("phim khiêu dâm", "adult"),
        ("phim khieu dam", "adult"),
        ("cách tự tử", "self_harm"),
        ("cách cắt cổ tay", "self_harm"),
        ("cach cat co tay", "self_harm"),
        ("mua cần sa", "drugs"),
        ("mua can sa", "drugs"),
        ("cách chế tạo bom", "violence"),
        ("video chặt đầu", "violence"),
    ],
)
def test_shipped_lists_block(query: str, category: str) -> None:
    assert TERMS.match(query, ALL) == category


@pytest.mark.parametrize(
    "query",
    [
        # help-seeking is never blocked
        "suicide hotline",
        "how to get help",
        "i want to kill myself help",
        "self harm support for teenagers",
        "telefon zaufania dla dzieci",
        "jak się zabić pomocy",
        "đường dây nóng tự tử",
        "cách tự tử tư vấn",
        # school work and everyday words
        "sussex university",
        "essex weather",
        "sex education",
        "effects of cocaine on the brain",
        "school shooting news",
        "blue tits in my garden",
        "pussy cat dolls",
        "suicide prevention day",
        "samobójstwo",
        # Vietnamese words whose unaccented spelling a term shares
        "cách từ từ giảm cân",
        "cách treo cờ",
        "video chat đâu",
        "cách làm bơm nước",
        "anh Khoa than thở",
        "mua thuốc lác",
        "làm tính nhẩm",
        # numbers
        "top 10 games 2024",
        "5318008",
    ],
)
def test_shipped_lists_let_through(query: str) -> None:
    assert TERMS.match(query, ALL) is None


def _shipped_phrases() -> list[tuple[str, str]]:
    """(phrase as written, category) for every plain, non-wildcard term of the shipped lists."""
    out = []
    for path in sorted(SHIPPED.glob("*.txt")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and ":" not in line and not line.endswith("*"):
                out.append((line, path.stem))
    return out


PHRASES = _shipped_phrases()
SEPARATORS = st.sampled_from([" ", "  ", "-", "_", ".", "+", ",", "/", "|", " - "])


@given(st.sampled_from(PHRASES), st.data())
def test_separators_and_case_do_not_hide_a_listed_phrase(
    phrase: tuple[str, str], data: st.DataObject
) -> None:
    text, category = phrase
    words = text.split()
    seps = [data.draw(SEPARATORS) for _ in words[1:]]
    mixed = words[0] + "".join(s + w for s, w in zip(seps, words[1:], strict=True))
    flips = data.draw(st.lists(st.booleans(), min_size=len(mixed), max_size=len(mixed)))
    mixed = "".join(c.upper() if f else c for c, f in zip(mixed, flips, strict=True))
    query = f"{data.draw(st.sampled_from(['', 'please ', 'what is ']))}{mixed}"
    assert TERMS.match(query, ALL) in (category, "self_harm")


LISTED_WORDS = frozenset(
    w for text, _ in PHRASES for w in normalise_query(text).split()
) | frozenset(
    w for path in SHIPPED.glob("*.txt") for w in normalise_query(path.read_text()).split()
)


def _squeeze(word: str) -> str:
    return re.sub(r"(.)\1\1+", r"\1", word)


@given(st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), min_size=1, max_size=6))
def test_words_from_no_list_never_match(words: list[str]) -> None:
    normal = [normalise_query(w) for w in words]
    # not a listed word, even once our extra spellings squeeze repeats or join single letters
    assume(not any(w in LISTED_WORDS or _squeeze(w) in LISTED_WORDS for w in normal))
    assume(sum(len(w) == 1 for w in normal) < 3)
    assert TERMS.match(" ".join(words), ALL) is None


def test_build_terms_is_immutable() -> None:
    terms = build_terms([])
    with pytest.raises(AttributeError):
        terms.categories = frozenset({"adult"})  # type: ignore[misc]
    with pytest.raises(TypeError):
        TERMS.words.phrases["x"] = frozenset()  # type: ignore[index]
