"""The block page: child-friendly HTML in the configured language.

It names the site (the registrable domain, never the URL: a path or query can carry a search
term or a name), says why in a child's words, and shows the help line.
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template
from typing import Any

import yaml

from .decision import Decision
from .hosts import registrable_domain

DEFAULT_LANGUAGE = "en"


@functools.cache
def _locale(language: str) -> dict[str, Any]:
    base = _read_locale(DEFAULT_LANGUAGE) or {}
    if language == DEFAULT_LANGUAGE:
        return base
    strings = _read_locale(language) or {}
    merged = {**base, **strings}
    for nested in ("reasons", "categories"):  # a missing translation falls back to English
        merged[nested] = {**base.get(nested, {}), **strings.get(nested, {})}
    return merged


def _read_locale(language: str) -> dict[str, Any] | None:
    if not language.replace("_", "").replace("-", "").isalnum():
        return None
    path = resources.files("proxy") / "locales" / f"{language}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def available_languages() -> list[str]:
    folder = resources.files("proxy") / "locales"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@functools.cache
def _template() -> Template:
    return Template((resources.files("proxy") / "templates" / "block.html").read_text("utf-8"))


def reason_text(decision: Decision, language: str = DEFAULT_LANGUAGE) -> str:
    s = _locale(language)
    reason = s["reasons"].get(decision.rule) or s["reasons"]["default"]
    if decision.rule in ("block.categories", "schedule", "limits") and decision.categories:
        names = ", ".join(s["categories"].get(c, c) for c in sorted(decision.categories))
        reason = f"{reason.rstrip('.')}: {names}."
    return str(reason)


def render(decision: Decision, *, language: str = DEFAULT_LANGUAGE, help_line: str = "") -> str:
    s = _locale(language)
    site = registrable_domain(decision.host) if decision.host else ""
    help_html = ""
    if help_line:
        help_html = (
            f'<div class="help"><strong>{html.escape(s["help_heading"])}</strong> '
            f"{html.escape(s['help_text'])} {html.escape(help_line)}</div>"
        )
    return _template().substitute(
        lang=html.escape(s.get("lang", language)),
        title=html.escape(s["title"]),
        heading=html.escape(s["heading"]),
        site_label=html.escape(s["site"]),
        site=html.escape(site),
        why=html.escape(s["why"]),
        reason=html.escape(reason_text(decision, language)),
        help=help_html,
        footer=html.escape(s["footer"]),
    )
