"""Local origin servers on 127.0.0.1: answer any method and path with 200 and a JSON echo.

The echo (which origin, method, Host header, path, request headers, SNI) lets a test see what
actually reached the origin through the proxy: the host the proxy forwarded, a rewritten
query, an added safe-search header or cookie.

A `GET` with `Upgrade: websocket` is answered `101` and becomes a WebSocket (wsproto): the
origin first sends the same JSON echo as a text message, then echoes every message back.

`start_capture_proxy` is an HTTP proxy stand-in for `--mode upstream:`: it records every
request it receives (absolute-form target and headers) and answers 200 with the same echo.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import certs
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage

#: Sent by the origin so a test can tell an origin's answer from anything the proxy made up.
ORIGIN_HEADER = "x-e2e-origin"
#: A request carrying this header keeps its connection open (tests of kept-alive connections).
KEEP_ALIVE_HEADER = "x-e2e-keep-alive"
#: RFC 6455's constant for Sec-WebSocket-Accept.
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle client never pins a thread for long
    server: _OriginServer

    def _echo_body(self, length: int) -> bytes:
        return json.dumps(
            {
                "origin": self.server.scheme,
                "method": self.command,
                "host": self.headers.get("host"),
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "sni": getattr(self.connection, "e2e_sni", None),
                "body_length": length,
            }
        ).encode()

    def _echo(self) -> None:
        if self.command == "GET" and self.headers.get("upgrade", "").lower() == "websocket":
            self._websocket()
            return
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = self._echo_body(length)
        self.server.seen.append(json.loads(body))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header(ORIGIN_HEADER, self.server.scheme)
        # One request per connection unless asked: no idle sockets left behind at teardown.
        keep = KEEP_ALIVE_HEADER in self.headers
        if not keep:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = not keep

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _echo

    def _websocket(self) -> None:
        """Accept the upgrade, send the echo as the first message, then echo until closed."""
        self.send_response(101)
        self.send_header("upgrade", "websocket")
        self.send_header("connection", "Upgrade")
        key = self.headers.get("sec-websocket-key", "")
        self.send_header("sec-websocket-accept", ws_accept(key))
        self.send_header(ORIGIN_HEADER, self.server.scheme)
        self.end_headers()
        self.close_connection = True
        ws = Connection(ConnectionType.SERVER)
        self.wfile.write(ws.send(TextMessage(data=self._echo_body(0).decode())))
        while True:
            data = self.rfile.read1(65536)  # what the buffered reader already holds, first
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, Message):
                    reply = TextMessage if isinstance(event, TextMessage) else BytesMessage
                    self.wfile.write(ws.send(reply(data=event.data)))
                elif isinstance(event, Ping):
                    self.wfile.write(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.wfile.write(ws.send(event.response()))
                    return
            if not data:
                return

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test output stays about the test


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True
    scheme = "http"

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        super().__init__(address, handler)
        #: every plain request's echo, in arrival order (list.append is thread-safe)
        self.seen: list[dict[str, Any]] = []
        #: every TCP connection accepted, answered or not (bypass tests: nothing got here)
        self.connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up mid-request is normal in bypass tests


class _TLSOriginServer(_OriginServer):
    scheme = "https"

    def __init__(self, address: tuple[str, int], store: certs.CertStore, workdir: Path):
        self.store = store
        self.workdir = workdir
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.default_context = self._context_for("origin.test")
        self.default_context.sni_callback = self._sni
        super().__init__(address, _EchoHandler)

    def _context_for(self, name: str) -> ssl.SSLContext:
        """A server context whose leaf, issued by the origin CA, names `name` (per SNI)."""
        with self._lock:
            ctx = self._contexts.get(name)
            if ctx is not None:
                return ctx
            # The address too: a client that connected to 127.0.0.1 without SNI verifies it.
            loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            entry = self.store.get_cert(name, [x509.DNSName(name), loopback])
            pem = self.workdir / f"{len(self._contexts)}.pem"
            pem.write_bytes(
                entry.privatekey.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                + entry.cert.to_pem()
            )
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pem)
            self._contexts[name] = ctx
            return ctx

    def _sni(self, sock: ssl.SSLSocket | ssl.SSLObject, name: str | None, _: object) -> None:
        sock.e2e_sni = name  # type: ignore[union-attr]
        if name:
            sock.context = self._context_for(name.lower())

    def finish_request(self, request: socket.socket, client_address: Any) -> None:  # type: ignore[override]
        request.settimeout(10)
        try:
            tls = self.default_context.wrap_socket(request, server_side=True)
        except OSError:
            return  # a client that refused our certificate, or a proxy that closed: fine
        with tls:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]


class Origin:
    """A running origin; `close()` stops it and closes its listening socket."""

    def __init__(self, server: _OriginServer):
        self.server = server
        self.port: int = server.server_address[1]
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def scheme(self) -> str:
        return self.server.scheme

    @property
    def connections(self) -> int:
        return self.server.connections

    @property
    def seen(self) -> list[dict[str, Any]]:
        """The echo of every request this origin answered (WebSocket upgrades excepted)."""
        return self.server.seen

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start_http_origin() -> Origin:
    return Origin(_OriginServer(("127.0.0.1", 0), _EchoHandler))


def start_https_origin(store: certs.CertStore, workdir: Path) -> Origin:
    workdir.mkdir(parents=True, exist_ok=True)
    return Origin(_TLSOriginServer(("127.0.0.1", 0), store, workdir))


class _CaptureServer(_OriginServer):
    scheme = "capture"


def start_capture_proxy() -> Origin:
    """A stand-in upstream HTTP proxy: records each request (`seen`), answers 200 with the echo."""
    return Origin(_CaptureServer(("127.0.0.1", 0), _EchoHandler))
