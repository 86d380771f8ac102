"""The block page's "Ask a parent" form, answered by the proxy on the blocked host itself.

Only records a request (through `AskDesk`): nothing a child's device sends can approve
anything. The form is never forwarded anywhere, whatever the rules said of the host.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine

from mitmproxy import http

from vaccine.proxy.addons.decision import TAG, page_response
from vaccine.proxy.addons.shared import Shared, Verdict
from vaccine.proxy.askparent import AskDesk
from vaccine.proxy.hosts import BadHost, normalise_host

log = logging.getLogger("vaccine.ask")


def same_origin(req: http.Request) -> bool:
    """Was the form posted from a page of the same site? A browser says so with
    `Sec-Fetch-Site`, and for every POST with `Origin`; either one naming another site (or
    `null`: a sandboxed frame, a redirect) refuses. Neither: a client that is not a browser."""
    if req.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = req.headers.get("origin")
    if origin is None:
        return True
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in ("http", "https"):
        return False
    try:
        return normalise_host(rest) == normalise_host(req.pretty_host)
    except BadHost:
        return False


class AskParent:
    def __init__(self, shared: Shared, desk: AskDesk | None) -> None:
        self.shared = shared
        self.desk = desk

    def request(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        # On every request: a sync hook, and a coroutine (awaited by mitmproxy) only for the
        # form's own requests.
        if flow.response or flow.error or not flow.live:
            return None
        verdict = flow.metadata.get(TAG)
        if not isinstance(verdict, Verdict) or verdict.decision.treatment != "ask":
            return None
        return self._respond(flow, verdict)

    async def _respond(self, flow: http.HTTPFlow, verdict: Verdict) -> None:
        try:
            flow.response = await self._answer(flow, verdict)
        except Exception:
            log.exception("error while answering the ask-a-parent form")
            flow.response = http.Response.make(
                500, b"The request could not be sent.\n", {"content-type": "text/plain"}
            )

    async def _answer(self, flow: http.HTTPFlow, verdict: Verdict) -> http.Response:
        req = flow.request
        headers = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
        # The form is served on the blocked site itself; another site posting here would be
        # asking in the child's name.
        if not same_origin(req):
            return http.Response.make(403, b"Requests come from the block page only.\n")
        if self.desk is None:
            return page_response(self.shared, verdict.decision, verdict.profile)
        settings = self.shared.household.policies.settings
        status, page = await self.desk.handle(
            method=req.method,
            body=req.get_content(strict=False) or b"",
            content_type=req.headers.get("content-type", ""),
            profile=verdict.profile,
            decision=verdict.decision,
            now=self.shared.clock(),
            language=settings.language,
            help_line=settings.help_line_in(settings.language),
        )
        if status == 405:
            headers["allow"] = "POST"
        return http.Response.make(status, page.encode("utf-8"), headers)
