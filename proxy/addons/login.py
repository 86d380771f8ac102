"""Optional proxy logins: a request or CONNECT that carries credentials must carry valid ones.

Unlike mitmproxy's `proxyauth`, a connection without credentials is fine (it is attributed by
address, port or mode); wrong ones get 407. The header is removed before anything is
forwarded, and only the user name is kept, on the connection: never the password.
"""

from __future__ import annotations

from mitmproxy import http

from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.policy.htpasswd import parse_proxy_authorization

#: flow.metadata key set on a flow whose credentials were wrong (answered 407)
FAILED = "vaccine_login_failed"


class ProxyLogin:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        await self._check(flow)

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        await self._check(flow)

    async def _check(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        value = flow.request.headers.get("proxy-authorization")
        if value is None:
            return
        del flow.request.headers["proxy-authorization"]  # never forwarded upstream
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
