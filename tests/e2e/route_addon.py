"""Test-only mitmproxy addon: send every `*.test` server connection to the local origins.

Loaded into the proxy under test with `--set scripts=<this file>`. Port 443 goes to the
HTTPS origin, any other port to the HTTP origin (ports from VACCINE_E2E_HTTPS_PORT and
VACCINE_E2E_HTTP_PORT). No DNS, no /etc/hosts; the SNI sent upstream is left alone, so the
HTTPS origin still sees (and echoes) the name the client asked for.
"""

from __future__ import annotations

import os

from mitmproxy import connection
from mitmproxy.proxy import server_hooks

ORIGIN_HOST = "127.0.0.1"


def route(address: connection.Address | None) -> connection.Address | None:
    if address is None:
        return None
    host, port = address[0], address[1]
    if not host.rstrip(".").lower().endswith(".test"):
        return None
    if port == 443:
        return (ORIGIN_HOST, int(os.environ["VACCINE_E2E_HTTPS_PORT"]))
    return (ORIGIN_HOST, int(os.environ["VACCINE_E2E_HTTP_PORT"]))


def server_connect(data: server_hooks.ServerConnectionHookData) -> None:
    new = route(data.server.address)
    if new is not None:
        data.server.address = new
