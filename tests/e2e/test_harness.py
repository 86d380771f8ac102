"""The harness checked against plain mitmdump, so a vaccine failure is never a harness bug.

Same CA, router and origin trust as the vaccine tests; `ignore_hosts` stands in for the
policy's pass-through.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import route_addon
from .certs import Issuers, make_ca
from .client import open_socket
from .harness import E2E, RunningProxy


@pytest.fixture(scope="module")
def mitmdump(e2e: E2E) -> Iterator[RunningProxy]:
    with e2e.mitmdump(["--set", r"ignore_hosts=^passthrough\.test:"]) as proxy:
        yield proxy


def test_http_reaches_the_http_origin(mitmdump: RunningProxy) -> None:
    r = mitmdump.client().get("http://plain.test/some/path?q=1")
    assert r.status == 200, r
    echo = r.json()
    assert echo["origin"] == "http"
    assert echo["host"] == "plain.test"
    assert echo["path"] == "/some/path?q=1"


def test_intercepted_https_shows_the_proxy_ca(mitmdump: RunningProxy) -> None:
    r = mitmdump.client().https("intercepted.test:443", path="/inside")
    assert r.connect_status == 200, r
    assert r.issuer == "proxy", r
    assert r.response is not None and r.response.status == 200, r
    echo = r.response.json()
    assert (echo["origin"], echo["host"], echo["path"]) == ("https", "intercepted.test", "/inside")
    assert echo["sni"] == "intercepted.test"  # the proxy forwarded the client's SNI


def test_passed_through_https_shows_the_origin_ca(mitmdump: RunningProxy) -> None:
    r = mitmdump.client().https("passthrough.test:443", path="/untouched")
    assert r.issuer == "origin", r
    assert r.response is not None
    echo = r.response.json()
    assert (echo["origin"], echo["sni"], echo["path"]) == (
        "https",
        "passthrough.test",
        "/untouched",
    )


def test_sni_and_host_can_differ_from_the_connect_target(mitmdump: RunningProxy) -> None:
    r = mitmdump.client().https("first.test:443", sni="other.test", host="third.test")
    assert r.issuer == "proxy", r
    assert r.response is not None
    echo = r.response.json()
    assert (echo["sni"], echo["host"]) == ("other.test", "third.test")


def test_other_source_address(mitmdump: RunningProxy) -> None:
    r = mitmdump.client(source="127.0.0.2").get("http://plain.test/")
    assert r.status == 200, r
    with open_socket(mitmdump.port, "127.0.0.2") as s:
        assert s.getsockname()[0] == "127.0.0.2"


def test_https_origin_directly_is_issued_by_the_origin_ca(e2e: E2E) -> None:
    ctx = ssl.create_default_context(cafile=str(e2e.issuers.origin.cert_pem))
    with (
        socket.create_connection(("127.0.0.1", e2e.https_origin.port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="direct.test") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        assert e2e.issuers.of(der) == "origin"
        leaf = x509.load_der_x509_certificate(der)
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "direct.test" in names.get_values_for_type(x509.DNSName)


def test_issuer_helper_says_unknown_for_a_third_ca(
    issuers: Issuers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    third = make_ca(tmp_path_factory.mktemp("third-ca"), "third", "someone else")
    leaf = third.store().get_cert("x.test", [x509.DNSName("x.test")]).cert
    assert issuers.of(leaf.to_cryptography().public_bytes(serialization.Encoding.DER)) == "unknown"
    ours = issuers.proxy.store().get_cert("x.test", [x509.DNSName("x.test")]).cert
    assert issuers.of(ours.to_cryptography().public_bytes(serialization.Encoding.DER)) == "proxy"


def test_router_sends_only_the_chosen_suffixes(e2e: E2E) -> None:
    with e2e.mitmdump(route=(".test", "example.com")) as proxy:
        client = proxy.client()
        assert client.get("http://www.example.com/").json()["host"] == "www.example.com"
        assert client.get("http://example.com/").from_origin


@pytest.mark.parametrize(
    ("address", "routed"),
    [
        (("a.test", 443), ("127.0.0.1", 4443)),
        (("A.TEST.", 80), ("127.0.0.1", 8080)),
        (("a.test", 8443), ("127.0.0.1", 8080)),
        (("www.example.com", 443), ("127.0.0.1", 4443)),
        (("notexample.com", 443), None),  # a suffix is a whole label
        (("example.com.evil", 80), None),
        (("127.0.0.1", 80), None),
    ],
)
def test_router_table(
    monkeypatch: pytest.MonkeyPatch, address: tuple[str, int], routed: object
) -> None:
    monkeypatch.setenv("VACCINE_E2E_HTTP_PORT", "8080")
    monkeypatch.setenv("VACCINE_E2E_HTTPS_PORT", "4443")
    monkeypatch.setenv("VACCINE_E2E_ROUTE_SUFFIXES", ".test,example.com")
    assert route_addon.route(address) == routed
