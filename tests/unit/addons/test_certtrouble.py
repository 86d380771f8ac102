"""vaccine.proxy.addons.certtrouble: a failed client handshake is one `no_ca` record for the
device's profile, with no site, no category and no address."""

from __future__ import annotations

from mitmproxy import tls
from mitmproxy.proxy import context as pcontext
from mitmproxy.test import taddons, tflow

from vaccine.proxy.addons.certtrouble import CertificateTrouble
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.store.records import NO_CA

from .conftest import FakeJournal

# mitmproxy's reasons (proxy/layers/tls.py, ClientTLSLayer.on_handshake_error)
NOT_TRUSTED = (
    "The client does not trust the proxy's certificate for adultsite.com (tlsv1 alert unknown ca)"
)
CLOSED = (
    "The client disconnected during the handshake. If this happens consistently for "
    "adultsite.com, this may indicate that the client does not trust the proxy's certificate."
)
VERSION = "Client and mitmproxy cannot agree on a TLS version to use. You may need to adjust"


def failed(
    tctx: taddons.context, port: int = 0, host: str = "adultsite.com", error: str = NOT_TRUSTED
) -> tls.TlsData:
    client = tflow.tclient_conn()
    client.error = error
    if port:
        client.proxy_mode = client.proxy_mode.parse(f"regular@{port}")
    client.sni = host
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (host, 443)
    return tls.TlsData(client, ctx)


def test_a_failed_handshake_is_counted_for_the_profile_without_a_site(
    shared: Shared, journal: FakeJournal, tctx: taddons.context
) -> None:
    addon = CertificateTrouble(shared, journal)
    addon.tls_failed_client(failed(tctx, port=8098))  # the "everything" profile's port
    addon.tls_failed_client(failed(tctx, error=CLOSED))  # no rule matches: unknown devices
    addon.tls_failed_client(failed(tctx, error=VERSION))  # not a certificate problem
    assert [(r.profile, r.site, r.category, r.action, r.rule) for r in journal.records] == [
        ("everything", "", "", "blocked", NO_CA),
        ("guest", "", "", "blocked", NO_CA),
    ]
    assert all("adultsite" not in repr(r) for r in journal.records)


def test_without_a_log_nothing_happens_and_errors_stay_inside(
    shared: Shared, journal: FakeJournal, tctx: taddons.context
) -> None:
    CertificateTrouble(shared, None).tls_failed_client(failed(tctx))
    broken = CertificateTrouble(shared, journal)
    shared.household = None  # type: ignore[assignment]  # any failure while attributing
    broken.tls_failed_client(failed(tctx))
    assert journal.records == []
