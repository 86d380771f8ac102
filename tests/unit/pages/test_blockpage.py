"""The pages a child reads: whole, kind, exact sentences, in every language."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime, time

import pytest

from vaccine.proxy.decision import Decision, Facts, decide
from vaccine.proxy.pages.blockpage import (
    available_languages,
    blocking_window,
    reason_text,
    render,
)
from vaccine.proxy.pages.language import isolate_line
from vaccine.proxy.policy.model import Window

from ..test_decision import BEDTIME, HOMEWORK, LISTS, profile

LANGUAGES = ["en", "pl", "vi", "ar"]
MONDAY_2130 = datetime(2026, 11, 23, 21, 30)  # bedtime (Sun–Thu from 20:30 to 07:00)
MONDAY_1700 = datetime(2026, 11, 23, 17, 0)  # homework (games and video, 16:00–18:00)


def d(rule: str, host: str = "www.example.co.uk", *cats: str, page: str = "block") -> Decision:
    return Decision("block", rule, f"{rule}: detail", host, frozenset(cats), page=page)  # type: ignore[arg-type]


def text_of(page: str) -> str:
    """The words a child reads (tags dropped, the style left out)."""
    body = re.sub(r"</?(bdi|strong|span)\b[^>]*>", "", page.split("<body>", 1)[1])
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip())


def test_names_the_host_never_the_detail_and_escapes() -> None:
    page = render(d("block.domains", "bad.example.co.uk"), help_line="Call <b>116 111</b>")
    assert "bad.example.co.uk" in page
    assert "detail" not in page  # the rule's own words are for parents, not the page
    assert '&lt;b&gt;<bdi dir="ltr">116 111</bdi>&lt;/b&gt;' in page


def test_the_bedtime_page_says_which_window_and_when_the_internet_is_back() -> None:
    p = profile(schedule=(BEDTIME,))
    decision = decide(Facts(("games.com",), "/"), p, LISTS, MONDAY_2130)
    assert decision.page == "schedule"
    page = render(decision, profile=p, now=MONDAY_2130)
    words = text_of(page)
    assert "Bedtime: the internet is back at 07:00." in words
    assert "It is quiet time now" in words
    assert ": learning" not in words and "later" not in words


def test_a_window_of_some_categories_names_them_and_its_end() -> None:
    p = profile(schedule=(BEDTIME, HOMEWORK))
    decision = decide(Facts(("games.com",), "/"), p, LISTS, MONDAY_1700)
    assert blocking_window(decision, p, MONDAY_1700) == HOMEWORK
    assert reason_text(decision, profile=p, now=MONDAY_1700) == (
        "Homework time: sites with games are closed until 18:00."
    )


def test_the_window_named_is_the_one_the_decision_applied() -> None:
    # The first window in force allows the host; the second blocks it: the page names the second.
    first = Window("evening", frozenset(range(7)), time(21, 0), time(22, 0), True,
                   frozenset(), ("games.com",))  # fmt: skip
    p = profile(schedule=(first, BEDTIME))
    decision = decide(Facts(("games.com",), "/"), p, LISTS, MONDAY_2130)
    assert blocking_window(decision, p, MONDAY_2130) == BEDTIME
    # A window name the page has no words for is shown as the parent wrote it.
    custom = replace(BEDTIME, name="screen_free")
    p = profile(schedule=(custom,))
    assert reason_text(decision, profile=p, now=MONDAY_2130).startswith("Screen free: ")


def test_without_the_profile_the_quiet_time_page_is_still_whole_sentences() -> None:
    words = reason_text(d("schedule", "x.com", "education"))
    assert words == "It is quiet time now. The internet will be back when it ends."


def test_times_up_names_the_category_in_words_and_the_reset_time() -> None:
    words = reason_text(d("limits", "x.com", "games", page="times_up"))
    assert words == (
        "You have used all of today's time for games. New time starts at midnight (00:00)."
    )
    page = text_of(render(d("limits", "x.com", "games", page="times_up")))
    assert page.startswith("Time's up for today")


def test_categories_are_joined_in_words() -> None:
    words = reason_text(d("block.categories", "x.com", "gambling", "adult"))
    assert words == "Sites with grown-up content and gambling are closed on this device."
    three = reason_text(d("block.categories", "x.com", "games", "chat", "proxy_bypass", "doh"))
    assert three == "Sites with ways around the filter, games and chat are closed on this device."
    assert "ve ví" not in reason_text(d("block.categories", "x.com", "games", "video"), "vi")
    assert reason_text(d("block.categories", "x.com", "games", "video"), "ar").startswith(
        "مواقع الألعاب والفيديو"  # Arabic's "and" joins the next word
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_stopped_search_talks_about_the_search_not_the_site(language: str) -> None:
    from vaccine.proxy.pages.language import locale

    s = locale(language)
    page = render(d("search_terms", "www.google.com", "adult", page="search"), language=language)
    words = text_of(page)
    assert "www.google.com" not in page
    assert s["site"] + ":" not in words
    assert words.startswith(s["pages"]["search_heading"])
    assert s["pages"]["block_heading"] not in words
    hurt = render(d("search_terms", "www.google.com", "self_harm", page="search"),
                  language=language, help_line="116 111")  # fmt: skip
    assert text_of(hurt).startswith(s["pages"]["search_self_harm_heading"])
    assert s["reasons"]["search_self_harm"] in text_of(hurt) and "116 111" in hurt
    assert s["why"] not in text_of(hurt) and s["why"] in words
    assert "<form" not in hurt  # a search is never "asked for"


def test_the_footer_is_true_and_no_page_ends_oddly() -> None:
    for language in LANGUAGES:
        page = render(d("search_terms", "www.google.com", "adult", page="search"),
                      language=language)  # fmt: skip
        assert "does not see what you type" not in page
        footer = re.search(r"<footer>(.*)</footer>", page)
        assert footer is not None and footer.group(1).rstrip().endswith((".", "。"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_kind_has_its_own_heading_in_every_language(language: str) -> None:
    p = profile(schedule=(BEDTIME,))
    pages = {
        "block": render(d("block.domains", "x.com"), language=language),
        "schedule": render(d("schedule", "games.com", page="schedule"), language=language,
                           profile=p, now=MONDAY_2130),
        "times_up": render(d("limits", "x.com", "games", page="times_up"), language=language),
        "search": render(d("search_terms", "www.google.com", "adult", page="search"),
                         language=language),
    }  # fmt: skip
    headings = {k: re.search(r"<h1>(.*)</h1>", v).group(1) for k, v in pages.items()}  # type: ignore[union-attr]
    assert len(set(headings.values())) == 4, headings
    assert "07:00" in pages["schedule"] and "00:00" in pages["times_up"]
    for page in pages.values():
        assert "{" not in text_of(page)  # every field filled in


def test_arabic_pages_are_right_to_left_with_names_and_times_kept_left_to_right() -> None:
    p = profile(schedule=(BEDTIME,))
    page = render(d("schedule", "games.com", page="schedule"), language="ar", profile=p,
                  now=MONDAY_2130, help_line="Childline 0800 1111")  # fmt: skip
    assert '<html lang="ar" dir="rtl">' in page
    assert '<bdi dir="ltr" class="site">games.com</bdi>' in page
    assert '<bdi dir="ltr">07:00</bdi>' in page
    assert "<bdi>وقت النوم</bdi>" in page
    assert '<bdi>Childline <bdi dir="ltr">0800 1111</bdi></bdi>' in page
    assert '"Noto Sans Arabic"' in page
    # Mirrored by logical properties only: nothing in the style is pinned to left or right.
    assert not re.search(r"\b(left|right)\b", page.split("</style>")[0])
    en = render(d("block.domains", "x.com"))
    assert '<html lang="en" dir="ltr">' in en


@pytest.mark.parametrize(
    ("line", "markup"),
    [
        ("116 111", '<bdi><bdi dir="ltr">116 111</bdi></bdi>'),
        ("خط مساعدة الطفل 116 111", '<bdi>خط مساعدة الطفل <bdi dir="ltr">116 111</bdi></bdi>'),
        ("+48 800-12-12-12 (x)", '<bdi><bdi dir="ltr">+48 800-12-12-12</bdi> (x)</bdi>'),
        ("Childline", "<bdi>Childline</bdi>"),
    ],
)
def test_the_numbers_of_a_help_line_always_read_left_to_right(line: str, markup: str) -> None:
    assert isolate_line(line) == markup


def test_a_language_falls_back_to_english_string_by_string() -> None:
    assert set(LANGUAGES) <= set(available_languages())
    pl = render(d("ip_literal"), language="pl")
    assert 'lang="pl"' in pl and "Ta strona" in pl
    assert "This address is a number" in render(d("ip_literal"), language="xx")


def test_the_help_sentence_ends_like_a_sentence() -> None:
    words = text_of(render(d("block.domains", "x.com"), help_line="Childline 0800 1111"))
    assert "or call Childline 0800 1111." in words
    words = text_of(render(d("block.domains", "x.com"), help_line="116 111 (free, 24 h)."))
    assert words.count("(free, 24 h).") == 1 and "24 h).." not in words
