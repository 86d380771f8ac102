"""Optional proxy logins: a request or CONNECT that carries credentials must carry valid ones.

Unlike mitmproxy's `proxyauth`, a connection without credentials is fine (it is attributed by
address, port or mode); wrong ones get 407. The header is removed before anything is
forwarded, and only the user name is kept, on the connection: never the password.
"""

from __future__ import annotations

from collections.abc import Coroutine

from mitmproxy import http

from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.policy.htpasswd import parse_proxy_authorization

#: flow.metadata key set on a flow whose credentials were wrong (answered 407)
FAILED = "vaccine_login_failed"


class ProxyLogin:
    # Sync hooks that return a coroutine (awaited by mitmproxy) only for a request that
    # carries credentials: most carry none, and then cost no coroutine at all.

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def http_connect(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        return self._check(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        return self._check(flow)

    def _check(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        # Headers.get costs ~1.5 µs (a multidict lookup through case-folding helpers), on
        # every request; a scan of the raw names, ~0.15 µs, settles the common case first.
        for name, _ in flow.request.headers.fields:
            if len(name) == 19 and name.lower() == b"proxy-authorization":
                break
        else:
            return None
        value = flow.request.headers["proxy-authorization"]  # found above: never missing
        del flow.request.headers["proxy-authorization"]  # never forwarded upstream
        return self._verify(flow, value)

    async def _verify(self, flow: http.HTTPFlow, value: str) -> None:
        logins = self.shared.household.logins
        try:
            user, password = parse_proxy_authorization(value)
            ok = logins is not None and await logins.averify(user, password)
        except ValueError:
            ok = False
        except Exception:  # a broken login check refuses; it never lets the request in
            ok = False
        if not ok:
            flow.response = http.Response.make(
                407,
                b"Proxy login required: the user name or password is wrong.\n",
                {
                    "proxy-authenticate": 'Basic realm="Digital Vaccine"',
                    "content-type": "text/plain; charset=utf-8",
                },
            )
            flow.metadata[FAILED] = True
            return
        self.shared.conn(flow.client_conn).user = user
