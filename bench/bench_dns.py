"""Lookups per second through a running `vaccine run --mode dns@PORT`, against the stand-in
upstream of the tests (tests/e2e/fakedns.py) asked directly in the same run as the peer.

    .venv/bin/python bench/bench_dns.py [--seconds 5] [--clients 16]

Three kinds of lookup: a blocked name (answered by the proxy itself), an allowed one
(decided, then sent upstream) and a safe-search alias (decided, the safe host asked upstream,
the CNAME added); and, as the floor, mitmdump answering every lookup itself. Each client
sends one query, waits for its answer, sends the next, from 127.0.0.2 (a profile with blocks
and safe search). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mitmproxy import dns

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("fakedns", ROOT / "tests" / "e2e" / "fakedns.py")
assert _spec is not None and _spec.loader is not None
fakedns = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakedns)


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def household(tmp: Path, upstream: int) -> Path:
    pol = tmp / "policies"
    pol.mkdir()
    (tmp / "lists" / "local").mkdir(parents=True)
    (tmp / "lists" / "local" / "adult.txt").write_text("adult.test\n")
    (pol / "settings.yaml").write_text(
        f"database: {tmp / 'v.db'}\nblocklists: {tmp / 'lists'}\n"
        f"dns:\n  upstream: 127.0.0.1:{upstream}\n"
    )
    (pol / "kid.yaml").write_text(
        "devices: [{address: 127.0.0.2}]\nsafe_search: strict\nblock: {categories: [adult]}\n"
    )
    (pol / "guest.yaml").write_text("name: Guest\n")
    return pol


async def client(port: int, name: str, until: float, counts: list[int]) -> None:
    loop = asyncio.get_running_loop()
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Reply(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            got.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(
        Reply, local_addr=("127.0.0.2", 0), remote_addr=("127.0.0.1", port)
    )
    query = dns.DNSMessage(0, True, 0, False, False, True, False, 0, 0,
                           [dns.Question(name, 1, 1)], [], [], [])  # fmt: skip
    try:
        i = 0
        while time.monotonic() < until:
            i = (i + 1) % 65536
            query.id = i
            transport.sendto(query.packed)
            try:
                await asyncio.wait_for(got.get(), 2.0)
                counts[0] += 1
            except TimeoutError:
                counts[1] += 1
    finally:
        transport.close()


def rate(port: int, name: str, seconds: float, clients: int) -> tuple[float, int]:
    counts = [0, 0]

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(client(port, name, until, counts) for _ in range(clients)))

    asyncio.run(run())
    return counts[0] / seconds, counts[1]


FLOOR = """from mitmproxy import dns
def dns_request(flow: dns.DNSFlow) -> None:
    flow.response = flow.request.succeed([])
"""


def mitmproxy_floor(tmp: Path, seconds: float, clients: int) -> tuple[float, int]:
    """mitmdump in DNS mode answering every lookup itself at once: what mitmproxy costs."""
    script = tmp / "floor.py"
    script.write_text(FLOOR)
    port = free_port()
    mitmdump = Path(sys.executable).parent / "mitmdump"
    argv = [str(mitmdump), "-q", "--mode", f"dns@127.0.0.1:{port}", "-s", str(script),
            "--set", f"confdir={tmp / 'conf'}"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while rate(port, "ready.test", 0.2, 1)[0] == 0 and time.monotonic() < deadline:
            pass  # polls with a real lookup until it answers
        return rate(port, "x.test", seconds, clients)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    upstream = fakedns.FakeResolver().start()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        pol = household(tmp, upstream.address[1])
        port = free_port()
        vaccine = Path(sys.executable).parent / "vaccine"
        listen = f"127.0.0.1:{free_port(socket.SOCK_STREAM)}"
        argv = [str(vaccine), "run", "--policies", str(pol), "--confdir", str(tmp / "conf"),
                "--listen", listen, "--mode", f"dns@{port}"]  # fmt: skip
        env = {**os.environ, "HOME": str(tmp)}
        proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:
            if "proxy running on" in line:
                break
        try:
            rows = [
                ("upstream asked directly (the peer)", upstream.address[1], "ok.test"),
                ("blocked name, answered by the proxy", port, "www.adult.test"),
                ("allowed name, decided and sent upstream", port, "ok.test"),
                ("safe search, aliased to the safe host", port, "www.google.com"),
            ]
            print(f"{args.clients} clients, {args.seconds:.0f} s each, from 127.0.0.2")
            print(f"{'lookup':<44} {'answers/s':>10} {'timeouts':>9}")
            for label, p, name in rows:
                per_s, lost = rate(p, name, args.seconds, args.clients)
                print(f"{label:<44} {per_s:>10,.0f} {lost:>9}")
            per_s, lost = mitmproxy_floor(tmp, args.seconds, args.clients)
            print(f"{'mitmproxy alone, answering every lookup':<44} {per_s:>10,.0f} {lost:>9}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            upstream.close()


if __name__ == "__main__":
    main()
