"""The proxy against plain mitmdump, side by side: throughput, the cost of `--workers`, start-up.

    .venv/bin/python bench/bench_proxy.py                 # everything, ~6 min
    .venv/bin/python bench/bench_proxy.py --quick         # 2 rounds of 2 s, ~2 min
    .venv/bin/python bench/bench_proxy.py --only ka1,ka32 --kinds mitmdump,vaccine
    .venv/bin/python bench/bench_proxy.py --lists /path/to/compiled/lists   # e.g. 5 M entries

Every proxy gets the same options `vaccine run` sets (lazy connections, no HTTP/3, warnings
only) and the same test router addon (tests/e2e/route_addon.py), which sends `*.test` to the
local origins. The household: one profile for 127.0.0.1 with the shipped default categories
blocked and safe search on, over the shipped lists or `--lists DIR`.

Rounds interleave the proxies (mitmdump, vaccine, vaccine --workers 2): each workload runs on
each proxy back to back, each started afresh, in reversed order every other round, so load
from elsewhere falls on all of them. Each cell is the median of the rounds; the ratios are
against mitmdump measured in the same run. A second table gives the CPU time the proxy's
processes (workers and log writer included) spent per request: steadier than req/s on a
shared machine, and the cost the ratio of req/s comes from. Workloads (`--only` names):

- `ka1`, `ka32`: HTTP keep-alive, 1 and 32 connections, each sending GETs of an allowed site
  back to back on its connection (what wrk and browsers do);
- `new1`, `new32`: HTTP, one GET per connection (`Connection: close`), 1 and 32 clients;
- `tls8`: HTTPS passed through untouched: CONNECT, TLS with the origin through the tunnel,
  one GET, close, 8 clients; mitmdump is told to ignore every host (`ignore_hosts`), as
  vaccine passes an allowed site through;
- start-up: from the command to the port accepting, and to the first answer (a GET of an
  allowed site, answered 200 by the origin through the proxy: what a child waits for after a
  restart), with the lists compiled.

The load must cost little next to the proxies, because it runs on the same cores: the HTTP
workloads use `wrk` (Debian: `apt-get install wrk`) when it is on PATH, with a Lua script
that sends absolute-URI proxy requests; without it (or with `--no-wrk`) an asyncio client
(several times the CPU per request: the ratios then understate the proxies' difference).
`tls8` always uses the asyncio client (wrk cannot CONNECT). The origins are one process of
bare asyncio protocols: a canned 200 per request head, no parsing beyond the blank line.

A proxy using both cores (`--workers 2`) competes with the load generator and the origins
on a 2-core machine, so it cannot show its full gain there.

`--kinds mitmdump,vaccine,vaccine x2,e2guardian` adds e2guardian (Debian: `apt-get install
e2guardian`; its own configuration with the port changed, no upstream proxy, SSL interception
off) as a peer for `tls8` only: it relays CONNECT as vaccine passes an allowed site through.
It cannot reach the `*.test` names (routed inside mitmproxy only), so its tunnels go to
`localhost` and the HTTPS origin's port.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUTER = ROOT / "tests" / "e2e" / "route_addon.py"
BIN = Path(sys.executable).parent

ORIGIN = textwrap.dedent("""
    import asyncio, ssl, sys
    OK = b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok"
    CLOSE = b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nok"
    class Origin(asyncio.Protocol):
        def connection_made(self, transport):
            self.t, self.buf = transport, b""
        def data_received(self, data):
            buf = self.buf + data
            n = buf.count(b"\\r\\n\\r\\n")
            if not n:
                self.buf = buf
                return
            if b"onnection: close" in buf or b"onnection: Close" in buf:
                self.t.write(OK * (n - 1) + CLOSE)
                self.t.close()
                return
            self.t.write(OK * n)
            self.buf = buf[buf.rindex(b"\\r\\n\\r\\n") + 4:]
    async def main():
        loop = asyncio.get_running_loop()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        servers = [
            await loop.create_server(Origin, "127.0.0.1", int(sys.argv[1]), backlog=1024),
            await loop.create_server(Origin, "127.0.0.1", int(sys.argv[2]), ssl=ctx,
                                     backlog=1024),
        ]
        await asyncio.gather(*(s.serve_forever() for s in servers))
    asyncio.run(main())
""")

#: wrk: each thread asks for its own allowed site, as an absolute-URI proxy request.
WRK_SCRIPT = textwrap.dedent("""
    local threads = 0
    function setup(thread)
        thread:set("id", threads)
        threads = threads + 1
    end
    function init(args)
        local host = "site" .. id .. ".test"
        wrk.path = "http://" .. host .. "/"
        wrk.headers["Host"] = host
        if args[1] == "close" then wrk.headers["Connection"] = "close" end
    end
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 60.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port}")


def first_answer(port: int) -> None:
    """One GET of an allowed site through the proxy, read to the end: the first decided answer."""
    req = b"GET http://first.test/ HTTP/1.1\r\nHost: first.test\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(req)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"first answer: {data[:60]!r}")


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "site.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.test")]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    c, k = tmp / "origin.pem", tmp / "origin.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return c, k


def household(tmp: Path, lists: Path) -> Path:
    pol = tmp / "policies"
    pol.mkdir()
    shutil.copy(ROOT / "policies/defaults.yaml", pol)
    (pol / "settings.yaml").write_text(
        f"database: {tmp / 'vaccine.db'}\nblocklists: {lists}\nunknown_devices: kid\n"
        "lists:\n  fetch_on_start: false\n"
    )
    (pol / "kid.yaml").write_text(
        "name: Kid\nextends: defaults\ndevices:\n  - address: 127.0.0.1\n"
    )
    return pol


COMMON = ["--set", "connection_strategy=lazy", "--set", "http3=false",
          "--set", f"scripts={ROUTER}"]  # fmt: skip


def command(kind: str, port: int, tmp: Path, pol: Path, lists: Path) -> list[str]:
    if kind == "e2guardian":
        return ["e2guardian", "-N", "-c", str(e2guardian_conf(tmp, port))]
    if kind == "mitmdump":
        return [str(BIN / "mitmdump"), "--listen-host", "127.0.0.1", "--listen-port", str(port),
                "--set", f"confdir={tmp / 'ca'}", "--set", "termlog_verbosity=warn",
                "--set", "flow_detail=0", *COMMON]  # fmt: skip
    workers = "2" if kind.endswith("x2") else "1"
    return [str(BIN / "vaccine"), "run", "--policies", str(pol), "--lists", str(lists),
            "--listen", f"127.0.0.1:{port}", "--confdir", str(tmp / "ca"),
            "--workers", workers, "--set", f"scripts={ROUTER}"]  # fmt: skip


def wrk_load(port: int, conns: int, seconds: float, *, keep_alive: bool, script: Path) -> float:
    """wrk with one thread (an epoll loop in C: far cheaper than any proxy under test)."""
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script),
            f"http://127.0.0.1:{port}/"]  # fmt: skip
    if not keep_alive:
        argv += ["--", "close"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if bad or rate is None or (errors and sum(map(int, errors.groups())) > conns):
        raise AssertionError(out)
    return float(rate.group(1))


async def http_load(port: int, conns: int, seconds: float, *, keep_alive: bool) -> float:
    """The fallback: `conns` asyncio clients, each sending GETs back to back on one kept-alive
    connection, or one GET per connection (`Connection: close`)."""
    done = 0
    end = time.perf_counter() + seconds

    async def client(k: int) -> None:
        nonlocal done
        close = "" if keep_alive else "Connection: close\r\n"
        req = f"GET http://site{k}.test/ HTTP/1.1\r\nHost: site{k}.test\r\n{close}\r\n".encode()
        reader = writer = None
        while time.perf_counter() < end:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(req)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200"), head[:100]
            await asyncio.wait_for(reader.readexactly(2), 10)
            done += 1
            if not keep_alive:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(conns)))
    return done / seconds


async def https_load(port: int, conns: int, seconds: float, origin: int | None = None) -> float:
    """CONNECT, TLS through the tunnel, one GET, close; to `tls{k}.test:443` (routed by the
    test addon), or with `origin` to localhost:origin (for a peer without that addon)."""
    done = 0
    end = time.perf_counter() + seconds
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    async def client(k: int) -> None:
        nonlocal done
        while time.perf_counter() < end:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            host, hp = (f"tls{k}.test", 443) if origin is None else ("localhost", origin)
            writer.write(f"CONNECT {host}:{hp} HTTP/1.1\r\nHost: {host}:{hp}\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200"), head
            await asyncio.wait_for(writer.start_tls(ctx, server_hostname=host), 10)
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            await asyncio.wait_for(reader.readexactly(2), 10)
            done += 1
            writer.close()

    await asyncio.gather(*(client(k) for k in range(conns)))
    return done / seconds


@dataclass(frozen=True)
class Work:
    name: str
    label: str
    conns: int
    keep_alive: bool = True
    tls: bool = False


WORK = [
    Work("ka1", "HTTP keep-alive c=1", 1),
    Work("ka32", "HTTP keep-alive c=32", 32),
    Work("new1", "HTTP new conn. c=1", 1, keep_alive=False),
    Work("new32", "HTTP new conn. c=32", 32, keep_alive=False),
    Work("tls8", "HTTPS passed thr. c=8", 8, tls=True),
]
KINDS = ["mitmdump", "vaccine", "vaccine x2"]
PEERS = ["e2guardian"]  # only on --kinds, only for the TLS workload


def e2guardian_conf(tmp: Path, port: int) -> Path:
    """The installed e2guardian configuration, listening on `port` on its own (no upstream
    proxy), in the foreground, writing its few files under `tmp`."""
    d = tmp / "e2guardian"
    d.mkdir(exist_ok=True)
    # It drops to its own user before opening its log: the folder must be reachable.
    tmp.chmod(tmp.stat().st_mode | 0o111)
    d.chmod(0o777)
    conf = Path("/etc/e2guardian/e2guardian.conf").read_text()
    wanted = {
        "filterip": "filterip = 127.0.0.1",
        "filterports": f"filterports = {port}",
        "nodaemon": "nodaemon = on",
        "loglevel": "loglevel = 0",
        "pidfilename": f"pidfilename = '{d / 'e2guardian.pid'}'",
        "loglocation": f"loglocation = '{d / 'access.log'}'",
    }
    out = []
    for line in conf.splitlines():
        name = line.split("=", 1)[0].strip()
        setting = name.lstrip("#").strip()
        # Its own settings, and the two it only names in comments: each set once.
        if name == setting or setting in ("pidfilename", "loglocation"):
            line = wanted.pop(setting, line)
        out.append(line)
    path = d / f"e2guardian-{port}.conf"
    path.write_text("\n".join(out) + "\n")
    # Its filter group is read from `<the main file's stem>f1.conf` beside it.
    group = Path("/etc/e2guardian/e2guardianf1.conf").read_text()
    (d / f"e2guardian-{port}f1.conf").write_text(group)
    return path


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and every process below it (the
    workers, the log's writer)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += children.get(p, [])
    return total


def measure(
    w: Work, port: int, seconds: float, script: Path | None, origin: int | None = None
) -> float:
    if w.tls:
        return asyncio.run(https_load(port, w.conns, seconds, origin))
    if script is not None:
        return wrk_load(port, w.conns, seconds, keep_alive=w.keep_alive, script=script)
    return asyncio.run(http_load(port, w.conns, seconds, keep_alive=w.keep_alive))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=4.0, help="per measurement (default 4)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 2 s")
    ap.add_argument("--only", default="", help="workloads, e.g. ka1,ka32 (default: all)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="proxies (default: all three)")
    ap.add_argument("--no-wrk", action="store_true", help="the asyncio client even with wrk")
    ap.add_argument("--lists", type=Path, default=ROOT / "blocklists")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 2.0, 2
    work = [w for w in WORK if not args.only or w.name in args.only.split(",")]
    kinds = [k for k in KINDS + PEERS if k in args.kinds.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="vaccine-bench-proxy-"))
    script: Path | None = None
    if shutil.which("wrk") and not args.no_wrk:
        script = tmp / "proxy.lua"
        script.write_text(WRK_SCRIPT)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        cert, key = self_signed(tmp)
        http_port, https_port = free_port(), free_port()
        argv = [str(http_port), str(https_port), str(cert), str(key)]
        procs.append(subprocess.Popen([sys.executable, "-c", ORIGIN, *argv]))
        wait_port(http_port)
        wait_port(https_port)
        pol = household(tmp, args.lists)
        subprocess.run([str(BIN / "vaccine"), "lists", "compile", "--lists", str(args.lists)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip
        print(f"lists compiled; origins up; load: {'wrk' if script else 'asyncio'}",
              file=sys.stderr)  # fmt: skip
        env = {**os.environ, "VACCINE_E2E_HTTP_PORT": str(http_port),
               "VACCINE_E2E_HTTPS_PORT": str(https_port), "HOME": str(tmp)}  # fmt: skip
        results: dict[tuple[str, str], list[float]] = {}
        ours = [k for k in kinds if k not in PEERS]  # start-up: the same first request
        startup: dict[str, list[float]] = {k: [] for k in ours}
        answered: dict[str, list[float]] = {k: [] for k in ours}
        loads: list[float] = []
        cpu: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for w in work:
                # Each workload on every proxy back to back, the order reversed every other
                # round: a change of load from elsewhere falls on all of them alike.
                for kind in kinds if r % 2 == 0 else kinds[::-1]:
                    peer = kind in PEERS
                    if peer and not w.tls:
                        continue
                    port = free_port()
                    cmd = command(kind, port, tmp, pol, args.lists)
                    if kind == "mitmdump" and w.tls:
                        cmd += ["--set", "ignore_hosts=.*"]  # passed through, as vaccine does
                    launched = time.perf_counter()
                    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)  # fmt: skip
                    try:
                        up = wait_port(port)
                        if w is work[0] and not peer:
                            first_answer(port)
                            startup[kind].append(up)
                            answered[kind].append(time.perf_counter() - launched)
                        if kind.endswith("x2"):
                            time.sleep(1.0)  # the second worker binds after the first
                        try:
                            origin = https_port if peer else None
                            measure(w, port, 1.0, script, origin)  # warm-up
                            before = tree_cpu(p.pid)
                            rate = measure(w, port, args.seconds, script, origin)
                            used = (tree_cpu(p.pid) - before) / (rate * args.seconds) * 1e6
                        except (TimeoutError, OSError, EOFError, AssertionError) as e:
                            print(f"  {kind}, {w.label}: failed ({type(e).__name__}: {e})")
                            rate = used = float("nan")
                        results.setdefault((kind, w.name), []).append(rate)
                        cpu.setdefault((kind, w.name), []).append(used)
                        loads.append(os.getloadavg()[0])
                        print(f"  {kind:<11} {w.label:<22} {rate:>10,.0f} req/s "
                              f"{used:>7,.0f} µs CPU/req", file=sys.stderr)  # fmt: skip
                    finally:
                        if peer:
                            p.kill()  # e2guardian takes its time over SIGTERM
                        else:
                            p.terminate()
                        p.wait(30)
        print(f"\n{os.cpu_count()} CPUs, load average {min(loads):.2f}-{max(loads):.2f} during "
              f"the run; {args.rounds} rounds of {args.seconds:g} s; load generator "
              f"{'wrk' if script else 'asyncio'}; lists {args.lists}")  # fmt: skip
        ratios = [("vaccine", "mitmdump", "vaccine/mitmdump"), ("vaccine x2", "vaccine", "x2/x1"),
                  ("vaccine", "e2guardian", "vaccine/e2guardian"),
                  ("vaccine x2", "e2guardian", "x2/e2guardian")]  # fmt: skip
        ratios = [r for r in ratios if r[0] in kinds and r[1] in kinds]
        head = (f"  {'workload (req/s)':<24}" + "".join(f"{k:>12}" for k in kinds)
                + "".join(f"{r[2]:>18}" for r in ratios))  # fmt: skip
        print(head)
        print("  " + "-" * (len(head) - 2))
        nan = float("nan")
        for w in work:
            med = {k: statistics.median(results.get((k, w.name), [nan])) for k in kinds}
            print(f"  {w.label:<24}" + "".join(f"{med[k]:>12,.0f}" for k in kinds)
                  + "".join(f"{med[a] / med[b]:>18.2f}" for a, b, _ in ratios))  # fmt: skip
        print(f"\n  {'proxy CPU (µs/request)':<24}" + "".join(f"{k:>12}" for k in kinds)
              + "".join(f"{r[2]:>18}" for r in ratios[:1]))  # fmt: skip
        for w in work:
            med = {k: statistics.median(cpu.get((k, w.name), [nan])) for k in kinds}
            print(f"  {w.label:<24}" + "".join(f"{med[k]:>12,.0f}" for k in kinds)
                  + "".join(f"{med[a] / med[b]:>18.2f}" for a, b, _ in ratios[:1]))  # fmt: skip
        print(
            f"\n  {'start-up (s)':<24}"
            + "".join(f"{k:>12}" for k in ours)
            + (f"{'vaccine - mitmdump':>20}" if {"vaccine", "mitmdump"} <= set(kinds) else "")
        )
        for label, times in (("to accepting", startup), ("to the first answer", answered)):
            med = {k: statistics.median(v) for k, v in times.items()}
            gap = (f"{med['vaccine'] - med['mitmdump']:>+19.2f}s"
                   if {"vaccine", "mitmdump"} <= set(kinds) else "")  # fmt: skip
            print(f"  {label:<24}" + "".join(f"{med[k]:>12.2f}" for k in ours) + gap)
    finally:
        for p in procs:
            p.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
