"""Devices that fail the TLS handshake with the proxy: most often the proxy's certificate is
not installed there, so the child sees "Your connection is not private" instead of a block
page. Counted per profile and minute in the decision log (rule `no_ca`), with no site and no
address, so the dashboard can tell the parent which child's device needs the certificate.

Only the handshake with the client counts (`tls_failed_client`); a failing upstream server is
not the device's fault. A profile whose `ca_installed: false` is never intercepted, so it
never gets here.
"""

from __future__ import annotations

import logging

from mitmproxy import tls

from vaccine.proxy.addons.record import Journal
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.store.records import no_ca_record

log = logging.getLogger("vaccine.proxy")


class CertificateTrouble:
    def __init__(self, shared: Shared, journal: Journal | None) -> None:
        self.shared = shared
        self.journal = journal

    def tls_failed_client(self, data: tls.TlsData) -> None:
        # mitmproxy's reason says "trust" for the three ways a device shows that it does not
        # trust the certificate (an unknown-CA alert, a bad-certificate alert, closing at
        # once); a TLS version both sides lack is another problem.
        if self.journal is None or "trust" not in (data.conn.error or ""):
            return
        try:
            profile = self.shared.profile_for(data.context.client)
            self.journal.submit(no_ca_record(profile.id, self.shared.clock()))
        except Exception as e:  # counting must never disturb the proxy
            log.warning("a failed handshake could not be counted: %s", type(e).__name__)
