"""The mitmproxy addon: adapts connections and flows to `decide`, and acts on the decision.

Where it acts:
- `http_connect` (regular mode): checks an optional proxy login, decides on the CONNECT target;
  refuses the tunnel when the host is blocked and the device cannot be shown a page.
- `next_layer`: sees the TLS ClientHello before anything is decrypted; closes the connection
  when the SNI (or, in transparent modes, the address) is blocked and cannot be intercepted.
- `tls_clienthello`: passes every allowed connection the decision does not need to see inside
  through untouched (`inspect: needed`).
- `requestheaders`: decides each HTTP request (plain, intercepted HTTPS, HTTP/2 streams and
  WebSocket upgrades) on every form of its host, and answers a block with the block page.

mitmproxy only logs exceptions raised in hooks and lets the traffic through, so every hook
catches its own errors and blocks (fail closed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mitmproxy import connection, ctx, http, tls
from mitmproxy.proxy import commands, events, layer, mode_specs
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers import ClientTLSLayer
from mitmproxy.proxy.layers.tls import parse_client_hello

from vaccine.proxy.addons.activity import OpenConnections
from vaccine.proxy.askparent import ASK_PATH, AskDesk
from vaccine.proxy.decision import NO_USAGE, Decision, Facts, Usage, decide
from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.household import Household
from vaccine.proxy.pages import blockpage
from vaccine.proxy.policy.htpasswd import parse_proxy_authorization
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.search.engines import engine_of, extract_query
from vaccine.proxy.search.safesearch import apply_rewrite, safe_search_rewrite
from vaccine.proxy.store.errors import LogMissing
from vaccine.proxy.store.records import Record, record_for
from vaccine.proxy.store.requests import approvals_in_force

log = logging.getLogger("vaccine")

ERROR_DECISION = Decision("block", "error", "internal error (blocked to be safe)")

#: Modes in which the proxy's idea of the server address is the name the client asked for.
#: In the others (transparent, WireGuard, local) it is only the destination IP.
_ASKED_BY_NAME = (mode_specs.RegularMode, mode_specs.UpstreamMode, mode_specs.Socks5Mode)


class Journal(Protocol):
    """What the addon needs of the decision log (proxy.store.LogWriter): never blocks."""

    retention_days: int | None  # follows settings.yaml across reloads

    def submit(self, record: Record) -> None: ...
    def minutes_today(self, profile: str) -> dict[str, int]: ...


@dataclass
class ConnState:
    """What one client connection told us before its requests: its login and CONNECT target."""

    user: str | None = None
    connect_host: str | None = None


class _Refuse(layer.Layer):
    """A layer that closes the client connection at once (a blocked SNI we may not intercept)."""

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        yield commands.CloseConnection(self.context.client)


class Vaccine:
    def __init__(
        self,
        household: Household,
        clock: Callable[[], datetime] = datetime.now,
        journal: Journal | None = None,
        desk: AskDesk | None = None,
    ) -> None:
        self.household = household  # replaced whole by `swap`, never mutated
        self.clock = clock
        self.journal = journal
        self.desk = desk
        #: profile → domain → until (None: always): parents' approvals, swapped whole by the
        #: poller so an approval made with `vaccine requests` or the dashboard applies at once
        self.approvals: dict[str, dict[str, datetime | None]] = {}
        self.conns: dict[str, ConnState] = {}
        self.passthrough = OpenConnections(
            lambda profile, decision: self._record(profile, decision, "passed-through", 0)
        )
        self._tasks: list[asyncio.Task[None]] = []

    def swap(self, household: Household) -> None:
        self.household = household

    # -- who is asking -------------------------------------------------------------------

    def profile_for(self, client: connection.Client) -> Profile:
        h = self.household
        state = self.conns.get(client.id)
        mode = client.proxy_mode
        identity = h.identifier.identify(
            user=state.user if state else None,
            peer=client.peername[0] if client.peername else "",
            listen_port=mode.listen_port(ctx.options.listen_port),
            mode_spec=mode.full_spec,
        )
        return h.policies.profiles[identity.profile_id]

    async def _login(self, flow: http.HTTPFlow) -> bool:
        """Check optional proxy credentials. False (and a 407 set) when they are wrong."""
        value = flow.request.headers.get("proxy-authorization")
        if value is None:
            return True
        del flow.request.headers["proxy-authorization"]  # never forwarded upstream
        logins = self.household.logins
        try:
            user, password = parse_proxy_authorization(value)
            ok = logins is not None and await logins.averify(user, password)
        except ValueError:
            ok = False
        if not ok:
            flow.response = http.Response.make(
                407,
                b"Proxy login required: the user name or password is wrong.\n",
                {
                    "proxy-authenticate": 'Basic realm="Digital Vaccine"',
                    "content-type": "text/plain; charset=utf-8",
                },
            )
            flow.metadata["vaccine_login"] = "failed"
            return False
        self.conns.setdefault(flow.client_conn.id, ConnState()).user = user
        return True

    # -- deciding --------------------------------------------------------------------------

    def _decide(
        self,
        profile: Profile,
        hosts: tuple[str | None, ...],
        path: str | None,
        search: str | None = None,
    ) -> Decision:
        facts = Facts(tuple(h for h in hosts if h), path, search)
        usage = NO_USAGE
        approvals = self.approvals.get(profile.id)
        if approvals or (profile.limits and self.journal is not None):
            minutes = self.journal.minutes_today(profile.id) if self.journal else {}
            usage = Usage(approvals=approvals or {}, minutes_today=minutes)
        h = self.household
        return decide(facts, profile, h.lists, self.clock(), usage, h.terms)

    def _can_intercept(self, profile: Profile, decision: Decision) -> bool:
        if not profile.ca_installed:
            return False
        return not (decision.categories & self.household.policies.settings.never_decrypt)

    def _is_onboarding(self, host: str | None) -> bool:
        if not host or not ctx.options.onboarding:
            return False
        try:
            return normalise_host(host) == ctx.options.onboarding_host
        except BadHost:
            return False

    def _only_onboarding(self, hosts: tuple[str | None, ...]) -> bool:
        """Every name in the handshake is the onboarding host (naming it next to another
        host, e.g. CONNECT mitm.it with a blocked SNI, exempts nothing)."""
        named = [h for h in hosts if h]
        return bool(named) and all(self._is_onboarding(h) for h in named)

    def _record(self, profile: Profile, decision: Decision, outcome: str, counted: int = 1) -> None:
        if self.journal is None:
            return
        record = record_for(profile, decision, outcome, self.clock(), counted=counted)
        if record is not None:
            self.journal.submit(record)

    # -- time online for connections we do not see inside ----------------------------------

    def running(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._tick_forever()))
        if self.desk is not None:
            self._tasks.append(loop.create_task(self._poll_approvals()))

    def done(self) -> None:
        for task in self._tasks:
            task.cancel()
        self.passthrough.clear(self.clock())

    async def _poll_approvals(self, interval: float = 1.0) -> None:
        assert self.desk is not None
        failed = False
        while True:
            try:
                self.approvals = await asyncio.to_thread(
                    approvals_in_force, self.desk.db_path, self.clock()
                )
                failed = False
            except LogMissing:  # nothing written yet, so nothing approved yet
                self.approvals = {}
            except Exception as e:  # keep the last approvals; say so once
                if not failed:
                    log.warning(
                        "cannot read parents' approvals from the log (%s)", type(e).__name__
                    )
                failed = True
            await asyncio.sleep(interval)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(15)
            self.passthrough.tick(self.clock())

    def _block_response(self, decision: Decision) -> http.Response:
        settings = self.household.policies.settings
        body = blockpage.render(decision, language=settings.language, help_line=settings.help_line)
        return http.Response.make(
            403,
            body.encode("utf-8"),
            {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"},
        )

    # -- hooks -----------------------------------------------------------------------------

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        try:
            if not await self._login(flow):
                return
            host = flow.request.host
            self.conns.setdefault(flow.client_conn.id, ConnState()).connect_host = host
            if self._is_onboarding(host):
                return
            profile = self.profile_for(flow.client_conn)
            decision = self._decide(profile, (host,), None)
            if decision.blocked and not self._can_intercept(profile, decision):
                self._record(profile, decision, "blocked")
                flow.response = http.Response.make(
                    403,
                    b"Blocked by Digital Vaccine.\n",
                    {"content-type": "text/plain; charset=utf-8"},
                )
        except Exception:
            log.exception("error while checking a CONNECT; refusing it")
            flow.response = http.Response.make(403, b"Blocked (internal error).\n")

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        # Only a layer stack about to handle a client's TLS handshake concerns us.
        if not _handles_client_tls(nextlayer.layer):
            return
        try:
            client = nextlayer.context.client
            try:
                hello = parse_client_hello(nextlayer.data_client())
            except ValueError:
                hello = None
            sni = hello.sni if hello else None
            hosts = self._tls_hosts(nextlayer.context, sni)
            if self._only_onboarding(hosts):
                return
            profile = self.profile_for(client)
            decision = self._decide(profile, hosts, None)
            if decision.blocked and not self._can_intercept(profile, decision):
                self._record(profile, decision, "blocked")
                nextlayer.layer = _Refuse(nextlayer.context)
        except Exception:
            log.exception("error while checking a TLS handshake; closing it")
            nextlayer.layer = _Refuse(nextlayer.context)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        try:
            client = data.context.client
            hosts = self._tls_hosts(data.context, data.client_hello.sni)
            if self._only_onboarding(hosts):
                return  # intercepted, so mitmproxy's onboarding app can answer inside
            profile = self.profile_for(client)
            decision = self._decide(profile, hosts, None)
            if decision.blocked:
                # next_layer closes what may not be intercepted; should it ever not have,
                # intercepting (a certificate error) is still safer than passing through.
                return
            if decision.inspect and self._can_intercept(profile, decision):
                return  # decrypt: a path or query decides, or the profile asks for everything
            data.ignore_connection = True
            self._record(profile, decision, "passed-through")
            self.passthrough.opened(client.id, profile, decision, self.clock())
        except Exception:
            # Intercepting is the safe side: the HTTP hook then decides each request, and a
            # device without the CA sees a certificate error instead of the site.
            log.exception("error while checking a TLS ClientHello; intercepting")

    def _tls_hosts(self, context: Context, sni: str | None) -> tuple[str | None, ...]:
        client, server = context.client, context.server
        state = self.conns.get(client.id)
        hosts: list[str | None] = [sni]
        if state and state.connect_host:
            hosts.append(state.connect_host)
        elif server.address and (isinstance(client.proxy_mode, _ASKED_BY_NAME) or not sni):
            # Transparent modes: the address is a name the client asked for only when there
            # is nothing better; without SNI, the address is all we know (and is blocked).
            hosts.append(server.address[0])
        return tuple(hosts)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        try:
            if not await self._login(flow):
                return
            req = flow.request
            # Exactly the test mitmproxy's onboarding app uses to answer the request itself;
            # any other spelling (`MITM.IT.`) would reach the upstream, so it is decided.
            if ctx.options.onboarding and req.pretty_host == ctx.options.onboarding_host:
                return
            profile = self.profile_for(flow.client_conn)
            decision = self._decide_request(flow, profile, None)
            flow.metadata["vaccine"] = (profile, decision)
            if req.path.split("?", 1)[0] == ASK_PATH:
                flow.metadata["vaccine_ask"] = True  # answered in `request`, never forwarded
                return
            if decision.blocked:
                self._block(flow, profile, decision)
        except Exception:
            log.exception("error while checking a request; blocking it")
            flow.response = self._block_response(ERROR_DECISION)

    async def request(self, flow: http.HTTPFlow) -> None:
        """The body is here: searches sent in it are checked, and safe search is forced."""
        if flow.response or flow.error or not flow.live:
            return
        decided = flow.metadata.get("vaccine")
        if decided is None:
            return  # the onboarding app answers it
        try:
            profile, decision = decided
            req = flow.request
            if flow.metadata.get("vaccine_ask"):
                flow.response = await self._ask(flow, profile, decision)
                return
            if profile.search_terms and req.method == "POST" and req.raw_content:
                decision = self._decide_request(flow, profile, req.get_content(strict=False))
                if decision.blocked:
                    self._block(flow, profile, decision)
                    return
            outcome = "allowed"
            if decision.rule == "safe_search":
                engine = engine_of(decision.host)
                if engine is not None:
                    rewrite = safe_search_rewrite(engine, req.method, req.path, req.headers)
                    if apply_rewrite(req, rewrite):
                        outcome = "rewritten"
            self._record(profile, decision, outcome)
        except Exception:
            log.exception("error while checking a request; blocking it")
            flow.response = self._block_response(ERROR_DECISION)

    async def _ask(
        self, flow: http.HTTPFlow, profile: Profile, decision: Decision
    ) -> http.Response:
        """The block page's "Ask a parent" form. Only records a request: nothing a child's
        device sends can approve anything."""
        req = flow.request
        headers = {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
        # The form is served on the blocked site itself; another site posting here would be
        # asking in the child's name.
        if req.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return http.Response.make(403, b"Requests come from the block page only.\n")
        if self.desk is None:
            return self._block_response(decision)
        settings = self.household.policies.settings
        status, page = await self.desk.handle(
            method=req.method,
            body=req.get_content(strict=False) or b"",
            content_type=req.headers.get("content-type", ""),
            profile=profile,
            decision=decision,
            now=self.clock(),
            language=settings.language,
            help_line=settings.help_line,
        )
        if status == 405:
            headers["allow"] = "POST"
        return http.Response.make(status, page.encode("utf-8"), headers)

    def _decide_request(
        self, flow: http.HTTPFlow, profile: Profile, body: bytes | None
    ) -> Decision:
        req = flow.request
        state = self.conns.get(flow.client_conn.id)
        hosts = (
            req.host,
            req.host_header,
            flow.client_conn.sni,
            state.connect_host if state else None,
        )
        search = None
        if profile.search_terms:
            engine = engine_of(req.host) or engine_of(req.host_header or "")
            if engine is not None:
                ctype = req.headers.get("content-type", "")
                search = extract_query(engine, req.path, body, ctype)
        return self._decide(profile, hosts, req.path, search)

    def _block(self, flow: http.HTTPFlow, profile: Profile, decision: Decision) -> None:
        flow.response = self._block_response(decision)
        self._record(profile, decision, "blocked")

    def client_disconnected(self, client: connection.Client) -> None:
        self.conns.pop(client.id, None)
        self.passthrough.closed(client.id, self.clock())


def _handles_client_tls(lay: layer.Layer | None) -> bool:
    """Is this layer (or the layer it stacks on, e.g. ServerTLS → ClientTLS) a client TLS one?"""
    for _ in range(3):
        if lay is None:
            return False
        if isinstance(lay, ClientTLSLayer):
            return True
        lay = getattr(lay, "child_layer", None)
    return False
