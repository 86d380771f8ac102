"""The set-up page, the certificate downloads, the trust check and the PAC / WPAD file,
answered by the proxy itself (proxy.pages.onboarding renders them).

Two small addons share one `SetupAnswers`:

- `SetupPage` (after the decision) answers requests the decision marked `onboarding`: the
  set-up host (mitm.it) through the proxy, over http or the intercepted https. It answers in
  `requestheaders`, so mitmproxy's own onboarding app (a `request` hook) never does.
- `ProxyHome` (before the decision) answers requests addressed to the proxy's own address
  (`http://192.168.1.10:8080/`: a device with no proxy set yet reaches the page and the PAC
  file there) and `/wpad.dat` on `wpad.<domain>` hosts, which a browser fetches directly.
  Anything else on the proxy's own address gets 404: it is never forwarded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Coroutine
from pathlib import Path

from mitmproxy import ctx, http
from mitmproxy.proxy import mode_specs

from vaccine.proxy.addons.decision import TAG
from vaccine.proxy.addons.shared import Shared, Verdict
from vaccine.proxy.pages import onboarding

log = logging.getLogger("vaccine")
_NO_STORE = {"cache-control": "no-store"}
_CERT_TYPES = {
    "pem": "application/x-x509-ca-cert",
    "cer": "application/x-x509-ca-cert",
    "p12": "application/x-pkcs12",
}


def proxy_address(flow: http.HTTPFlow) -> str:
    """HOST:PORT of the proxy as this device reached it (the accepting socket's address)."""
    mode = flow.client_conn.proxy_mode
    sock = flow.client_conn.sockname
    if isinstance(mode, mode_specs.RegularMode) and sock and sock[0]:
        host, port = _plain(sock[0]), sock[1]
    else:  # a transparent or WireGuard device: the ordinary proxy's listen address
        from vaccine.proxy.devices import lan_addresses

        host = ctx.options.listen_host or next(iter(lan_addresses()), "127.0.0.1")
        port = ctx.options.listen_port or 8080
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _plain(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class SetupAnswers:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def answer(self, flow: http.HTTPFlow) -> http.Response:
        req = flow.request
        path = req.path.split("?", 1)[0]
        address = proxy_address(flow)
        if path in onboarding.PAC_PATHS:
            return http.Response.make(
                200,
                onboarding.pac(address).encode(),
                {"content-type": onboarding.PAC_TYPE, **_NO_STORE},
            )
        if path == onboarding.TRUST_PATH:
            if req.scheme != "https":  # only the intercepted https proves anything
                return _not_found()
            return http.Response.make(
                200, onboarding.TRUST_SVG, {"content-type": "image/svg+xml", **_NO_STORE}
            )
        if path.startswith("/cert/"):
            return await self._certificate(path.removeprefix("/cert/"))
        if path not in ("/", "/index.html"):
            return _not_found()
        settings = self.shared.household.policies.settings
        page = onboarding.render(
            language=settings.language,
            setup_host=ctx.options.onboarding_host,
            proxy_address=address,
            pac_url=f"http://{address}/proxy.pac",
            fingerprint=_fingerprint(),
        )
        return http.Response.make(
            200, page.encode(), {"content-type": "text/html; charset=utf-8", **_NO_STORE}
        )

    async def _certificate(self, kind: str) -> http.Response:
        if kind not in _CERT_TYPES:
            return _not_found()
        store = _certstore()
        if store is None:
            return _not_found()
        if kind == "p12":
            path = Path(ctx.options.confdir).expanduser() / "mitmproxy-ca-cert.p12"
            data = await asyncio.to_thread(path.read_bytes)
        else:
            data = store.default_ca.to_pem()
        return http.Response.make(
            200,
            data,
            {
                "content-type": _CERT_TYPES[kind],
                "content-disposition": f'attachment; filename="digital-vaccine-ca.{kind}"',
                **_NO_STORE,
            },
        )


class SetupPage:
    """Answers what the decision marked `onboarding` (the set-up host)."""

    def __init__(self, answers: SetupAnswers) -> None:
        self.answers = answers

    def requestheaders(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        if flow.response or flow.error or not flow.live:
            return None
        verdict = flow.metadata.get(TAG)
        if not isinstance(verdict, Verdict) or verdict.decision.treatment != "onboarding":
            return None
        return _answer(self.answers, flow)


class ProxyHome:
    """Answers requests addressed to the proxy itself, and WPAD."""

    def __init__(self, answers: SetupAnswers) -> None:
        self.answers = answers

    def requestheaders(self, flow: http.HTTPFlow) -> Coroutine[None, None, None] | None:
        # On every request: a sync hook, and an answer (a coroutine mitmproxy awaits) only
        # for the few requests that are ours.
        if flow.response or flow.error or not flow.live:
            return None
        req = flow.request
        wpad = req.path == "/wpad.dat" and onboarding.is_wpad_host(req.pretty_host.lower())
        if wpad or to_the_proxy_itself(flow):
            return _answer(self.answers, flow)
        return None


def to_the_proxy_itself(flow: http.HTTPFlow) -> bool:
    """A plain request whose destination is the very socket it arrived on (regular mode)."""
    client = flow.client_conn
    if not isinstance(client.proxy_mode, mode_specs.RegularMode) or not client.sockname:
        return False
    req = flow.request
    return (
        req.port == client.sockname[1]
        and req.scheme == "http"
        and _plain(req.host) == _plain(client.sockname[0])
    )


async def _answer(answers: SetupAnswers, flow: http.HTTPFlow) -> None:
    try:
        flow.response = await answers.answer(flow)
    except Exception:  # never forwarded instead
        log.exception("error while answering the set-up page")
        flow.response = http.Response.make(500, b"The set-up page failed.\n", _NO_STORE)


def _not_found() -> http.Response:
    return http.Response.make(404, b"Not found.\n", {"content-type": "text/plain", **_NO_STORE})


def _certstore():  # type: ignore[no-untyped-def]
    tlsconfig = ctx.master.addons.get("tlsconfig")
    return getattr(tlsconfig, "certstore", None)


def _fingerprint() -> str:
    store = _certstore()
    if store is None:
        return ""
    return store.default_ca.fingerprint().hex(":").upper()


def start_lines(servers: object) -> list[str]:
    """What the start adds: for each ordinary proxy listener, the addresses devices on the
    network reach it at, with the set-up page and PAC URL there."""
    from vaccine.proxy.devices import lan_addresses

    lines = []
    for server in servers:  # type: ignore[attr-defined]
        if not isinstance(server.mode, mode_specs.RegularMode):
            continue
        for addr in server.listen_addrs:
            host, port = addr[0], addr[1]
            hosts = lan_addresses() if host in ("", "0.0.0.0", "::") else [host]
            for h in hosts:
                address = f"[{h}]:{port}" if ":" in h else f"{h}:{port}"
                lines.append(
                    f"for devices: proxy {address}, set-up page http://{address}/ , "
                    f"automatic proxy settings http://{address}/proxy.pac"
                )
    return lines
