"""A minimal HTTP/2 client (the `h2` library) over a TLS socket that negotiated `h2`.

Several requests go out at once, as concurrent streams of one connection: exactly what a
browser does, and what lets a stream name another host than the connection's SNI
(connection coalescing).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)

from .client import Response


@dataclass
class H2Request:
    authority: str
    path: str = "/"
    method: str = "GET"
    headers: Sequence[tuple[str, str]] = field(default_factory=tuple)


@dataclass
class H2Result:
    response: Response | None = None
    reset: int | None = None  # the error code when the stream was reset instead


def exchange(tls: ssl.SSLSocket, requests: Sequence[H2Request]) -> list[H2Result]:
    """Send every request as its own stream, concurrently; wait for each to end or reset."""
    assert tls.selected_alpn_protocol() == "h2", tls.selected_alpn_protocol()
    conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    streams: dict[int, int] = {}  # stream id → index in requests
    for i, req in enumerate(requests):
        sid = conn.get_next_available_stream_id()
        streams[sid] = i
        conn.send_headers(
            sid,
            [
                (":method", req.method),
                (":scheme", "https"),
                (":authority", req.authority),
                (":path", req.path),
                *req.headers,
            ],
            end_stream=True,
        )
    tls.sendall(conn.data_to_send())
    results = [H2Result() for _ in requests]
    heads: dict[int, dict[str, str]] = {}
    bodies: dict[int, bytes] = {sid: b"" for sid in streams}
    open_streams = set(streams)
    while open_streams:
        data = tls.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, ResponseReceived):
                heads[event.stream_id] = {str(k): str(v) for k, v in event.headers}
            elif isinstance(event, DataReceived):
                bodies[event.stream_id] += event.data
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                head = heads.get(event.stream_id, {})
                status = int(head.pop(":status", "0"))
                results[streams[event.stream_id]].response = Response(
                    status, "", head, bodies[event.stream_id]
                )
                open_streams.discard(event.stream_id)
            elif isinstance(event, StreamReset):
                results[streams[event.stream_id]].reset = int(event.error_code)
                open_streams.discard(event.stream_id)
            elif isinstance(event, ConnectionTerminated):
                open_streams.clear()
        tls.sendall(conn.data_to_send())
    conn.close_connection()
    with contextlib.suppress(OSError):  # the proxy may have gone already: results matter
        tls.sendall(conn.data_to_send())
    return results
