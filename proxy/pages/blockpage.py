"""The pages a child sees: child-friendly HTML in the configured language.

A blocked request is answered with one of four pages (`Decision.page`): `block` (a site or a
kind of site the family closed), `schedule` (a quiet-time window: which one and when it
ends), `times_up` (a daily limit: which kind of site and when new time starts) and `search`
(a search that was stopped: about the search, not the search engine). Each names the host the
child asked for (never the URL: a path or query can carry a search term or a name), except
the search page; says why in whole sentences; shows the help line and, when a parent could say
yes, the "Ask a parent" form. The pages answering that form (`render_notice`) share the look.

The form posts to `ASK_PATH` on the very host the page was served for (a relative action), so
it works for whatever site was blocked; the proxy answers that path itself (proxy.askparent).
"""

from __future__ import annotations

import functools
import html
from datetime import datetime
from importlib import resources
from string import Template
from typing import Any

from vaccine.proxy.decision import Decision, window_active
from vaccine.proxy.hosts import suffixes
from vaccine.proxy.pages.language import (
    DEFAULT_LANGUAGE,
    FONTS,
    available_languages,
    direction,
    fill,
    isolate,
    isolate_line,
    join,
    locale,
)
from vaccine.proxy.paths import ASK_PATH
from vaccine.proxy.policy.model import CATEGORIES, Profile, Window

__all__ = ["available_languages", "render", "render_notice", "strings", "reason_text"]

#: Decisions a parent can sensibly approve for a site. Not an error or a malformed host (there
#: is no site to name), not an IP literal (a parent cannot tell what it is), not a blocked
#: search (the request names only the engine, and approving it would lift the search filter).
ASKABLE_RULES = frozenset({"block.domains", "block.categories", "schedule", "limits"})
MAX_MESSAGE = 200


@functools.cache
def _template() -> Template:
    return Template(
        (resources.files("vaccine.proxy.pages") / "templates" / "block.html").read_text("utf-8")
    )


def strings(language: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The locale's strings (English where a translation lacks one)."""
    return locale(language)


def blocking_window(
    decision: Decision, profile: Profile | None, now: datetime | None
) -> Window | None:
    """The schedule window that made a `schedule` decision: the first active one that blocks
    this host, as the decision's rule 2 walks them."""
    if profile is None or now is None or decision.rule != "schedule":
        return None
    host = decision.host
    for window in profile.schedule:
        if not window_active(window, now):
            continue
        if host and any(s in window.allow for s in suffixes(host)):
            continue
        if window.block_everything or decision.categories & window.categories:
            return window
    return None


def _category_words(s: dict[str, Any], categories: frozenset[str]) -> str:
    order = {c: i for i, c in enumerate(CATEGORIES)}
    names = [s["categories"].get(c, c) for c in sorted(categories, key=lambda c: order.get(c, 99))]
    return join(s, list(dict.fromkeys(names)))  # proxy_bypass and doh share their words


def _window_name(s: dict[str, Any], window: Window) -> str:
    words = s.get("windows", {})
    return str(words.get(window.name) or window.name.replace("_", " ").capitalize())


def _reason(
    decision: Decision, s: dict[str, Any], profile: Profile | None, now: datetime | None
) -> tuple[str, dict[str, str]]:
    """The sentence template for this decision and its field values (plain text)."""
    reasons = s["reasons"]
    rule = decision.rule
    cats = _category_words(s, decision.categories) if decision.categories else ""
    if rule == "search_terms":
        key = "search_self_harm" if "self_harm" in decision.categories else "search_terms"
        return reasons[key], {}
    if rule == "schedule":
        window = blocking_window(decision, profile, now)
        if window is None:
            return reasons["schedule"], {}
        values = {"window": _window_name(s, window), "end": f"{window.end:%H:%M}"}
        if window.block_everything:
            return reasons["schedule_everything"], values
        return reasons["schedule_categories"], {**values, "categories": cats}
    if rule in ("limits", "block.categories") and cats:
        return reasons[rule], {"categories": cats}
    if rule in ("limits", "block.categories"):
        return reasons["default"], {}
    return reasons.get(rule) or reasons["default"], {}


def reason_text(
    decision: Decision,
    language: str = DEFAULT_LANGUAGE,
    *,
    profile: Profile | None = None,
    now: datetime | None = None,
) -> str:
    """Why, in a child's words, as plain text."""
    text, values = _reason(decision, locale(language), profile, now)
    return fill(text, values)


def _reason_html(
    decision: Decision, s: dict[str, Any], profile: Profile | None, now: datetime | None
) -> str:
    text, values = _reason(decision, s, profile, now)
    markup = {}
    if "end" in values:
        markup["end"] = isolate(values["end"], ltr=True)
    if "window" in values:
        markup["window"] = isolate(values["window"])  # a parent's own name, any script
    return fill(text, values, markup)


def askable(decision: Decision) -> bool:
    """Does the block page offer "Ask a parent" for this decision?"""
    return decision.blocked and decision.rule in ASKABLE_RULES and bool(decision.host)


def render(
    decision: Decision,
    *,
    language: str = DEFAULT_LANGUAGE,
    help_line: str = "",
    ask: bool = True,
    profile: Profile | None = None,
    now: datetime | None = None,
) -> str:
    """The page for a blocked request; with the "Ask a parent" form when `ask` and the
    decision is askable. `profile` and `now` say which schedule window is in force, and when
    it ends (without them the quiet-time page cannot say when)."""
    s = locale(language)
    kind = decision.page or "block"
    heading_key: str = kind
    if kind == "search" and "self_harm" in decision.categories:
        heading_key = "search_self_harm"
    pages = s["pages"]
    # The host the child asked for (the page is on the child's own screen): naming only the
    # registrable domain would say "forum.test is blocked" when only bad.forum.test is. A
    # stopped search names no site: it is the search that was stopped, not the engine.
    site = "" if kind == "search" else decision.host
    form = _ask_form(s) if ask and askable(decision) else ""
    return _page(
        s,
        language,
        title=pages.get(f"{kind}_title") or pages["block_title"],
        heading=pages.get(f"{heading_key}_heading") or pages["block_heading"],
        site=site,
        reason=_reason_html(decision, s, profile, now),
        # A child who searched for hurting themselves is not asked "Why?": they are talked to.
        why="" if heading_key == "search_self_harm" else s["why"],
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
    s = locale(language)
    return _page(
        s,
        language,
        title=heading,
        heading=heading,
        site=site,
        reason=html.escape(text),
        help_line=help_line,
    )


def _ask_form(s: dict[str, Any]) -> str:
    """No script: a plain form posting to the blocked host's reserved path."""
    a = {k: html.escape(str(v)) for k, v in s["ask"].items()}
    return f"""<form class="ask" method="post" action="{ASK_PATH}">
    <h2>{a["heading"]}</h2>
    <p>{a["intro"]}</p>
    <label for="message">{a["label"]}</label>
    <textarea id="message" name="message" maxlength="{MAX_MESSAGE}" rows="3" dir="auto"
              placeholder="{a["placeholder"]}"></textarea>
    <p class="note">{a["note"]}</p>
    <button type="submit">{a["button"]}</button>
  </form>"""


def _full_stop(line: str) -> str:
    """The help sentence ends like a sentence, unless the household's line already does."""
    return "" if line.rstrip().endswith((".", "!", "?", "؟", "。")) else "."


def _page(
    s: dict[str, Any],
    language: str,
    *,
    title: str,
    heading: str,
    site: str,
    reason: str,
    why: str = "",
    form: str = "",
    help_line: str = "",
) -> str:
    help_html = ""
    if help_line:
        # The line is the household's (a number and a name, in any script): isolated, so a
        # Latin name or a number keeps its order inside an Arabic sentence.
        help_html = (
            f'<div class="help"><strong>{html.escape(s["help_heading"])}</strong> '
            f"{html.escape(s['help_text'])} {isolate_line(help_line)}{_full_stop(help_line)}</div>"
        )
    site_html = ""
    if site:
        name = f'<bdi dir="ltr" class="site">{html.escape(site)}</bdi>'
        site_html = f"<p>{html.escape(s['site'])}: {name}</p>"
    why_html = f"<strong>{html.escape(why)}</strong> " if why else ""
    dir_ = direction(s)
    return _template().substitute(
        lang=html.escape(s.get("lang", language)),
        dir=dir_,
        fonts=FONTS[dir_],
        title=html.escape(title),
        heading=html.escape(heading),
        site=site_html,
        reason=f"<p>{why_html}{reason}</p>",
        ask=form,
        help=help_html,
        footer=html.escape(s["footer"]),
    )
