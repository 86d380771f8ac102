"""The dashboard's words, per language (`language:` in settings.yaml); English first.

One YAML file per language in `locales/` (English the reference; a test holds every other
to its keys and {fields}). A missing word falls back to English, a missing language to
English as a whole. Labels are written to avoid plural forms ("Blocked: 7"), so a language
needs no plural rules here. Pure data and string formatting: no Textual, so the summaries
can use it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any

import yaml
from arabic_reshaper import reshape  # type: ignore[import-untyped]
from bidi.algorithm import get_display


def _read(language: str) -> dict[str, Any] | None:
    path = resources.files("vaccine.dashboard") / "locales" / f"{language}.yaml"
    if not path.is_file():
        return None
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    return data if isinstance(data, dict) else None


def _languages() -> dict[str, dict[str, Any]]:
    folder = resources.files("vaccine.dashboard") / "locales"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            data = _read(entry.name.removesuffix(".yaml"))
            if data is not None:
                found[entry.name.removesuffix(".yaml")] = data
    return found


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Every language's file as written: `lang`, `dir`, `review` and its `strings`.
LOCALES: Mapping[str, Mapping[str, Any]] = _languages()
LANGUAGES: Mapping[str, Mapping[str, str]] = {
    code: {str(k): str(v) for k, v in (data.get("strings") or {}).items()}
    for code, data in LOCALES.items()
}
EN: Mapping[str, str] = LANGUAGES["en"]


#: Set (to anything) when the terminal lays out right-to-left text itself (GNOME Terminal,
#: Konsole): the dashboard then passes Arabic in reading order instead of display order.
TERMINAL_BIDI_ENV = "VACCINE_TERMINAL_BIDI"


def display_order(text: str) -> str:
    """Right-to-left text as a terminal that knows nothing of it must draw it: letters joined
    (Arabic's contextual forms) and each line in display order, right to left, with the Latin
    names and numbers in it left to right and brackets mirrored. Textual and xterm.js (the web
    dashboard) draw cells left to right as given."""
    return "\n".join(get_display(reshape(line), base_dir="R") for line in text.split("\n"))


def _in_reading_order(value: str) -> bool:
    """Arabic letters in reading order (not yet joined: joined ones are presentation forms)."""
    return any("\u0600" <= ch <= "\u06ff" for ch in value)


def _right_to_left(value: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\ufb50" <= ch <= "\ufeff" for ch in value)


def format_in_display_order(template: str, fields: Mapping[str, object]) -> str:
    """`template` filled in and in display order. Each field is laid out as one piece, in the
    direction of its own text: a label already in display order (a category) is not turned
    round a second time, a name or a site stays left to right."""
    tokens: dict[str, str] = {}
    stand_ins: dict[str, str] = {}
    for i, (name, value) in enumerate(fields.items()):
        text = str(value)
        # A stand-in of the field's direction: a Hebrew letter (right to left) or a private-use
        # character (left to right); neither appears in the words.
        token = chr((0x05D0 if _right_to_left(text) else 0xE000) + i)
        tokens[token] = display_order(text) if _in_reading_order(text) else text
        stand_ins[name] = token
    shown = display_order(template.format(**stand_ins))
    for token, text in tokens.items():
        shown = shown.replace(token, text)
    return shown


class Labels:
    """The words of one language; `labels("card.blocked")`, with `{name}` fields filled in.

    For a right-to-left language every string comes out in display order (`display_order`),
    unless `visual` is False (or TERMINAL_BIDI_ENV is set)."""

    def __init__(self, language: str = "en", *, visual: bool | None = None) -> None:
        self.language = language if language in LANGUAGES else "en"
        self._table = LANGUAGES[self.language]
        self.rtl = LOCALES[self.language].get("dir") == "rtl"
        if visual is None:
            visual = not os.environ.get(TERMINAL_BIDI_ENV)
        self._visual = self.rtl and visual

    def _raw(self, key: str) -> str:
        text = self._table.get(key)
        return EN.get(key, key) if text is None else text

    def show(self, text: str) -> str:
        """`text` as the terminal must be given it (see `display_order`)."""
        return display_order(text) if self._visual and text else text

    def __call__(self, key: str, **fields: object) -> str:
        text = self._raw(key)
        if self._visual and text:
            return format_in_display_order(text, fields)
        return text.format(**fields) if fields else text

    def category(self, name: str) -> str:
        """A category as a parent reads it; "" is uncategorised."""
        return self(f"category.{name}") if f"category.{name}" in EN else name

    def weekday(self, day: date, *, short: bool = False) -> str:
        """`Mon`; `short`: as narrow as the language writes it (Arabic: one letter)."""
        names = self._raw("weekday_short" if short else "weekday").split()
        return self.show(names[day.weekday()])

    def day(self, day: date) -> str:
        """`Sun 08`: short enough for a chart's axis."""
        return self.show(f"{self._raw('weekday').split()[day.weekday()]} {day.day:02d}")

    def short(self, minutes: int) -> str:
        """`45m`, `1h30`, `2h`: for the cards' tight lines."""
        if minutes < 60:
            return f"{minutes}m"
        hours, rest = divmod(minutes, 60)
        return f"{hours}h" if rest == 0 else f"{hours}h{rest:02d}"

    def duration(self, minutes: int) -> str:
        """`45 min`, `2 h 05 min` (the SI symbols read the same in English and Polish)."""
        if minutes < 60:
            return f"{minutes} min"
        hours, rest = divmod(minutes, 60)
        return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d} min"
