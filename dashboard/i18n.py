"""The dashboard's words, per language (`language:` in settings.yaml); English first.

One YAML file per language in `locales/` (English the reference; a test holds every other
to its keys and {fields}). A missing word falls back to English, a missing language to
English as a whole. Labels are written to avoid plural forms ("Blocked: 7"), so a language
needs no plural rules here. Pure data and string formatting: no Textual, so the summaries
can use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any

import yaml


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


class Labels:
    """The words of one language; `labels("card.blocked")`, with `{name}` fields filled in."""

    def __init__(self, language: str = "en") -> None:
        self.language = language if language in LANGUAGES else "en"
        self._table = LANGUAGES[self.language]

    def __call__(self, key: str, **fields: object) -> str:
        text = self._table.get(key)
        if text is None:
            text = EN.get(key, key)
        return text.format(**fields) if fields else text

    def category(self, name: str) -> str:
        """A category as a parent reads it; "" is uncategorised."""
        return self(f"category.{name}") if f"category.{name}" in EN else name

    def weekday(self, day: date) -> str:
        return self("weekday").split()[day.weekday()]

    def day(self, day: date) -> str:
        """`Sun 08`: short enough for a chart's axis."""
        return f"{self.weekday(day)} {day.day:02d}"

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
