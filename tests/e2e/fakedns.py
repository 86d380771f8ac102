"""A stand-in upstream resolver for DNS tests: answers a fixed zone over UDP (and TCP), and
remembers every name it was asked, so a test can tell a blocked name never left the proxy.

The zone: every name under `.test`, the engines' names and their safe hosts get an A record
(`ADDRESSES`, or 10.9.0.1 by default) and an AAAA; `ech.test` and `svcb.test` also have an
HTTPS / SVCB record carrying alpn and an ECH configuration; anything else is NXDOMAIN.

Run in-process (`FakeResolver().start()`) or as `python fakedns.py HOST PORT [ADDRESS]` in a
network namespace (ADDRESS: the answer for names not in `ADDRESSES`), where it prints
`asked NAME TYPE` per query and `ready` once it listens.
"""

from __future__ import annotations

import socket
import sys
import threading
from ipaddress import IPv4Address, IPv6Address

from mitmproxy import dns
from mitmproxy.net.dns import https_records, response_codes, types

#: Fixed addresses, so a test can tell a safe host's answer from the name it replaced.
ADDRESSES = {
    "forcesafesearch.google.com": "216.239.38.120",
    "strict.bing.com": "204.79.197.220",
    "safe.duckduckgo.com": "52.250.41.2",
    "restrict.youtube.com": "216.239.38.120",
    "www.google.com": "142.250.1.1",
    "www.bing.com": "13.107.21.200",
    "duckduckgo.com": "40.114.177.156",
    "www.youtube.com": "142.250.2.2",
    "search.yahoo.com": "74.6.1.1",
}
ZONE_SUFFIXES = (".test", ".google.com", ".bing.com", ".duckduckgo.com", ".youtube.com",
                 ".yahoo.com", ".icloud.com", ".net", ".google", ".it", ".uk", ".com")  # fmt: skip
ECH_CONFIG = b"\xfe\x0d\x00\x04test"


def ech_record(name: str, rtype: int) -> dns.ResourceRecord:
    record = https_records.HTTPSRecord(
        1,
        "",
        {1: b"\x02h2", 5: ECH_CONFIG},  # alpn h2, ech
    )
    return dns.ResourceRecord(name, rtype, 1, 300, https_records.pack(record))


def address_of(name: str, other: str = "10.9.0.1") -> str | None:
    if name in ADDRESSES:
        return ADDRESSES[name]
    if any(("." + name).endswith(s) for s in ZONE_SUFFIXES):
        return other
    return None


def reply(query: dns.DNSMessage, other: str = "10.9.0.1") -> dns.DNSMessage:
    q = query.question
    if q is None:
        return query.fail(response_codes.FORMERR)
    name = q.name.lower().rstrip(".")
    addr = address_of(name, other)
    if addr is None:
        return query.fail(response_codes.NXDOMAIN)
    records: list[dns.ResourceRecord] = []
    if q.type == types.A:
        records.append(dns.ResourceRecord.A(q.name, IPv4Address(addr), ttl=300))
    elif q.type == types.AAAA:
        records.append(dns.ResourceRecord.AAAA(q.name, IPv6Address("2001:db8::1"), ttl=300))
    elif q.type in (types.HTTPS, types.SVCB) and name in ("ech.test", "svcb.test"):
        records.append(ech_record(q.name, q.type))
    elif q.type == types.TXT:
        text = b"upstream says hello"  # one character-string: its length, then the bytes
        records.append(dns.ResourceRecord(q.name, types.TXT, 1, 300, bytes([len(text)]) + text))
    return query.succeed(records)


class FakeResolver:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, say: bool = False, other: str = "10.9.0.1"
    ) -> None:
        self.other = other
        # The same port for UDP and TCP: a free UDP port may have its TCP side taken (by an
        # outgoing connection's ephemeral port), so try again, closing what did not fit.
        while True:
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((host, port))
            self.address = self.udp.getsockname()
            try:
                self.tcp = socket.create_server(self.address)
                break
            except OSError:
                self.udp.close()
                if port:
                    raise
        self.asked: list[tuple[str, int]] = []
        self.say = say
        self._lock = threading.Lock()

    def start(self) -> FakeResolver:
        threading.Thread(target=self._serve_udp, daemon=True).start()
        threading.Thread(target=self._serve_tcp, daemon=True).start()
        return self

    def names(self) -> list[str]:
        with self._lock:
            return [n for n, _ in self.asked]

    def _note(self, query: dns.DNSMessage) -> None:
        q = query.question
        if q is None:
            return
        with self._lock:
            self.asked.append((q.name.lower(), q.type))
        if self.say:
            print(f"asked {q.name.lower()} {types.to_str(q.type)}", flush=True)

    def _serve_udp(self) -> None:
        while True:
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            try:
                query = dns.DNSMessage.unpack(data)
            except Exception:
                continue
            self._note(query)
            self.udp.sendto(reply(query, self.other).packed, peer)

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                try:
                    size = int.from_bytes(conn.recv(2))
                    query = dns.DNSMessage.unpack(conn.recv(size))
                except Exception:
                    continue
                self._note(query)
                packed = reply(query, self.other).packed
                conn.sendall(len(packed).to_bytes(2) + packed)

    def close(self) -> None:
        self.udp.close()
        self.tcp.close()


if __name__ == "__main__":
    other = sys.argv[3] if len(sys.argv) > 3 else "10.9.0.1"
    server = FakeResolver(sys.argv[1], int(sys.argv[2]), say=True, other=other).start()
    print("ready", flush=True)
    threading.Event().wait()
