"""A stand-in for "the internet" inside a test's network namespace: HTTP on 80, HTTPS on 443
(a leaf named by the SNI, from a throw-away CA), a raw TCP sink on 2222 and a UDP sink on
5000. It prints one line per connection it accepts (`http HOST`, `tls SNI`, `tcp 2222`,
`udp 5000`) so the test can tell exactly what reached it, and `ready` once it listens.

Run as `python netorigin.py CONFDIR`; it runs until stopped.
"""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mitmproxy import certs


def say(line: str) -> None:
    print(line, flush=True)


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = f"origin saw {self.headers.get('host', '')}\n".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-origin", "netorigin")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Plain(ThreadingHTTPServer):
    daemon_threads = True

    def process_request(self, request: socket.socket, client_address: object) -> None:
        self.note(request)
        super().process_request(request, client_address)

    def note(self, request: socket.socket) -> None:
        request.settimeout(5)
        try:
            head = request.recv(4096, socket.MSG_PEEK).decode("latin-1")
        except OSError:
            head = ""
        host = next(
            (line.split(":", 1)[1].strip() for line in head.split("\r\n")
             if line.lower().startswith("host:")), "",
        )  # fmt: skip
        say(f"http {host}")


class TLS(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: certs.CertStore, tmp: Path) -> None:
        super().__init__(address, Echo)
        self.store, self.tmp, self.n = store, tmp, 0
        self.ctx = self.context_for("origin.test")
        self.ctx.sni_callback = self.sni

    def context_for(self, name: str) -> ssl.SSLContext:
        entry = self.store.get_cert(name, [])
        self.n += 1
        pem = self.tmp / f"leaf{self.n}.pem"
        from cryptography.hazmat.primitives import serialization

        pem.write_bytes(
            entry.privatekey.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ) + entry.cert.to_pem()
        )  # fmt: skip
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pem)
        return ctx

    def sni(self, sock: ssl.SSLObject, name: str | None, _: object) -> None:
        say(f"tls {name or ''}")
        if name:
            sock.context = self.context_for(name)

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        request.settimeout(5)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except OSError:
            return
        with tls:
            Echo(tls, client_address, self)  # type: ignore[arg-type]


def tcp_sink(port: int) -> None:
    srv = socket.create_server(("0.0.0.0", port))
    while True:
        conn, _ = srv.accept()
        say(f"tcp {port}")
        conn.close()


def udp_sink(port: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        s.recvfrom(4096)
        say(f"udp {port}")


def main() -> None:
    confdir = Path(sys.argv[1])
    store = certs.CertStore.from_store(str(confdir), "origin", 2048)
    servers = [Plain(("0.0.0.0", 80), Echo), TLS(("0.0.0.0", 443), store, confdir)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Thread(target=tcp_sink, args=(2222,), daemon=True).start()
    threading.Thread(target=udp_sink, args=(5000,), daemon=True).start()
    say("ready")
    threading.Event().wait()  # until the test stops it (SIGTERM)


if __name__ == "__main__":
    main()
