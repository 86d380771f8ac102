import pytest

from vaccine.proxy.decision import Decision
from vaccine.proxy.pages.blockpage import available_languages, reason_text, render


def d(rule: str, host: str = "www.example.co.uk", *cats: str) -> Decision:
    return Decision("block", rule, f"{rule}: detail", host, frozenset(cats))


def test_names_the_host_never_the_detail_and_escapes() -> None:
    page = render(d("block.domains", "bad.example.co.uk"), help_line="Call <b>116 111</b>")
    assert "bad.example.co.uk" in page
    assert "detail" not in page  # the rule's own words are for parents, not the page
    assert "&lt;b&gt;116 111&lt;/b&gt;" in page


@pytest.mark.parametrize(
    ("decision", "words"),
    [
        (d("block.categories", "x.com", "adult", "gambling"), "grown-up content, gambling"),
        (d("limits", "x.com", "games"), "resets at midnight"),
        (d("schedule", "x.com"), "quiet time"),
        (d("search_terms", "www.google.com", "adult"), "This search was stopped"),
        (d("search_terms", "www.google.com", "self_harm"), "you are not alone"),
        (d("error", ""), "blocked to be safe"),
    ],
)
def test_reasons_in_a_childs_words(decision: Decision, words: str) -> None:
    assert words in reason_text(decision)


def test_a_language_falls_back_to_english_string_by_string() -> None:
    assert {"en", "pl"} <= set(available_languages())
    pl = render(d("ip_literal"), language="pl")
    assert 'lang="pl"' in pl and "Ta strona" in pl
    assert "This address is not a site name" in render(d("ip_literal"), language="xx")
