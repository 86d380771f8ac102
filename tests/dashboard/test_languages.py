"""Every screen of the dashboard, in every language: it opens, and speaks that language."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from vaccine.dashboard.i18n import LANGUAGES, Labels

from .conftest import MakeApp
from .test_app import settle

#: One walk through every screen (keys pressed, then a word that screen shows).
WALK = [
    ((), "card.online"),  # overview
    (("enter",), "child.policy"),  # a child's page
    (("2",), "requests.title"),
    (("down", "a"), "approve.for15"),  # the approve dialog
    (("escape", "3"), "alerts.title"),
    (("4",), "live.title"),
]


def screen_text(svg: str) -> str:
    """The characters on the terminal, row after row, from Textual's SVG screenshot."""
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(texts)).replace("\xa0", " ")


@pytest.mark.parametrize("language", sorted(LANGUAGES))
async def test_every_screen_speaks_the_language(
    seeded: Path, make_app: MakeApp, language: str
) -> None:
    app = make_app(seeded, language=language)
    labels, english = Labels(language), Labels("en")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        for keys, word in WALK:
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            text = screen_text(app.export_screenshot())
            assert labels(word) in text, word
            assert labels("nav.requests") in text  # the navigation bar, on every screen
            if language != "en":
                assert english(word) not in text, word
