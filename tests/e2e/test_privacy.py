"""What the proxy prints and records: never a path, a query, or a password (PRODUCT.md,
"What is recorded"). Checked after SIGTERM, when the log has been flushed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import E2E
from .household import Household
from .scenarios import ADDRESSES, LOGIN, SECRET_PATH, assert_reached_origin, write_main_household

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "wrong-password-5d1e"
SECRETS = ["private-diary-7f3a", "secret-words-91c2", LOGIN[1], WRONG_PASSWORD]


def test_no_path_query_or_password_is_printed_or_recorded(e2e: E2E, tmp_path: Path) -> None:
    hh = Household(tmp_path)
    write_main_household(hh)
    with e2e.vaccine(hh) as proxy:
        kid = proxy.client()
        assert_reached_origin(kid.get(f"http://allowed.test{SECRET_PATH}"))
        assert kid.get(f"http://blocked.test{SECRET_PATH}").status == 403
        inside = proxy.client(source=ADDRESSES["open"]).https("allowed.test:443", path=SECRET_PATH)
        assert inside.issuer == "proxy" and inside.response is not None, inside
        assert_reached_origin(inside.response)
        assert_reached_origin(proxy.client(auth=LOGIN).get(f"http://allowed.test{SECRET_PATH}"))
        refused = proxy.client(auth=(LOGIN[0], WRONG_PASSWORD)).get("http://allowed.test/")
        assert refused.status == 407, refused
        assert WRONG_PASSWORD not in refused.text
        process = proxy.process
    output = process.output()
    recorded = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != hh.policies]
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} printed by the proxy:\n{output}"
        for path in recorded:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} recorded in {path}"


def test_nothing_printed_names_a_site_or_pairs_a_device_with_one(e2e: E2E, tmp_path: Path) -> None:
    """Everything the proxy and mitmproxy print during varied traffic, scanned for the hosts
    visited and for client addresses: under a service manager it would all be in journald."""
    import re
    import ssl

    hh = Household(tmp_path)
    write_main_household(hh)
    visited = ["allowed.test", "blocked.test", "adult.test", "casino.test", "bank.test"]
    with e2e.vaccine(hh) as proxy:
        kid = proxy.client()
        for host in visited:
            kid.get(f"http://{host}{SECRET_PATH}")
            proxy.client(source=ADDRESSES["teen"]).https(f"{host}:443", path=SECRET_PATH)
        # A device that does not trust the proxy's CA: mitmproxy logs the failed handshake,
        # naming the site, unless the console keeps it private.
        for host in ("blocked.test", "adult.test"):
            sock, status, _ = kid.connect(f"{host}:443")
            with sock:
                assert status == 200
                ctx = ssl.create_default_context(cafile=str(e2e.issuers.origin.cert_pem))
                with pytest.raises(ssl.SSLError):
                    ctx.wrap_socket(sock, server_hostname=host)
        kid.get("http://allowed.test/", headers={"host": "bad name.test"})
        proxy.client(auth=("emma-tablet", WRONG_PASSWORD)).get("http://allowed.test/")
        port = proxy.port
    printed = proxy.process.output()
    assert "TLS handshake with the proxy failed" in printed  # said, in words of its own
    for host in [*visited, "bad name.test", "emma-tablet"]:
        assert host not in printed, f"the console names {host!r}:\n{printed}"
    peers = set(re.findall(r"127\.0\.\d+\.\d+:(\d+)", printed)) - {str(port)}
    assert not peers, f"the console names client addresses: {peers}\n{printed}"


def test_the_log_files_are_readable_by_the_parent_only(e2e: E2E, tmp_path: Path) -> None:
    import os
    import stat

    hh = Household(tmp_path)
    write_main_household(hh)
    old = os.umask(0o022)  # the usual umask: files would be world-readable by default
    try:
        with e2e.vaccine(hh) as proxy:
            assert proxy.client().get("http://blocked.test/").status == 403
            written = sorted(hh.db.parent.glob(hh.db.name + "*"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in written}
    finally:
        os.umask(old)
    assert {"vaccine.db", "vaccine.db-wal", "vaccine.db-shm"} <= set(modes), modes
    assert modes == {name: 0o600 for name in modes}, modes
