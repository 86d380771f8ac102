"""The pages' languages: one YAML file each in `locales/`, English the reference.

A language's file has English's keys (nested: `reasons.limits`, `ask.sent`); a key it lacks
falls back to English, string by string, so a half-done translation still shows whole pages.
Sentences carry `{fields}`; `fill` puts values in, escaped and isolated for right-to-left
text (a host name, a time, a phone number keep their own direction inside an Arabic line).
"""

from __future__ import annotations

import functools
import html
import re
import string
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

import yaml

DEFAULT_LANGUAGE = "en"

#: The page's font stack per writing direction. The child's browser draws the page with its
#: own fonts, and nothing is fetched from the network. The named ones are Debian's
#: fonts-noto-core and fonts-dejavu-core (and Android's and ChromeOS's Noto), which cover
#: Vietnamese's stacked diacritics and the Arabic script (tests/unit/pages/test_locales.py);
#: elsewhere the system's own interface font does (Segoe UI, San Francisco).
FONTS = {
    "ltr": '"Noto Sans", "DejaVu Sans", system-ui, sans-serif',
    "rtl": '"Noto Sans Arabic", "Noto Naskh Arabic", "Noto Sans", "DejaVu Sans", system-ui, '
    "sans-serif",
}

#: Keys that are not sentences (no fields to compare, not shown as text on their own).
META_KEYS = frozenset({"lang", "dir", "review"})


def _folder() -> Any:
    return resources.files("vaccine.proxy.pages") / "locales"


def available_languages() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml")
    )


def read_locale(language: str) -> dict[str, Any] | None:
    """One language's file as written (no fallback), or None when there is none."""
    if not language.replace("_", "").replace("-", "").isalnum():
        return None
    path = _folder() / f"{language}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


@functools.cache
def locale(language: str) -> dict[str, Any]:
    """The strings of `language`, English wherever it has none (an unknown language: English)."""
    base = read_locale(DEFAULT_LANGUAGE) or {}
    strings = read_locale(language) if language != DEFAULT_LANGUAGE else None
    return _merge(base, strings or {})


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def flatten(strings: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(`ask.sent`, text) for every leaf of a locale."""
    for key, value in strings.items():
        if isinstance(value, Mapping):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def direction(strings: Mapping[str, Any]) -> str:
    return "rtl" if strings.get("dir") == "rtl" else "ltr"


def join(strings: Mapping[str, Any], items: list[str]) -> str:
    """`games`, `games and videos`, `games, chat and videos`, in the language's words."""
    if len(items) <= 1:
        return "".join(items)
    return str(strings["list_separator"]).join(items[:-1]) + str(strings["and"]) + items[-1]


def isolate(value: str, *, ltr: bool = False) -> str:
    """`value` escaped inside `<bdi>`, so its direction does not disturb the sentence around
    it (`ltr`: always left to right, for host names, times and numbers)."""
    attr = ' dir="ltr"' if ltr else ""
    return f"<bdi{attr}>{html.escape(value)}</bdi>"


#: A phone number inside a help line: digits with spaces, dots or dashes between them.
_NUMBER = re.compile(r"\+?\d(?:[\d\s.\-]*\d)?")


def isolate_line(value: str) -> str:
    """A help line (a name and a number, in any script) as HTML: its numbers always left to
    right, or "116 111" would read "111 116" inside an Arabic sentence."""
    parts, last = [], 0
    for m in _NUMBER.finditer(value):
        parts.append(html.escape(value[last : m.start()]))
        parts.append(f'<bdi dir="ltr">{html.escape(m.group())}</bdi>')
        last = m.end()
    parts.append(html.escape(value[last:]))
    return f"<bdi>{''.join(parts)}</bdi>"


def fill(text: str, values: Mapping[str, str], markup: Mapping[str, str] | None = None) -> str:
    """`text` with its fields filled in: plain text when `markup` is None, else HTML with
    `markup`'s ready-made snippets for the fields (the rest escaped)."""
    if markup is None:
        return text.format_map(values)
    snippets = {k: markup.get(k, html.escape(v)) for k, v in values.items()}
    return html.escape(text, quote=False).format_map(snippets)
