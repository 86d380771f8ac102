"""A local HTTP server playing the list sites (UT1's archive, a hosts file), on 127.0.0.1.

Each published file has an ETag (its SHA-256) and a Last-Modified; conditional requests get
304. Every request and every body byte sent is counted, so a test can check that a second
update downloads nothing. `cut` makes a file announce its full length and stop half-way;
`stall` sends half and then waits until released (a download to kill in the middle); `hold`
answers only once released (a download that has not arrived yet).
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import tarfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def ut1_tarball(categories: dict[str, list[str]], links: dict[str, str] | None = None) -> bytes:
    """A .tar.gz shaped like UT1's: blacklists/<category>/domains, usage files, alias links."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        files = {"global_usage": "NAME: adult\n"}
        for cat, names in categories.items():
            files[f"{cat}/domains"] = "".join(f"{n}\n" for n in names)
            files[f"{cat}/usage"] = "black\n"
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"blacklists/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"blacklists/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return out.getvalue()


class ListSite:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}  # path → (body, etag, date)
        self.requests: Counter[str] = Counter()
        self.full_bodies: Counter[str] = Counter()  # 200 answers, by path
        self.cut: set[str] = set()
        self.stall: set[str] = set()
        self.hold: set[str] = set()  # answered only once `release` is set
        self.held = threading.Event()  # set when a held request arrived
        self.stalled = threading.Event()  # set once a stalled body is half sent
        self.release = threading.Event()
        self._clock = 1_700_000_000.0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.requests[self.path] += 1
                found = site.files.get(self.path)
                if found is None:
                    code = 500 if self.path.startswith("/broken") else 404
                    self.send_error(code)
                    return
                if self.path in site.hold:
                    site.held.set()
                    site.release.wait(30)
                body, etag, date = found
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if (inm is not None and inm == etag) or (inm is None and ims == date):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                site.full_bodies[self.path] += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", date)
                self.end_headers()
                if self.path in site.cut or self.path in site.stall:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    if self.path in site.stall:
                        site.stalled.set()
                        site.release.wait(30)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))

    def publish(self, path: str, body: bytes) -> None:
        self._clock += 60  # a later date for every new version, whole seconds apart
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        self.files[path] = (body, etag, email.utils.formatdate(self._clock, usegmt=True))

    def __enter__(self) -> ListSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
