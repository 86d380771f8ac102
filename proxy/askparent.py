"""Ask a parent: the block page's form records a request; a parent answers it on the server.

Two halves, and only the first is reachable from a child's device:

- `AskDesk.handle` answers the form's POST to `ASK_PATH` on the blocked host. Only the child's
  optional message is read from what the device sent; the profile, the site and the category
  come from the proxy's own attribution and decision, and nothing in the body can set a
  status, an id or a time. The SQLite write runs in a worker thread; a database problem gives
  the child a kind page and never touches filtering.
- `approve_request` / `deny_request` are the parent's side, called by `vaccine requests` and
  the dashboard, never by the proxy: there is no approve endpoint at all.

An approval takes effect without a restart: the proxy polls `store.requests.approvals_in_force`
and hands it to the decision (rule 1). "always" also adds the site to the profile's
`allow.domains` in its YAML file (vaccine.proxy.policy.edit), which the proxy reloads by itself.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

from vaccine.proxy.decision import Decision
from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.hosts import registrable_domain
from vaccine.proxy.pages import blockpage
from vaccine.proxy.pages.blockpage import ASK_PATH, MAX_MESSAGE, askable
from vaccine.proxy.policy.edit import add_allowed_domain, with_allowed_domain
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.policy.model import CATEGORIES, Profile, Window
from vaccine.proxy.policy.windows import window_words, windows_blocking
from vaccine.proxy.store import requests as store
from vaccine.proxy.store.requests import AccessRequest, AddResult
from vaccine.proxy.util.words import format_minutes, parse_minutes

__all__ = [
    "ASK_PATH",
    "AskDesk",
    "Answer",
    "BadDuration",
    "Duration",
    "During",
    "ScheduleChoiceNeeded",
    "approve_request",
    "askable",
    "clean_message",
    "deny_request",
    "parse_duration",
    "read_form",
]

log = logging.getLogger("vaccine.ask")

#: A form with one short field never needs more; anything bigger is not our form.
MAX_BODY = 4096
FORM_TYPE = "application/x-www-form-urlencoded"
# Bidirectional controls could make a message read differently in the parent's terminal.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# -- the child's side ---------------------------------------------------------------------


def clean_message(text: str) -> str:
    """The message as stored: control and direction characters gone, whitespace collapsed,
    at most MAX_MESSAGE characters (the form's `maxlength` already keeps browsers under it)."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            kept.append(" ")  # a newline or tab separates words; an escape is dropped below
        elif category not in ("Cs", "Co", "Cn") and ch not in _BIDI:
            kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_MESSAGE].rstrip()


def read_form(body: bytes, content_type: str) -> str | None:
    """The cleaned `message` of the form, "" when absent; None when the body is not our form.

    Every other field is ignored: nothing else a device sends is trusted."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != FORM_TYPE or len(body) > MAX_BODY:
        return None
    try:
        # Browsers percent-encode everything else: a raw non-ASCII byte is not a form.
        fields = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=20,
        )
    except (UnicodeError, ValueError):
        return None
    messages = [value for name, value in fields if name == "message"]
    return clean_message(messages[0]) if messages else ""


def first_category(categories: frozenset[str]) -> str:
    """The category a request is filed under: the first in the product's order."""
    return next((c for c in CATEGORIES if c in categories), "")


class AskDesk:
    """Answers the block page's "Ask a parent" form (the proxy calls `handle`)."""

    def __init__(
        self,
        db_path: Path,
        *,
        per_hour: int = store.PER_HOUR,
        max_pending: int = store.MAX_PENDING,
        busy_timeout: float = 2.0,
    ) -> None:
        self.db_path = db_path  # may be reassigned when settings.yaml names another file
        self.per_hour = per_hour
        self.max_pending = max_pending
        self.busy_timeout = busy_timeout

    async def handle(
        self,
        *,
        method: str,
        body: bytes,
        content_type: str,
        profile: Profile,
        decision: Decision,
        now: datetime,
        language: str,
        help_line: str,
    ) -> tuple[int, str]:
        """(HTTP status, HTML page) for a request to ASK_PATH; never raises for bad input or
        a database problem."""
        site = registrable_domain(decision.host) if decision.host else ""

        def page(status: int, key: str) -> tuple[int, str]:
            text = blockpage.strings(language)["ask"]
            html = blockpage.render_notice(
                text[f"{key}_heading"],
                text[key],
                site=site,
                language=language,
                help_line=help_line,
            )
            return status, html

        if method.upper() != "POST":
            return page(405, "bad")
        if not decision.blocked:
            return page(200, "open")  # approved meanwhile, or the page was stale
        if not askable(decision):
            return page(403, "cannot")
        message = read_form(body, content_type)
        if message is None:
            return page(400, "bad")
        try:
            result = await asyncio.to_thread(
                self._add, profile.id, site, first_category(decision.categories), message, now
            )
        except Exception as e:  # locked, read-only, missing, corrupt: the child asks in person
            log.warning(
                "could not record an access request (%s: %s)", type(e).__name__, _first_line(e)
            )
            return page(503, "failed")
        if result.outcome == "duplicate":
            return page(200, "already")
        if result.outcome == "rate_limited":
            return page(429, "too_many")
        return page(200, "sent")

    def _add(
        self, profile: str, domain: str, category: str, message: str, now: datetime
    ) -> AddResult:
        return store.add_request(
            self.db_path,
            profile,
            domain,
            category,
            message,
            now,
            per_hour=self.per_hour,
            max_pending=self.max_pending,
            busy_timeout=self.busy_timeout,
        )


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else ""


# -- the parent's side --------------------------------------------------------------------


class BadDuration(VaccineError):
    """Not a duration an approval can have."""


@dataclass(frozen=True)
class Duration:
    """How long an approval lasts: some minutes, until midnight, or always."""

    kind: Literal["minutes", "today", "always"]
    minutes: int = 0

    def until(self, now: datetime) -> datetime | None:
        """When the approval ends (None: never). "today" ends at the next local midnight."""
        if self.kind == "always":
            return None
        if self.kind == "today":
            return datetime.combine(now.date() + timedelta(days=1), time(0, 0))
        return now + timedelta(minutes=self.minutes)

    def __str__(self) -> str:
        if self.kind != "minutes":
            return self.kind
        return format_minutes(self.minutes)


DEFAULT_DURATION = Duration("minutes", 60)


def parse_duration(text: str) -> Duration:
    """`15m`, `1h`, `1h30m` (up to a day), `today` or `always`; raises BadDuration."""
    word = text.strip().lower()
    if word in ("today", "always"):
        return Duration(word)  # type: ignore[arg-type]
    minutes = parse_minutes(word) or 0
    if not 0 < minutes <= 24 * 60:
        raise BadDuration(
            f"{text!r} is not a duration: use 15m, 1h, today or always (or e.g. 30m, 2h)"
        )
    return Duration("minutes", minutes)


#: What "always" means for the schedule windows that would still block the site: `allow`
#: (the site joins each window's own `allow`: open then too) or `block` (the windows still
#: apply: open the rest of the time).
During = Literal["allow", "block"]


class ScheduleChoiceNeeded(VaccineError):
    """ "Always" for a site some schedule window would still block, and the parent has not said
    whether the window is included; nothing was changed."""

    def __init__(self, message: str, windows: tuple[Window, ...]) -> None:
        super().__init__(message)
        self.windows = windows


@dataclass(frozen=True)
class Answer:
    request: AccessRequest
    until: datetime | None  # approved until (None: always, or denied)
    #: the profile file the site was added to ("always"); None when the file already had it
    edited: Path | None = None
    #: "always": the schedule windows that would block the site, and the parent's choice
    windows: tuple[Window, ...] = ()
    during: During | None = None


def approve_request(
    policies_dir: Path,
    db_path: Path,
    request_id: int,
    duration: Duration | str,
    now: datetime,
    *,
    during: During | None = None,
) -> Answer:
    """A parent approves a pending request, for a while or always. Raises VaccineError
    (unknown id, already answered, bad duration, a profile file that cannot take the site),
    and ScheduleChoiceNeeded for "always" when a schedule window would still block the site
    and `during` does not say whether it is included."""
    if isinstance(duration, str):
        duration = parse_duration(duration)
    request = store.get_request(db_path, request_id)
    if request.status != "pending":
        raise store.AlreadyAnswered(f"request #{request_id} was already {request.status}")
    edited: Path | None = None
    windows: tuple[Window, ...] = ()
    if duration.kind == "always":
        edited, windows = _allow_always(policies_dir, request, during)
    until = duration.until(now)
    row = store.answer(db_path, request_id, approve=True, until=until, now=now)
    return Answer(row, until, edited, windows, during if windows else None)


def deny_request(db_path: Path, request_id: int, now: datetime) -> Answer:
    row = store.answer(db_path, request_id, approve=False, until=None, now=now)
    return Answer(row, None)


def _allow_always(
    policies_dir: Path, request: AccessRequest, during: During | None
) -> tuple[Path | None, tuple[Window, ...]]:
    """Add the site to the profile's own `allow.domains`, and with `during="allow"` to the
    `allow` of each window that would still block it: (the file, or None if it had it all;
    those windows)."""
    try:
        policies = load_policies(policies_dir)
    except ProblemsError as e:
        raise VaccineError(
            f"the policies in {policies_dir} have problems, so nothing can be added to them "
            f"(run `vaccine check`; or approve for a time instead):\n{e}"
        ) from None
    profile = policies.profiles.get(request.profile)
    if profile is None:
        raise VaccineError(
            f"request #{request.id} is for profile {request.profile!r}, which no longer exists "
            f"in {policies_dir}"
        )
    if profile.domain_rules.rules.get(request.domain) == "block":
        raise VaccineError(
            f"{request.domain} is in block.domains of {profile.id!r} (or a profile it extends), "
            "and an allow entry for the same domain would tie, and a tie blocks: remove it "
            "from block.domains first, or approve it for a time instead"
        )
    windows = windows_blocking(profile, request.domain, {request.category})
    if windows and during is None:
        words = " and ".join(window_words(w) for w in windows)
        raise ScheduleChoiceNeeded(
            f"{request.domain} would still be blocked during {profile.name}'s {words}: say "
            "whether always includes that time, with --during-schedule allow (open then too) "
            "or --during-schedule block (blocked then, open the rest of the time)",
            windows,
        )
    if during == "allow":  # every edit is possible before the first is made
        text = profile.source.read_text(encoding="utf-8")
        for w in windows:
            with_allowed_domain(text, request.domain, w.allow, file=str(profile.source),
                                window=w.name)  # fmt: skip
    changed = add_allowed_domain(profile.source, request.domain, inherited=profile.allow_domains)
    if during == "allow":
        for w in windows:
            changed |= add_allowed_domain(
                profile.source, request.domain, inherited=w.allow, window=w.name
            )
    return (profile.source if changed else None), windows
