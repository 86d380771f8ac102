"""A device without the proxy's certificate, through the real `vaccine run`: its refused TLS
handshake is counted for its profile (rule `no_ca`, no site), and the dashboard tells the
parent which child's device needs the certificate."""

from __future__ import annotations

import socket
import ssl
from datetime import datetime

import pytest

from vaccine.dashboard.source import LogSource

from . import logdb
from .harness import E2E, wait_until
from .household import Household
from .scenarios import ADDRESSES, write_main_household

pytestmark = pytest.mark.e2e


def handshake_without_the_ca(port: int, source: str, host: str) -> str:
    """CONNECT, then TLS trusting only the system's CAs, as a device without ours does."""
    with socket.create_connection(("127.0.0.1", port), source_address=(source, 0)) as sock:
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA loaded: trusts nothing of ours
        try:
            with ctx.wrap_socket(sock, server_hostname=host):
                return "handshake completed"
        except ssl.SSLCertVerificationError as e:
            return e.verify_message


def test_a_device_without_the_certificate_is_counted_and_shown(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hh = Household(tmp_path_factory.mktemp("no-ca-household"))
    write_main_household(hh)
    with e2e.vaccine(hh) as proxy:
        # blocked.test is intercepted for the block page: the device sees our certificate
        for _ in range(3):
            reason = handshake_without_the_ca(proxy.port, ADDRESSES["kid"], "blocked.test")
            assert "unable to get local issuer certificate" in reason, reason
        wait_until(
            lambda: logdb.rows(hh.db, "SELECT count FROM decisions WHERE rule = 'no_ca'"),
            what="the failed handshakes in the log",
        )
    rows = logdb.rows(hh.db, "SELECT profile, site, category, action, count FROM decisions "
                             "WHERE rule = 'no_ca'")  # fmt: skip
    assert [(p, s, c, a) for p, s, c, a, _ in rows] == [("kid", "", "", "blocked")]
    assert sum(n for *_, n in rows) == 3
    snapshot = LogSource(hh.db, hh.policies).load(datetime.now())
    assert [(c.profile, c.today) for c in snapshot.cert_trouble] == [("kid", 3)]
    kid = snapshot.child("kid")
    assert kid is not None and kid.today.blocked_total == 0  # not counted as blocked attempts
