"""The two certificate authorities of the end-to-end tests, and telling their leaves apart.

The proxy's CA lives in the proxy's confdir (created before the proxy starts, so the proxy
uses it instead of making its own). A separate origin CA signs the local HTTPS origin's
leaves. The test client trusts both, so a completed handshake says nothing by itself; the
leaf's issuer says whether the proxy intercepted the connection or passed it through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from mitmproxy import certs

Issuer = Literal["proxy", "origin", "unknown"]


@dataclass(frozen=True)
class CA:
    directory: Path
    basename: str
    subject: x509.Name = field(compare=False)

    @property
    def cert_pem(self) -> Path:
        """The CA certificate alone (what a device installs; what a verifier trusts)."""
        return self.directory / f"{self.basename}-ca-cert.pem"

    def store(self) -> certs.CertStore:
        return certs.CertStore.from_store(self.directory, self.basename, 2048)


def make_ca(directory: Path, basename: str, common_name: str) -> CA:
    """Create a CA the way mitmproxy does (`<basename>-ca.pem` holds key and certificate)."""
    certs.CertStore.create_store(
        directory, basename, 2048, organization=common_name, cn=common_name
    )
    cert = x509.load_pem_x509_certificate((directory / f"{basename}-ca-cert.pem").read_bytes())
    return CA(directory, basename, cert.subject)


@dataclass(frozen=True)
class Issuers:
    proxy: CA
    origin: CA

    def of(self, leaf_der: bytes) -> Issuer:
        """'proxy' for a leaf the proxy minted (interception), 'origin' for pass-through."""
        issuer = x509.load_der_x509_certificate(leaf_der).issuer
        if issuer == self.proxy.subject:
            return "proxy"
        if issuer == self.origin.subject:
            return "origin"
        return "unknown"
