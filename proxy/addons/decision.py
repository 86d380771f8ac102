"""The policy decision, carried out: each CONNECT, TLS ClientHello and HTTP request is turned
into `Facts`, decided by the pure `decide` (through `Shared.decide`), tagged, and its
`treatment` done — nothing here chooses what happens, it only does it.

- `http_connect` (regular mode): `refuse` answers the CONNECT 403; `tunnel` lets it open.
- `next_layer`: sees the first bytes of every connection before anything is decrypted or
  relayed. A ClientHello is decided on its SNI (one present but unusable is a bad host, never
  "no SNI") and the CONNECT target or address; bytes that are neither TLS nor HTTP are a
  `tunnel`, refused unless the profile allows tunnels to an allowed host. `refuse` closes it.
- `next_layer`, for an allowed ClientHello that needs no look inside: a bare TCP relay in
  place of the TLS layers, as mitmproxy relays an ignored host.
- `tls_clienthello` (what `next_layer` left to it): `pass_through` relays the connection
  untouched; `intercept` decrypts.
- `requestheaders` / `request`: `page` answers 403 with the page, `rewrite` forces safe
  search, `forward` sends it on; the body of a POST search is decided again once it is here.

The verdict goes on `flow.metadata[TAG]` (the ask form reads it) and, once final, on
`flow.metadata[TO_LOG]` or the connection's `pending` list, where the decision log takes it.

mitmproxy only logs exceptions raised in hooks and lets the traffic through, so every hook
catches its own errors and blocks (fail closed).
"""

from __future__ import annotations

import logging

from mitmproxy import http, tls
from mitmproxy.net.tls import starts_like_tls_record
from mitmproxy.proxy import commands, events, layer, mode_specs
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers import ClientTLSLayer, ServerTLSLayer, TCPLayer, UDPLayer
from mitmproxy.proxy.layers.tls import parse_client_hello

from vaccine.proxy.addons.shared import Shared, Verdict
from vaccine.proxy.decision import Decision, Facts, fail_closed
from vaccine.proxy.pages import blockpage
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.search.engines import engine_of, extract_query
from vaccine.proxy.search.safesearch import apply_rewrite, safe_search_rewrite

log = logging.getLogger("vaccine")

#: flow.metadata keys: the verdict of the request, and the same once it is final and unlogged
TAG = "vaccine"
TO_LOG = "vaccine_log"

#: Modes in which the proxy's idea of the server address is the name the client asked for.
#: In the others (transparent, WireGuard, local) it is only the destination IP.
_ASKED_BY_NAME = (mode_specs.RegularMode, mode_specs.UpstreamMode, mode_specs.Socks5Mode)


class _Refuse(layer.Layer):
    """A layer that closes the client connection at once (a blocked SNI we may not intercept)."""

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        yield commands.CloseConnection(self.context.client)


def page_response(
    shared: Shared, decision: Decision, profile: Profile | None = None
) -> http.Response:
    """The page for a blocked request; with the profile, the quiet-time page names its window
    and when it ends."""
    settings = shared.household.policies.settings
    language = settings.language
    line = settings.help_line_in(language)
    # A hashed list of known abuse matched: the page offers the national reporting line.
    if decision.rule == "known_abuse" and settings.reporting_line:
        line = settings.reporting_line
    body = blockpage.render(
        decision, language=language, help_line=line, profile=profile, now=shared.clock()
    )
    return http.Response.make(
        403,
        body.encode("utf-8"),
        {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"},
    )


class PolicyDecision:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def configure(self, updated: set[str]) -> None:
        self.shared.configure(updated)

    # -- connections -----------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        try:
            host = flow.request.host
            state = self.shared.conn(flow.client_conn)
            state.connect_host = host
            profile = self.shared.profile_for(flow.client_conn)
            decision = self.shared.decide(profile, Facts((host,), stage="connect"))
            flow.metadata[TAG] = Verdict(profile, decision)
            if decision.treatment == "refuse":
                state.pending.append(Verdict(profile, decision, "blocked"))
                flow.response = http.Response.make(
                    403,
                    b"Blocked by Digital Vaccine.\n",
                    {"content-type": "text/plain; charset=utf-8"},
                )
        except Exception:
            log.exception("error while checking a CONNECT; refusing it")
            flow.response = http.Response.make(403, b"Blocked (internal error).\n")

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        # mitmproxy's own NextLayer ran first and chose a layer from the same bytes; what it
        # chose for TLS, and what it would relay raw, is decided here before it runs.
        chosen = nextlayer.layer
        client_tls = _handles_client_tls(chosen)
        if not client_tls and not isinstance(chosen, TCPLayer | UDPLayer):
            return
        try:
            data = nextlayer.data_client()
            if client_tls or starts_like_tls_record(data):
                try:
                    hello = parse_client_hello(data)
                except ValueError:  # not a ClientHello anyone can read: no name to decide
                    hello, bad = None, True
                else:
                    if hello is None:  # the ClientHello is still arriving: decide when whole
                        nextlayer.layer = None
                        return
                    bad = _unusable_sni(hello)
                verdict = self._handshake(nextlayer.context, hello.sni if hello else None, bad)
                # A relayed TLS connection (ignore_hosts) cannot be decrypted to show a page.
                refuse = verdict.decision.treatment == "refuse" or (
                    not client_tls and verdict.decision.treatment != "pass_through"
                )
            else:
                verdict = self._tunnel(nextlayer.context)
                refuse = verdict.decision.treatment == "refuse"
            if refuse:
                self.shared.conn(nextlayer.context.client).pending.append(
                    Verdict(verdict.profile, verdict.decision, "blocked")
                )
                nextlayer.layer = _Refuse(nextlayer.context)
            elif verdict.decision.treatment == "pass_through" and _relay(nextlayer, chosen):
                self.shared.conn(nextlayer.context.client).pending.append(
                    Verdict(verdict.profile, verdict.decision, "passed-through")
                )
        except Exception:
            log.exception("error while checking a connection's first bytes; closing it")
            nextlayer.layer = _Refuse(nextlayer.context)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        try:
            hello = data.client_hello
            verdict = self._handshake(data.context, hello.sni, _unusable_sni(hello))
            # `refuse` was carried out in next_layer; should it ever not have been,
            # intercepting (a certificate error) is still safer than passing through.
            if verdict.decision.treatment == "pass_through":
                data.ignore_connection = True
                self.shared.conn(data.context.client).pending.append(
                    Verdict(verdict.profile, verdict.decision, "passed-through")
                )
        except Exception:
            # Intercepting is the safe side: the HTTP hooks then decide each request, and a
            # device without the CA sees a certificate error instead of the site.
            log.exception("error while checking a TLS ClientHello; intercepting")

    def _handshake(self, context: Context, sni: str | None, bad_sni: bool = False) -> Verdict:
        profile = self.shared.profile_for(context.client)
        facts = Facts(self._tls_hosts(context, sni), stage="handshake", bad_sni=bad_sni)
        return Verdict(profile, self.shared.decide(profile, facts))

    def _tunnel(self, context: Context) -> Verdict:
        """Neither TLS nor HTTP: decided on the CONNECT target, else the address."""
        profile = self.shared.profile_for(context.client)
        facts = Facts(self._tls_hosts(context, None), stage="tunnel")
        return Verdict(profile, self.shared.decide(profile, facts))

    def _tls_hosts(self, context: Context, sni: str | None) -> tuple[str, ...]:
        client, server = context.client, context.server
        state = self.shared.conns.get(client.id)
        hosts: list[str | None] = [sni]
        if state and state.connect_host:
            hosts.append(state.connect_host)
        elif server.address and (isinstance(client.proxy_mode, _ASKED_BY_NAME) or not sni):
            # Transparent modes: the address is a name the client asked for only when there
            # is nothing better; without SNI, the address is all we know (and is blocked).
            hosts.append(server.address[0])
        return tuple(h for h in hosts if h)

    # -- requests --------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        try:
            profile = self.shared.profile_for(flow.client_conn)
            decision = self._decide_request(flow, profile, None)
            flow.metadata[TAG] = Verdict(profile, decision)
            if decision.treatment == "page":
                self._page(flow, profile, decision)
        except Exception:
            log.exception("error while checking a request; blocking it")
            flow.response = page_response(self.shared, fail_closed("request"))

    def request(self, flow: http.HTTPFlow) -> None:
        """The body is here: searches sent in it are checked, and safe search is forced."""
        if flow.response or flow.error or not flow.live:
            return
        verdict = flow.metadata.get(TAG)
        if not isinstance(verdict, Verdict):
            return
        try:
            profile, decision = verdict.profile, verdict.decision
            if decision.treatment in ("ask", "onboarding"):
                return  # answered by the ask form / mitmproxy's set-up app
            req = flow.request
            if profile.search_terms and req.method == "POST" and req.raw_content:
                decision = self._decide_request(flow, profile, req.get_content(strict=False))
                flow.metadata[TAG] = Verdict(profile, decision)
                if decision.treatment == "page":
                    self._page(flow, profile, decision)
                    return
            outcome = "allowed"
            if decision.treatment == "rewrite":
                engine = engine_of(decision.host)
                if engine is not None:
                    rewrite = safe_search_rewrite(engine, req.method, req.path, req.headers)
                    if apply_rewrite(req, rewrite):
                        outcome = "rewritten"
            flow.metadata[TO_LOG] = Verdict(profile, decision, outcome)
        except Exception:
            log.exception("error while checking a request; blocking it")
            flow.response = page_response(self.shared, fail_closed("request"))

    def _decide_request(
        self, flow: http.HTTPFlow, profile: Profile, body: bytes | None
    ) -> Decision:
        req = flow.request
        state = self.shared.conns.get(flow.client_conn.id)
        host: str | None = req.host
        host_header = req.host_header  # a property that looks the header up: read once
        server = flow.server_conn.address
        if (
            not isinstance(flow.client_conn.proxy_mode, _ASKED_BY_NAME)
            and host_header
            and server is not None
            and host == server[0]
        ):
            # Transparent modes: the request's host is only the address the device connected
            # to; the names it asked for are the Host header and the SNI, as for a handshake.
            host = None
        raw = (
            host,
            host_header,
            flow.client_conn.sni,
            state.connect_host if state else None,
        )
        hosts = tuple(h for h in raw if h)
        search = None
        if profile.search_terms:
            engine = engine_of(req.host) or engine_of(host_header or "")
            if engine is not None:
                ctype = req.headers.get("content-type", "")
                search = extract_query(engine, req.path, body, ctype)
        app_host = pretty_host(req, host_header)
        facts = Facts(hosts, req.path, search, stage="request", app_host=app_host)
        return self.shared.decide(profile, facts)

    def _page(self, flow: http.HTTPFlow, profile: Profile, decision: Decision) -> None:
        flow.response = page_response(self.shared, decision, profile)
        flow.metadata[TO_LOG] = Verdict(profile, decision, "blocked")


def pretty_host(req: http.Request, host_header: str | None) -> str:
    """`req.pretty_host`, without parsing a Host header that is the request's host itself
    (the usual case; parsing it checks the name again: ~10 µs a request). Such a header is
    its own pretty host whether or not it is a valid name; a bracketed one is parsed."""
    if host_header is not None and host_header == req.host and not host_header.startswith("["):
        return host_header
    return req.pretty_host


def _unusable_sni(hello: tls.ClientHello) -> bool:
    """A server name extension is there, but mitmproxy found no usable name in it (two names,
    another name type, a name it rejects), or there are several: never "no SNI"."""
    named = sum(1 for kind, _ in hello.extensions if kind == 0)
    return named > 1 or (named == 1 and hello.sni is None)


def _relay(nextlayer: layer.NextLayer, chosen: layer.Layer | None) -> bool:
    """Pass an allowed TLS connection through as mitmproxy relays an ignored host: a bare TCP
    relay in place of the TLS layers its NextLayer chose. Left to `tls_clienthello`'s
    `ignore_connection`, the TLS layers stay in the stack with stand-in connections and every
    chunk of the connection's life goes through them (measured: passed-through HTTPS at
    0.8-0.9x mitmdump's ignore_hosts relay). Only the plain case is taken over (the first TLS
    of a TCP connection, as chosen by mitmproxy, not yet started); anything else is left to
    `tls_clienthello`. True when the relay is set."""
    ctx = nextlayer.context
    if ctx.client.transport_protocol != "tcp":
        return False
    if isinstance(chosen, ServerTLSLayer) and isinstance(chosen.child_layer, ClientTLSLayer):
        tls_layers: tuple[layer.Layer, ...] = (chosen, chosen.child_layer)
    elif isinstance(chosen, ClientTLSLayer):
        tls_layers = (chosen,)
    else:
        return False
    # TLS inside TLS (an HTTPS proxy's CONNECT): the outer layer keeps its own state.
    if any(isinstance(x, ClientTLSLayer) for x in ctx.layers if x not in tls_layers):
        return False
    # The TLS layers' constructors put themselves on the stack and marked both connections as
    # TLS; they never ran, so undoing that leaves what mitmproxy's own relay starts from.
    for x in tls_layers:
        if x in ctx.layers:
            ctx.layers.remove(x)
    ctx.client.tls = False
    ctx.server.tls = False
    nextlayer.layer = TCPLayer(ctx, ignore=not ctx.options.show_ignored_hosts)
    return True


def _handles_client_tls(lay: layer.Layer | None) -> bool:
    """Is this layer (or the layer it stacks on, e.g. ServerTLS → ClientTLS) a client TLS one?"""
    for _ in range(3):
        if lay is None:
            return False
        if isinstance(lay, ClientTLSLayer):
            return True
        lay = getattr(lay, "child_layer", None)
    return False
