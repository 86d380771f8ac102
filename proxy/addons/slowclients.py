"""What one client may cost in time: a request's head (or a TLS ClientHello) must arrive
within `vaccine_header_timeout` seconds, and a keep-alive connection may idle between
requests for `vaccine_idle_timeout`. Otherwise mitmproxy keeps a connection as long as a
byte trickles in every ten minutes (`tcp_timeout`), and a few hundred half-sent requests
hold the gateway's memory and sockets for good.

Connections passed through untouched, allowed raw tunnels and WebSockets are relayed for as
long as they live; a request in progress (its body, its response) is never cut.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from mitmproxy import connection, ctx, http, tls
from mitmproxy.proxy import layer
from mitmproxy.proxy.layers import TCPLayer, UDPLayer


class SlowClients:
    def __init__(self, clock: Callable[[], float] = time.monotonic, tick: float = 0.5) -> None:
        self.clock = clock
        self.tick = tick
        self.deadlines: dict[str, float] = {}  # client id → when it must have said something
        self.inflight: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        #: (header, idle) timeouts; mitmproxy's options deep-copy their default on each read
        self._timeouts: tuple[int, int] | None = None

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option(
            "vaccine_header_timeout", int, 10,
            "Seconds a client may take to send a request's head or a TLS ClientHello.",
        )  # fmt: skip
        loader.add_option(
            "vaccine_idle_timeout", int, 60,
            "Seconds a keep-alive connection may stay idle between requests.",
        )  # fmt: skip

    def configure(self, updated: set[str]) -> None:
        self._timeouts = None  # read again on next use

    def _header_timeout(self) -> int:
        return (self._timeouts or self._read_timeouts())[0]

    def _idle_timeout(self) -> int:
        return (self._timeouts or self._read_timeouts())[1]

    def _read_timeouts(self) -> tuple[int, int]:
        opts = ctx.options
        self._timeouts = (opts.vaccine_header_timeout, opts.vaccine_idle_timeout)
        return self._timeouts

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="vaccine-slow")

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # -- the waits -------------------------------------------------------------------------

    def _wait(self, client_id: str, seconds: int) -> None:
        if seconds > 0:
            self.deadlines[client_id] = self.clock() + seconds
        else:
            self.deadlines.pop(client_id, None)

    def _forget(self, client_id: str) -> None:
        self.deadlines.pop(client_id, None)

    def client_connected(self, client: connection.Client) -> None:
        self._wait(client.id, self._header_timeout())

    def http_connect(self, flow: http.HTTPFlow) -> None:
        # The tunnel is open (or refused and closing): its ClientHello or request comes next.
        self._wait(flow.client_conn.id, self._header_timeout())

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        if data.ignore_connection:  # passed through: relayed as long as it lives
            self._forget(data.context.client.id)
        else:
            self._wait(data.context.client.id, self._header_timeout())

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        if isinstance(nextlayer.layer, TCPLayer | UDPLayer):  # an allowed raw relay
            self._forget(nextlayer.context.client.id)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        cid = flow.client_conn.id
        self.inflight[cid] = self.inflight.get(cid, 0) + 1
        self._forget(cid)

    def response(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def _finished(self, flow: http.HTTPFlow) -> None:
        cid = flow.client_conn.id
        left = self.inflight.get(cid, 1) - 1
        if left > 0:
            self.inflight[cid] = left
            return
        self.inflight.pop(cid, None)
        if flow.websocket is None:
            self._wait(cid, self._idle_timeout())

    def websocket_start(self, flow: http.HTTPFlow) -> None:
        self._forget(flow.client_conn.id)

    def client_disconnected(self, client: connection.Client) -> None:
        self._forget(client.id)
        self.inflight.pop(client.id, None)

    # -- closing ---------------------------------------------------------------------------

    def _live(self) -> dict[str, object]:
        ps = ctx.master.addons.get("proxyserver")
        return ps.connections if ps is not None else {}

    def expired(self) -> list[str]:
        now = self.clock()
        return [cid for cid, deadline in self.deadlines.items() if deadline <= now]

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            live = self._live()
            for cid in self.expired():
                self._forget(cid)
                handler = live.get(cid)
                if handler is not None:  # mitmproxy's own inactivity close, sooner
                    await handler.on_timeout()  # type: ignore[attr-defined]
