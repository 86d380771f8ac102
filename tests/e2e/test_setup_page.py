"""The product's set-up page, PAC / WPAD and the start line, through a real `vaccine run`;
the trust check in a real headless Chromium, both ways; new devices noted by address."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .client import open_socket, read_response
from .harness import RunningProxy, wait_until
from .scenarios import ADDRESSES

pytestmark = pytest.mark.e2e
SYSTEMS = ["ios", "android", "windows", "macos", "chromeos", "firefox"]


def direct_get(port: int, path: str, host: str) -> tuple[int, str, dict[str, str]]:
    """A plain (origin-form) request to the proxy's port, as a device with no proxy set makes."""
    with open_socket(port) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        r = read_response(sock)
    return r.status, r.text, r.headers


def test_the_set_up_page_is_ours(main_proxy: RunningProxy) -> None:
    page = main_proxy.client(source=ADDRESSES["kid"]).get("http://mitm.it/")
    assert page.status == 200 and not page.from_origin
    assert "<h1>Set up this device</h1>" in page.text
    assert "mitmproxy" not in page.text.lower()
    for system in SYSTEMS:
        assert f'<details id="{system}">' in page.text
    assert f"http://127.0.0.1:{main_proxy.port}/proxy.pac" in page.text
    assert 'src="https://mitm.it/trust.svg"' in page.text


@pytest.mark.parametrize("kind", ["pem", "cer", "p12"])
def test_the_certificate_downloads(main_proxy: RunningProxy, kind: str) -> None:
    r = main_proxy.client().get(f"http://mitm.it/cert/{kind}")
    assert r.status == 200 and f'filename="digital-vaccine-ca.{kind}"' in r.headers.get(
        "content-disposition", ""
    )
    ca = x509.load_pem_x509_certificate(main_proxy.e2e.issuers.proxy.cert_pem.read_bytes())
    if kind == "p12":
        from cryptography.hazmat.primitives.serialization import pkcs12

        key, cert, more = pkcs12.load_key_and_certificates(r.body, None)
        assert key is None, "the CA's private key is never served"
        assert ca in [cert, *more]
    else:
        assert x509.load_pem_x509_certificate(r.body) == ca


def test_the_trust_image_is_https_only(main_proxy: RunningProxy) -> None:
    assert main_proxy.client().get("http://mitm.it/trust.svg").status == 404


def test_pac_and_the_page_on_the_proxys_own_address(main_proxy: RunningProxy) -> None:
    port = main_proxy.port
    status, text, headers = direct_get(port, "/proxy.pac", f"127.0.0.1:{port}")
    assert status == 200 and headers["content-type"] == "application/x-ns-proxy-autoconfig"
    assert f'return "PROXY 127.0.0.1:{port}";' in text
    assert "DIRECT" not in text.split('return "DIRECT"')[-1]  # no fallback past the filter
    status, text, _ = direct_get(port, "/", f"127.0.0.1:{port}")
    assert status == 200 and "<h1>Set up this device</h1>" in text
    assert direct_get(port, "/anything", f"127.0.0.1:{port}")[0] == 404


def test_wpad_hosts_get_the_pac_file(main_proxy: RunningProxy) -> None:
    r = main_proxy.client().get("http://wpad.home.arpa/wpad.dat")
    assert r.status == 200 and not r.from_origin and "FindProxyForURL" in r.text
    # as a browser asks for it: straight to the address `wpad.home.arpa` resolves to
    status, text, _ = direct_get(main_proxy.port, "/wpad.dat", "wpad.home.arpa")
    assert status == 200 and f"PROXY 127.0.0.1:{main_proxy.port}" in text


def test_the_start_line_names_the_set_up_url(main_proxy: RunningProxy) -> None:
    # Printed just after the line the harness waits for: waited for, not read at once.
    port = main_proxy.port
    main_proxy.process.wait_for(rf"set-up page http://127\.0\.0\.1:{port}/")


def test_unknown_addresses_are_noted_without_sites(main_proxy: RunningProxy) -> None:
    hh = main_proxy.household
    assert hh is not None
    main_proxy.client(source="127.0.0.199").get("http://allowed.test/some/path")
    seen = hh.db.parent / "unknown-devices.json"

    def noted() -> list[dict[str, str]]:
        try:
            rows = json.loads(seen.read_text())
        except (OSError, ValueError):
            return []
        return [r for r in rows if r["address"] == "127.0.0.199"]

    rows = wait_until(noted, timeout=20, what="127.0.0.199 in unknown-devices.json")
    assert set(rows[0]) == {"address", "last_seen"}
    assert "allowed" not in seen.read_text() and '127.0.0.1"' not in seen.read_text()
    assert oct(seen.stat().st_mode & 0o777) == "0o600"


def _spki(pem: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _chromium(proxy: RunningProxy, *flags: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe
    return subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--proxy-server=127.0.0.1:{proxy.port}", "--virtual-time-budget=5000", *flags,
         "http://mitm.it/"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")), reason="no chromium"
)
@pytest.mark.parametrize("trusted", [False, True], ids=["not-trusted", "trusted"])
def test_the_trust_check_in_a_real_browser(
    main_proxy: RunningProxy, tmp_path: Path, trusted: bool
) -> None:
    # Chromium trusts the proxy's CA only when told its key (the CA is not in its store).
    flags = [
        f"--ignore-certificate-errors-spki-list={_spki(main_proxy.e2e.issuers.proxy.cert_pem)}"
    ]
    dom = _chromium(main_proxy, "--dump-dom", *(flags if trusted else [])).stdout
    found = re.search(r'id="check-text">([^<]*)<', dom)
    assert found, dom[:500]
    if trusted:
        assert found.group(1).startswith("Yes: this device trusts the certificate")
    else:
        assert found.group(1).startswith("Not yet")
    # Phone and desktop widths render (the screenshots are looked at by a person).
    for name, size in (("phone", "390,1200"), ("desktop", "1280,1000")):
        shot = tmp_path / f"setup-{name}-{'trusted' if trusted else 'untrusted'}.png"
        _chromium(main_proxy, f"--window-size={size}", f"--screenshot={shot}", *flags)
        head = shot.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(head[16:20]) == int(size.split(",")[0])
