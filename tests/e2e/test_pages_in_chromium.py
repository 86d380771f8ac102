"""Every page a child sees, in every language, in a real browser at phone and desktop widths.

Headless Chromium (Debian's package) loads each page as the proxy renders it and checks what a
reader would notice: the direction and language the page declares and the browser applies
(Arabic reads from the right: the heading starts at the right edge), nothing wider than a
phone's screen, every character drawn by a font the page names (no missing-glyph boxes, no
stand-in font), every field filled in. The screenshots are kept in the test's folder to be
looked at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time
from pathlib import Path

import pytest

from vaccine.proxy.decision import Decision
from vaccine.proxy.pages import blockpage
from vaccine.proxy.pages.language import FONTS, locale
from vaccine.proxy.policy.model import Profile, Window

from .browser import Browser, find_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed"),
]

LANGUAGES = ("en", "pl", "vi", "ar")
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
BEDTIME_NOW = datetime(2026, 11, 23, 21, 30)  # a Monday
BEDTIME = Window("bedtime", frozenset({6, 0, 1, 2, 3}), time(20, 30), time(7, 0), True,
                 frozenset())  # fmt: skip
HELP = {
    "en": "Childline 0800 1111",
    "pl": "116 111",
    "vi": "111 (Tổng đài quốc gia bảo vệ trẻ em)",
    "ar": "خط مساعدة الطفل 116 111",  # a name in Arabic, then the number
}


def pages(language: str) -> dict[str, str]:
    help_line = HELP[language]
    kw = {"language": language, "help_line": help_line}
    bedtime = Profile(id="emma", name="Emma", source=Path("emma.yaml"), schedule=(BEDTIME,))
    ask = locale(language)["ask"]

    def blocked(rule: str, host: str, page: str, *cats: str) -> Decision:
        return Decision("block", rule, "", host, frozenset(cats), True, "page", page)  # type: ignore[arg-type]

    return {
        "block": blockpage.render(
            blocked("block.categories", "www.casino-royale.example", "block", "gambling"), **kw
        ),
        "schedule": blockpage.render(
            blocked("schedule", "games.example", "schedule"),
            profile=bedtime,
            now=BEDTIME_NOW,
            **kw,
        ),  # fmt: skip
        "times_up": blockpage.render(blocked("limits", "games.example", "times_up", "games"), **kw),
        "search": blockpage.render(
            blocked("search_terms", "www.google.com", "search", "adult"), **kw
        ),
        "search_self_harm": blockpage.render(
            blocked("search_terms", "www.google.com", "search", "self_harm"), **kw
        ),
        "ask_sent": blockpage.render_notice(
            ask["sent_heading"],
            ask["sent"],
            site="games.example",
            language=language,
            help_line=help_line,
        ),  # fmt: skip
    }


ALL = [(lang, kind) for lang in LANGUAGES for kind in pages("en")]

CHECK = """(() => {
  // "116 111" must read left to right in every language: its first digit drawn left of its
  // last (an Arabic line would otherwise show "111 116").
  function reversedNumbers() {
    const found = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      for (const m of node.data.matchAll(/\\d[\\d .:-]*\\d/g)) {
        const at = (i) => { const r = document.createRange(); r.setStart(node, i);
                            r.setEnd(node, i + 1); return r.getBoundingClientRect(); };
        const first = at(m.index), last = at(m.index + m[0].length - 1);
        if (Math.abs(first.top - last.top) < 2 && first.left > last.left) found.push(m[0]);
      }
    }
    return found;
  }
  const html = document.documentElement, main = document.querySelector('main');
  const h1 = document.querySelector('h1'), range = document.createRange();
  range.selectNodeContents(h1);
  const text = range.getBoundingClientRect(), box = main.getBoundingClientRect();
  const pad = parseFloat(getComputedStyle(main).paddingInlineStart);
  return {
    dir: html.dir, lang: html.lang, direction: getComputedStyle(main).direction,
    overflow: html.scrollWidth - window.innerWidth,
    headingFromLeft: Math.round(text.left - box.left - pad),
    headingFromRight: Math.round(box.right - pad - text.right),
    unfilled: document.body.innerText.includes('{'),
    reversedNumbers: reversedNumbers(),
  };
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    chromium = find_chromium()
    assert chromium is not None
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("page-screenshots")


def allowed_fonts(direction: str) -> set[str]:
    return {f.strip().strip('"') for f in FONTS[direction].split(",") if '"' in f}


@pytest.mark.parametrize(("language", "kind"), ALL, ids=[f"{lang}-{k}" for lang, k in ALL])
def test_the_page_reads_right_in_a_real_browser(
    browser: Browser, shots: Path, language: str, kind: str
) -> None:
    source = shots / f"{language}-{kind}.html"
    source.write_text(pages(language)[kind], encoding="utf-8")
    rtl = language == "ar"
    for size, (width, height) in SIZES.items():
        browser.open(source.as_uri(), width, height)
        found = browser.evaluate(CHECK)
        browser.screenshot(shots / f"{language}-{kind}-{size}.png")
        where = f"{language} {kind} at {size} width: {json.dumps(found)}"
        assert (found["dir"], found["lang"]) == ("rtl" if rtl else "ltr", language), where
        assert found["direction"] == ("rtl" if rtl else "ltr"), where
        assert found["overflow"] <= 0, where  # nothing to scroll sideways
        # The heading's first line starts at the reading edge: the right one in Arabic.
        start = found["headingFromRight"] if rtl else found["headingFromLeft"]
        assert abs(start) <= 2, where
        assert not found["unfilled"], where
        assert found["reversedNumbers"] == [], where
    used = browser.fonts_of("h1, p, label, button, footer, .help")
    assert used and used <= allowed_fonts("rtl" if rtl else "ltr"), (language, kind, used)
