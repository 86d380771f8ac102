"""The decision log, fed from the verdicts the policy decision tagged: one record per final
verdict (blocked, allowed, rewritten, passed-through), and the minutes a passed-through
connection stays open. Nothing here decides or blocks; submitting never waits (the log's
writer thread does the I/O).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from mitmproxy import connection, http, tls
from mitmproxy.proxy import layer

from vaccine.proxy.addons.activity import OpenConnections
from vaccine.proxy.addons.decision import TO_LOG
from vaccine.proxy.addons.shared import Shared, Verdict
from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store.records import Record, record_for


class Journal(Protocol):
    """What the addons need of the decision log (vaccine.proxy.store.LogWriter): never blocks."""

    retention_days: int | None  # follows settings.yaml across reloads

    def submit(self, record: Record) -> None: ...
    def minutes_today(self, profile: str) -> dict[str, int]: ...


class DecisionLog:
    def __init__(self, shared: Shared, journal: Journal | None, tick: float = 15.0) -> None:
        self.shared = shared
        self.journal = journal
        self.tick = tick
        self.passthrough = OpenConnections(
            lambda profile, decision: self._record(profile, decision, "passed-through", 0)
        )
        self._task: asyncio.Task[None] | None = None

    def running(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick(), name="vaccine-minutes")

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.passthrough.clear(self.shared.clock())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            self.passthrough.tick(self.shared.clock())

    def _record(self, profile: Profile, decision: Decision, outcome: str, counted: int = 1) -> None:
        if self.journal is None:
            return
        record = record_for(profile, decision, outcome, self.shared.clock(), counted=counted)
        if record is not None:
            self.journal.submit(record)

    def _take(self, verdict: Verdict, client_id: str) -> None:
        if verdict.outcome is None:
            return
        self._record(verdict.profile, verdict.decision, verdict.outcome)
        if verdict.outcome == "passed-through":
            self.passthrough.opened(
                client_id, verdict.profile, verdict.decision, self.shared.clock()
            )

    def _pending(self, client: connection.Client) -> None:
        state = self.shared.conns.get(client.id)
        while state is not None and state.pending:
            self._take(state.pending.pop(0), client.id)

    # Each hook runs after the policy decision's for the same event.

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._pending(flow.client_conn)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        self._pending(nextlayer.context.client)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        self._pending(data.context.client)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._flow(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        self._flow(flow)

    def _flow(self, flow: http.HTTPFlow) -> None:
        verdict = flow.metadata.pop(TO_LOG, None)
        if isinstance(verdict, Verdict):
            self._take(verdict, flow.client_conn.id)

    def client_disconnected(self, client: connection.Client) -> None:
        self._pending(client)
        self.shared.conns.pop(client.id, None)
        self.passthrough.closed(client.id, self.shared.clock())
