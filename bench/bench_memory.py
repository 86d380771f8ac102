"""Memory of a running `vaccine run` over a long stream of distinct hosts: RSS sampled every
`--every` requests, printed as a curve, and the growth from 50 k to the end (goal: <= 5 %).

    .venv/bin/python bench/bench_memory.py [--requests 300000] [--every 25000] [--clients 8]

A real proxy process on a free loopback port, a local HTTP origin, and clients (one
connection per request) asking for `h<N>.site<M>.test` (every host distinct, 5,000 sites):
half blocked (the proxy answers with the block page), half allowed (forwarded to the origin
through the e2e router addon, no DNS). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTER = ROOT / "tests" / "e2e" / "route_addon.py"


class Origin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mib(pid: int) -> tuple[float, float]:
    """(the proxy, its log-writer child): `vaccine run` is both."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _rss(pid), sum(_rss(int(c)) for c in children)


def household(tmp: Path) -> Path:
    pol = tmp / "policies"
    pol.mkdir()
    (tmp / "lists" / "local").mkdir(parents=True)
    (tmp / "lists" / "local" / "adult.txt").write_text("adult.test\n")
    (pol / "settings.yaml").write_text(
        f"database: {tmp / 'vaccine.db'}\nblocklists: {tmp / 'lists'}\n"
    )
    blocked = ", ".join(f"site{i}.test" for i in range(0, 5000, 2))
    (pol / "kid.yaml").write_text(
        f"name: Kid\ndevices:\n  - address: 127.0.0.1\nblock:\n  domains: [{blocked}]\n"
    )
    (pol / "guest.yaml").write_text("name: Guest\n")
    return pol


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--requests", type=int, default=300_000)
    ap.add_argument("--every", type=int, default=25_000)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    origin.daemon_threads = True
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as d:
        tmp = Path(d)
        pol = household(tmp)
        port = free_port()
        env = dict(os.environ, VACCINE_E2E_HTTP_PORT=str(origin.server_address[1]),
                   VACCINE_E2E_HTTPS_PORT="1", HOME=str(tmp))  # fmt: skip
        exe = Path(sys.executable).with_name("vaccine")
        proc = subprocess.Popen(
            [str(exe), "run", "--policies", str(pol), "--listen", f"127.0.0.1:{port}",
             "--confdir", str(tmp / "ca"), "--set", f"scripts={ROUTER}"],
            env=env, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        for line in proc.stderr:
            if "proxy running on" in line:
                break
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining

        counter = [0]
        lock = threading.Lock()
        samples: list[tuple[int, tuple[float, float], float]] = []
        start = time.perf_counter()

        def client(k: int) -> None:
            while True:
                with lock:
                    n = counter[0]
                    if n >= args.requests:
                        break
                    counter[0] += 1
                    if n % args.every == 0:
                        samples.append((n, rss_mib(proc.pid), time.perf_counter() - start))
                host = f"h{n}.site{n % 5000}.test"
                # One request per connection: every connection, like every host, is new.
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(
                        f"GET http://{host}/ HTTP/1.1\r\nHost: {host}\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    while sock.recv(65536):
                        pass

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        samples.append((args.requests, rss_mib(proc.pid), time.perf_counter() - start))
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        origin.shutdown()

    print(f"RSS of `vaccine run` over {args.requests:,} requests, every host distinct")
    print(f"  {'requests':>9}  {'RSS MiB':>8}  {'proxy':>8}  {'writer':>8}  {'seconds':>8}")
    for n, (proxy, writer), t in samples:
        print(f"  {n:>9,}  {proxy + writer:>8.1f}  {proxy:>8.1f}  {writer:>8.1f}  {t:>8.1f}")
    base = sum(next((rss for n, rss, _ in samples if n >= 50_000), samples[0][1]))
    end = sum(samples[-1][1])
    print(f"  growth from 50,000 to {args.requests:,}: {100 * (end - base) / base:+.1f} % "
          f"(goal: <= 5 %)")  # fmt: skip


if __name__ == "__main__":
    main()
