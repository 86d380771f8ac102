"""A deliberately low-level client: every byte of the request is the test's choice.

Bypass tests need what well-behaved libraries refuse to send: a Host header that disagrees
with the absolute URL, an SNI that disagrees with the CONNECT target, raw UTF-8 in a header.
So requests are written by hand and only responses are parsed (by `http.client`).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from .certs import Issuer, Issuers
from .origins import ORIGIN_HEADER

TIMEOUT = 10.0


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def from_origin(self) -> bool:
        """True when one of the local origins produced this answer (not the proxy)."""
        return ORIGIN_HEADER in self.headers

    def json(self) -> dict[str, Any]:
        assert self.from_origin, f"not an origin's answer: {self.status} {self.text[:300]!r}"
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} {self.text[:200]!r}>"


@dataclass
class TLSResult:
    """What happened to one HTTPS attempt through CONNECT, stage by stage."""

    connect_status: int
    connect_head: str = ""
    issuer: Issuer | None = None  # None: no handshake completed
    tls_error: str | None = None
    response: Response | None = None

    @property
    def refused(self) -> bool:
        """The proxy answered the CONNECT itself with a non-2xx status."""
        return not 200 <= self.connect_status < 300

    def __repr__(self) -> str:
        return (
            f"<TLSResult CONNECT {self.connect_status} issuer={self.issuer} "
            f"tls_error={self.tls_error!r} response={self.response!r}>"
        )


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def open_socket(port: int, source: str | None = None, host: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the proxy, from `source` (any 127/8 address works on Linux)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    if source is not None:
        try:
            sock.bind((source, 0))
        except OSError as e:
            sock.close()
            pytest.skip(f"cannot use {source} as a source address here: {e}")
    try:
        sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _encode_head(lines: list[str | bytes]) -> bytes:
    out = b""
    for line in lines:
        out += (line if isinstance(line, bytes) else line.encode("latin-1")) + b"\r\n"
    return out + b"\r\n"


def read_response(sock: socket.socket | ssl.SSLSocket, method: str = "GET") -> Response:
    resp = http.client.HTTPResponse(sock, method=method)  # type: ignore[arg-type]
    try:
        resp.begin()
        body = resp.read()
        return Response(
            resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, body
        )
    finally:
        resp.close()


def _request_head(
    method: str,
    target: str,
    host: str | bytes | None,
    headers: Mapping[str, str | bytes] | None,
    auth: str | None,
) -> bytes:
    lines: list[str | bytes] = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(b"Host: " + (host if isinstance(host, bytes) else host.encode("latin-1")))
    if auth is not None:
        lines.append(f"Proxy-Authorization: {auth}")
    for name, value in (headers or {}).items():
        lines.append(
            name.encode("latin-1")
            + b": "
            + (value if isinstance(value, bytes) else value.encode("latin-1"))
        )
    lines.append("Connection: close")
    return _encode_head(lines)


def _with_length(
    headers: Mapping[str, str | bytes] | None, body: bytes
) -> Mapping[str, str | bytes] | None:
    if not body:
        return headers
    return {**(headers or {}), "Content-Length": str(len(body))}


class Client:
    """Talks to one proxy listener from one source address, optionally with a proxy login."""

    def __init__(
        self,
        port: int,
        issuers: Issuers,
        *,
        source: str | None = None,
        auth: tuple[str, str] | str | None = None,
    ):
        self.port = port
        self.issuers = issuers
        self.source = source
        self.auth = basic_auth(*auth) if isinstance(auth, tuple) else auth

    def with_(self, **changes: Any) -> Client:
        kw: dict[str, Any] = {"source": self.source, "auth": self.auth} | changes
        return Client(self.port, self.issuers, **kw)

    def get(
        self,
        url: str,
        *,
        host: str | bytes | None = None,
        method: str = "GET",
        headers: Mapping[str, str | bytes] | None = None,
        body: bytes = b"",
    ) -> Response:
        """A plain-HTTP request in absolute form; `host` overrides the Host header."""
        if host is None:
            host = url.split("://", 1)[1].split("/", 1)[0]
        head = _request_head(method, url, host, _with_length(headers, body), self.auth)
        with open_socket(self.port, self.source) as sock:
            sock.sendall(head + body)
            return read_response(sock, method)

    def connect(self, target: str) -> tuple[socket.socket, int, str]:
        """Send CONNECT; return the socket (tunnel open when 2xx), the status and the head."""
        sock = open_socket(self.port, self.source)
        try:
            lines: list[str | bytes] = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
            if self.auth is not None:
                lines.append(f"Proxy-Authorization: {self.auth}")
            sock.sendall(_encode_head(lines))
            # Byte by byte: nothing after the blank line may be swallowed (it is TLS).
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                chunk = sock.recv(1)
                if not chunk:
                    break
                head += chunk
                assert len(head) < 65536, "CONNECT answer head too long"
            text = head.decode("latin-1")
            try:
                status = int(text.split(" ", 2)[1])
            except (IndexError, ValueError):
                status = 0  # the proxy hung up without an answer
        except BaseException:
            sock.close()
            raise
        return sock, status, text

    def https(
        self,
        target: str,
        *,
        sni: str | None = None,
        host: str | bytes | None = None,
        path: str = "/",
        method: str = "GET",
        headers: Mapping[str, str | bytes] | None = None,
        check_hostname: bool = True,
        body: bytes = b"",
    ) -> TLSResult:
        """CONNECT to `target`, TLS with `sni` (default: the target's host), one request.

        `host` (default: the SNI) is the Host header inside the tunnel. Every stage's outcome
        is recorded rather than raised, so a test can assert exactly where it stopped.
        """
        target_host = target.rsplit(":", 1)[0].strip("[]")
        sni = target_host if sni is None else sni
        host = sni if host is None else host
        sock, status, head = self.connect(target)
        result = TLSResult(status, head)
        with sock:
            if result.refused:
                return result
            ctx = self.tls_context(["http/1.1"], check_hostname)
            try:
                tls = ctx.wrap_socket(sock, server_hostname=sni)
            except (ssl.SSLError, OSError) as e:
                result.tls_error = f"{type(e).__name__}: {e}"
                return result
            with tls:
                der = tls.getpeercert(binary_form=True)
                assert der is not None
                result.issuer = self.issuers.of(der)
                try:
                    request = _request_head(method, path, host, _with_length(headers, body), None)
                    tls.sendall(request + body)
                    result.response = read_response(tls, method)
                except (ssl.SSLError, OSError, http.client.HTTPException) as e:
                    result.tls_error = f"after handshake: {type(e).__name__}: {e}"
        return result

    def tls_context(
        self, alpn: Sequence[str] = ("http/1.1",), check_hostname: bool = True
    ) -> ssl.SSLContext:
        """A client context trusting both CAs (the leaf's issuer tells what happened)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = check_hostname
        ctx.load_verify_locations(self.issuers.proxy.cert_pem)
        ctx.load_verify_locations(self.issuers.origin.cert_pem)
        ctx.set_alpn_protocols(list(alpn))
        return ctx

    @contextmanager
    def tunnel(
        self, target: str, *, sni: str | None = None, alpn: Sequence[str] = ("http/1.1",)
    ) -> Iterator[tuple[ssl.SSLSocket, Issuer]]:
        """CONNECT and a TLS handshake offering `alpn`; the TLS socket and the leaf's issuer.

        For protocols `https` does not speak (HTTP/2, WebSocket): the test drives the socket.
        Fails (AssertionError) when the CONNECT is refused.
        """
        sni = target.rsplit(":", 1)[0].strip("[]") if sni is None else sni
        sock, status, head = self.connect(target)
        with sock:
            assert 200 <= status < 300, f"CONNECT {target} refused: {head!r}"
            with self.tls_context(alpn).wrap_socket(sock, server_hostname=sni) as tls:
                der = tls.getpeercert(binary_form=True)
                assert der is not None
                yield tls, self.issuers.of(der)


def read_head(sock: socket.socket | ssl.SSLSocket) -> tuple[int, str, dict[str, str]]:
    """A response head read byte by byte, so nothing after it is swallowed (a WebSocket's
    first frame); (status, reason, lower-case headers)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"connection closed inside the response head: {head!r}")
        head += chunk
        assert len(head) < 65536, "response head too long"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    _, status, reason = (status_line.split(" ", 2) + [""])[:3]
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(status), reason, headers


def read_body(sock: socket.socket | ssl.SSLSocket, headers: Mapping[str, str]) -> bytes:
    """The body after `read_head`: content-length bytes, else up to the end of the stream."""
    length = headers.get("content-length")
    body = b""
    while length is None or len(body) < int(length):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return body
