"""A minimal WebSocket client over a socket the test already holds (plain, or TLS in a tunnel).

The upgrade request is written by hand (so a proxy login or an odd Host can be sent) and the
answer read byte by byte; after a 101 the frames are wsproto's, the same library mitmproxy
uses on both sides of the WebSocket it relays.
"""

from __future__ import annotations

import base64
import os
import socket
import ssl
from collections.abc import Mapping

from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Message, TextMessage

from .client import Response, read_body, read_head
from .origins import ws_accept

Sock = socket.socket | ssl.SSLSocket


class WebSocket:
    """An open WebSocket: send text, receive whole text messages, close politely."""

    def __init__(self, sock: Sock, response: Response):
        self.sock = sock
        self.response = response  # the 101 answer (its headers say who answered)
        self.ws = Connection(ConnectionType.CLIENT)

    def send(self, text: str) -> None:
        self.sock.sendall(self.ws.send(TextMessage(data=text)))

    def receive(self) -> str:
        """The next whole text message; fails when the peer closes first."""
        parts: list[str] = []
        while True:
            for event in self.ws.events():
                if isinstance(event, Message):
                    parts.append(str(event.data))
                    if event.message_finished:
                        return "".join(parts)
                elif isinstance(event, CloseConnection):
                    raise ConnectionError(f"WebSocket closed: {event.code} {event.reason!r}")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed before a whole message arrived")
            self.ws.receive_data(data)

    def close(self) -> None:
        """Send a close frame and wait for the peer's (best effort: the socket closes anyway)."""
        try:
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                self.ws.receive_data(data)
                if any(isinstance(e, CloseConnection) for e in self.ws.events()):
                    return
        except OSError:
            return


def upgrade(
    sock: Sock,
    target: str,
    host: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> tuple[Response, WebSocket | None]:
    """Send the upgrade request for `target` (absolute form for a plain proxy request, a path
    inside a tunnel). A 101 with the right accept key gives a WebSocket; anything else comes
    back as a Response with its body and None."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    status, reason, head = read_head(sock)
    if status != 101:
        return Response(status, reason, head, read_body(sock, head)), None
    response = Response(status, reason, head, b"")
    assert head.get("sec-websocket-accept") == ws_accept(key), head
    return response, WebSocket(sock, response)
