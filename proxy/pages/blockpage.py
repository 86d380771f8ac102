"""The block page: child-friendly HTML in the configured language.

It names the host the child asked for (never the URL: a path or query can carry a search
term or a name), says why in a child's words, shows the help line and, when a parent could
say yes, the "Ask a parent" form. The pages answering that form (`render_notice`) share its
look.

The form posts to `ASK_PATH` on the very host the page was served for (a relative action), so
it works for whatever site was blocked; the proxy answers that path itself (proxy.askparent).
"""

from __future__ import annotations

import functools
import html
from importlib import resources
from string import Template
from typing import Any

import yaml

from vaccine.proxy.decision import Decision
from vaccine.proxy.paths import ASK_PATH

DEFAULT_LANGUAGE = "en"

#: Decisions a parent can sensibly approve for a site. Not an error or a malformed host (there
#: is no site to name), not an IP literal (a parent cannot tell what it is), not a blocked
#: search (the request names only the engine, and approving it would lift the search filter).
ASKABLE_RULES = frozenset({"block.domains", "block.categories", "schedule", "limits"})
MAX_MESSAGE = 200


@functools.cache
def _locale(language: str) -> dict[str, Any]:
    base = _read_locale(DEFAULT_LANGUAGE) or {}
    if language == DEFAULT_LANGUAGE:
        return base
    strings = _read_locale(language) or {}
    merged = {**base, **strings}
    for nested in ("reasons", "categories", "ask"):  # a missing translation falls back to English
        merged[nested] = {**base.get(nested, {}), **strings.get(nested, {})}
    return merged


def _read_locale(language: str) -> dict[str, Any] | None:
    if not language.replace("_", "").replace("-", "").isalnum():
        return None
    path = resources.files("vaccine.proxy.pages") / "locales" / f"{language}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def available_languages() -> list[str]:
    folder = resources.files("vaccine.proxy.pages") / "locales"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


@functools.cache
def _template() -> Template:
    return Template(
        (resources.files("vaccine.proxy.pages") / "templates" / "block.html").read_text("utf-8")
    )


def reason_text(decision: Decision, language: str = DEFAULT_LANGUAGE) -> str:
    s = _locale(language)
    reason = s["reasons"].get(decision.rule) or s["reasons"]["default"]
    if decision.rule == "search_terms" and "self_harm" in decision.categories:
        # A child searching this may be in pain: no telling-off, an open door instead.
        reason = s["reasons"].get("search_self_harm") or reason
    elif decision.rule in ("block.categories", "schedule", "limits") and decision.categories:
        names = ", ".join(s["categories"].get(c, c) for c in sorted(decision.categories))
        reason = f"{reason.rstrip('.')}: {names}."
    return str(reason)


def askable(decision: Decision) -> bool:
    """Does the block page offer "Ask a parent" for this decision?"""
    return decision.blocked and decision.rule in ASKABLE_RULES and bool(decision.host)


def render(
    decision: Decision,
    *,
    language: str = DEFAULT_LANGUAGE,
    help_line: str = "",
    ask: bool = True,
) -> str:
    """The block page; with the "Ask a parent" form when `ask` and the decision is askable."""
    s = _locale(language)
    # The host the child asked for (the page is on the child's own screen): naming only the
    # registrable domain would say "forum.test is blocked" when only bad.forum.test is.
    site = decision.host
    form = _ask_form(s) if ask and askable(decision) else ""
    return _page(
        s,
        language,
        title=s["title"],
        heading=s["heading"],
        site=site,
        text=reason_text(decision, language),
        why=s["why"],
        form=form,
        help_line=help_line,
    )


def render_notice(
    heading: str,
    text: str,
    *,
    site: str = "",
    language: str = DEFAULT_LANGUAGE,
    help_line: str = "",
) -> str:
    """A page in the block page's look: a heading, the site (when known) and a few words."""
    s = _locale(language)
    return _page(
        s, language, title=heading, heading=heading, site=site, text=text, help_line=help_line
    )


def strings(language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The locale's strings (English where a translation lacks one)."""
    return _locale(language)


def _ask_form(s: dict[str, Any]) -> str:
    """No script: a plain form posting to the blocked host's reserved path."""
    a = {k: html.escape(str(v)) for k, v in s["ask"].items()}
    return f"""<form class="ask" method="post" action="{ASK_PATH}">
    <h2>{a["heading"]}</h2>
    <p>{a["intro"]}</p>
    <label for="message">{a["label"]}</label>
    <textarea id="message" name="message" maxlength="{MAX_MESSAGE}" rows="3"
              placeholder="{a["placeholder"]}"></textarea>
    <p class="note">{a["note"]}</p>
    <button type="submit">{a["button"]}</button>
  </form>"""


def _page(
    s: dict[str, Any],
    language: str,
    *,
    title: str,
    heading: str,
    site: str,
    text: str,
    why: str = "",
    form: str = "",
    help_line: str = "",
) -> str:
    help_html = ""
    if help_line:
        help_html = (
            f'<div class="help"><strong>{html.escape(s["help_heading"])}</strong> '
            f"{html.escape(s['help_text'])} {html.escape(help_line)}</div>"
        )
    site_html = ""
    if site:
        site_html = (
            f'<p>{html.escape(s["site"])}: <span class="site">{html.escape(site)}</span></p>'
        )
    why_html = f"<strong>{html.escape(why)}</strong> " if why else ""
    return _template().substitute(
        lang=html.escape(s.get("lang", language)),
        title=html.escape(title),
        heading=html.escape(heading),
        site=site_html,
        reason=f"<p>{why_html}{html.escape(text)}</p>",
        ask=form,
        help=help_html,
        footer=html.escape(s["footer"]),
    )
