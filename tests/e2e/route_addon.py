"""Test-only mitmproxy addon: send every `*.test` server connection to the local origins.

Loaded into the proxy under test with `--set scripts=<this file>`. Port 443 goes to the
HTTPS origin, any other port to the HTTP origin (ports from VACCINE_E2E_HTTPS_PORT and
VACCINE_E2E_HTTP_PORT). No DNS, no /etc/hosts; the SNI sent upstream is left alone, so the
HTTPS origin still sees (and echoes) the name the client asked for.

VACCINE_E2E_ROUTE_SUFFIXES (comma-separated, default `.test`) adds other names, for tests
that need a real engine's name (`.google.com`) to reach a local origin.

Once connected, the server connection gets back the address the client asked for. mitmproxy
reuses a keep-alive server connection only for a request to the same address
(`GetHttpConnection.connection_spec_matches`), and allows five connections at a time per
address and client connection (`ConnectionHandler.max_conns`): with the origin's address
left in place, every request on a keep-alive connection opened a new server connection and
the sixth waited forever. Restored, requests reuse the connection as they would a real site's.
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
    name = host.rstrip(".").lower()
    # Each entry covers itself and its sub-domains, like a list entry does.
    suffixes = [
        s.strip(".") for s in os.environ.get("VACCINE_E2E_ROUTE_SUFFIXES", ".test").split(",")
    ]
    if not any(s and (name == s or name.endswith("." + s)) for s in suffixes):
        return None
    if port == 443:
        return (ORIGIN_HOST, int(os.environ["VACCINE_E2E_HTTPS_PORT"]))
    return (ORIGIN_HOST, int(os.environ["VACCINE_E2E_HTTP_PORT"]))


#: server connection id → the address the client asked for, until it is connected
_ASKED: dict[str, connection.Address] = {}


def server_connect(data: server_hooks.ServerConnectionHookData) -> None:
    asked = data.server.address
    new = route(asked)
    if new is not None and asked is not None:
        _ASKED[data.server.id] = asked
        data.server.address = new


def server_connected(data: server_hooks.ServerConnectionHookData) -> None:
    asked = _ASKED.pop(data.server.id, None)
    if asked is not None:
        # mitmproxy refuses `server.address = ...` on an open connection (a script that
        # means to redirect it should not think it did); here it only renames it back.
        object.__setattr__(data.server, "address", asked)


def server_connect_error(data: server_hooks.ServerConnectionHookData) -> None:
    _ASKED.pop(data.server.id, None)
