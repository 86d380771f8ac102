"""vaccine.proxy.addons.decision: each hook carries out the pure decision's treatment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from mitmproxy.proxy import context as pcontext
from mitmproxy.proxy import events, layer, mode_specs
from mitmproxy.proxy.layers import ClientTLSLayer, ServerTLSLayer, TCPLayer
from mitmproxy.proxy.layers.tls import parse_client_hello
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.decision import TAG, TO_LOG, PolicyDecision, pretty_host
from vaccine.proxy.addons.shared import Shared, Verdict
from vaccine.proxy.policy.model import Device

from ..test_decision import NOON
from .conftest import client_hello, hello_data


@pytest.fixture
def addon(shared: Shared) -> PolicyDecision:
    return PolicyDecision(shared)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("example.com", None),
        ("adultsite.com", 403),
        ("WWW.ADULTSITE.COM.", 403),
        ("10.1.2.3", 403),
        ("mitm.it", None),  # onboarding is always reachable
    ],
)
def test_requestheaders_blocks_with_the_block_page(
    addon: PolicyDecision, tctx: taddons.context, host: str, status: int | None
) -> None:
    f = tflow.tflow(req=tutils.treq(host=host, path="/secret-path?q=secret-term"))
    addon.requestheaders(f)
    if status is None:
        assert f.response is None
        return
    assert f.response is not None and f.response.status_code == status
    page = f.response.get_text() or ""
    assert "text/html" in f.response.headers["content-type"]
    assert "secret" not in page  # the page names the site, never the path or query
    assert 'Childline <bdi dir="ltr">0800 1111</bdi>' in page
    logged = f.metadata[TO_LOG]
    assert isinstance(logged, Verdict) and logged.outcome == "blocked"


def test_onboarding_only_under_its_exact_name(addon: PolicyDecision, tctx: taddons.context) -> None:
    f = tflow.tflow(req=tutils.treq(host="mitm.it"))
    addon.requestheaders(f)
    assert f.metadata[TAG].decision.treatment == "onboarding"
    f = tflow.tflow(req=tutils.treq(host="mitm.it"))
    f.request.headers["host"] = "MITM.IT."  # mitmproxy's app would not answer: decided
    addon.requestheaders(f)
    assert f.metadata[TAG].decision.treatment != "onboarding"


def test_a_host_header_that_disagrees_with_the_url_is_decided_too(
    addon: PolicyDecision, tctx: taddons.context
) -> None:
    f = tflow.tflow(req=tutils.treq(host="example.com"))
    f.request.headers["host"] = "adultsite.com"
    addon.requestheaders(f)
    assert f.response is not None and f.response.status_code == 403


def test_an_error_inside_a_hook_blocks(
    addon: PolicyDecision, shared: Shared, tctx: taddons.context
) -> None:
    class Broken:
        def identify(self, **_: object) -> None:
            raise RuntimeError("boom")

    shared.household = dataclasses.replace(shared.household, identifier=Broken())
    f = tflow.tflow(req=tutils.treq(host="example.com"))
    addon.requestheaders(f)
    assert f.response is not None and f.response.status_code == 403
    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="example.com", port=443))
    addon.http_connect(f)
    assert f.response is not None and f.response.status_code == 403


def test_connect_refused_only_when_the_device_cannot_see_a_page(
    addon: PolicyDecision, shared: Shared, tctx: taddons.context
) -> None:
    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    addon.http_connect(f)
    assert f.response is None  # guest has the CA: intercepted later, to show the page
    assert f.metadata[TAG].decision.treatment == "tunnel"

    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    f.client_conn.proxy_mode = f.client_conn.proxy_mode.parse("regular@8099")
    addon.http_connect(f)
    assert f.response is not None and f.response.status_code == 403
    (pending,) = shared.conns[f.client_conn.id].pending
    assert pending.outcome == "blocked"


@pytest.mark.parametrize(
    ("sni", "port", "ignored"),
    [
        ("example.com", 0, True),  # allowed: passed through untouched
        ("adultsite.com", 0, False),  # blocked: intercepted to show the page
        ("sites.example.org", 0, False),  # a URL entry: the path decides, so decrypt
        ("example.com", 8098, False),  # inspect: everything
        ("mybank.com", 8098, True),  # ... except never_decrypt categories
        ("sites.example.org", 8099, True),  # no CA on the device: never intercepted
        ("mitm.it", 8099, False),  # the set-up page, even on a device without the CA
    ],
)
def test_tls_clienthello_passes_through_what_needs_no_look_inside(
    addon: PolicyDecision, tctx: taddons.context, sni: str, port: int, ignored: bool
) -> None:
    data = hello_data(tctx, sni, port)
    addon.tls_clienthello(data)
    assert data.ignore_connection is ignored


def test_an_approval_in_force_lets_the_site_through(
    addon: PolicyDecision, shared: Shared, tctx: taddons.context
) -> None:
    shared.approvals = {"guest": {"adultsite.com": None}}
    f = tflow.tflow(req=tutils.treq(host="www.adultsite.com"))
    addon.requestheaders(f)
    assert f.response is None


def test_a_daily_limit_used_up_answers_the_times_up_page(
    addon: PolicyDecision, tctx: taddons.context, journal: object
) -> None:
    journal.minutes = {"limited": {"games": 60}}  # type: ignore[attr-defined]
    f = tflow.tflow(req=tutils.treq(host="games.com"))
    f.client_conn.proxy_mode = f.client_conn.proxy_mode.parse("regular@8097")
    addon.requestheaders(f)
    assert f.response is not None and f.response.status_code == 403
    assert f.metadata[TAG].decision.page == "times_up"


@pytest.mark.parametrize(
    ("mode", "sni", "address", "hosts"),
    [
        # transparent/WireGuard: the address is only a destination IP, the SNI is what was asked
        ("transparent", "example.com", "93.184.216.34", ("example.com",)),
        ("wireguard", "example.com", "93.184.216.34", ("example.com",)),
        # no SNI at all: the address is all there is (and an address alone is blocked)
        ("transparent", None, "93.184.216.34", ("93.184.216.34",)),
        # regular/SOCKS: the server address is the name the client asked for
        ("socks5", "example.com", "adultsite.com", ("example.com", "adultsite.com")),
    ],
)
def test_which_names_a_tls_handshake_is_decided_on(
    addon: PolicyDecision,
    tctx: taddons.context,
    mode: str,
    sni: str | None,
    address: str,
    hosts: tuple[str, ...],
) -> None:
    client = tflow.tclient_conn()
    client.proxy_mode = mode_specs.ProxyMode.parse(mode)
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (address, 443)
    assert addon._tls_hosts(ctx, sni) == hosts


@pytest.mark.parametrize(
    ("sni", "address", "ignored"),
    [
        ("example.com", "93.184.216.34", True),
        ("adultsite.com", "93.184.216.34", False),  # blocked by SNI: intercepted for the page
        ("", "93.184.216.34", False),  # no SNI: an address only, blocked
    ],
)
def test_transparent_mode_decides_on_the_sni(
    addon: PolicyDecision, tctx: taddons.context, sni: str, address: str, ignored: bool
) -> None:
    from mitmproxy import tls

    client = tflow.tclient_conn()
    client.proxy_mode = mode_specs.ProxyMode.parse("transparent")
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (address, 443)
    hello = parse_client_hello(client_hello(sni or None))
    assert hello is not None and hello.sni == (sni or None)
    data = tls.ClientHelloData(ctx, hello)
    addon.tls_clienthello(data)
    assert data.ignore_connection is ignored


def test_the_quiet_time_page_names_the_window_and_when_it_ends(tmp_path: Path) -> None:
    from datetime import time

    from vaccine.proxy.policy.model import Window

    from .conftest import make_household

    lunch = Window("lunch", frozenset(range(7)), time(11, 30), time(13, 15), True, frozenset())
    household = make_household(tmp_path, quiet={"devices": (Device("port", port=8096),),
                                                "schedule": (lunch,)})  # fmt: skip
    shared = Shared(household, clock=lambda: NOON)
    f = tflow.tflow(req=tutils.treq(host="example.com"))
    f.client_conn.proxy_mode = mode_specs.ProxyMode.parse("regular@8096")
    PolicyDecision(shared).requestheaders(f)
    assert f.response is not None and f.response.status_code == 403
    page = f.response.get_text() or ""
    assert 'Lunch</bdi>: the internet is back at <bdi dir="ltr">13:15</bdi>.' in page


def test_the_page_speaks_the_households_language_with_its_help_line(tmp_path: Path) -> None:
    from dataclasses import replace

    from .conftest import make_household

    household = make_household(tmp_path)
    settings = replace(household.policies.settings, language="ar",
                       help_lines={"ar": "116 111", "vi": "111"})  # fmt: skip
    policies = replace(household.policies, settings=settings)
    shared = Shared(replace(household, policies=policies), clock=lambda: NOON)
    f = tflow.tflow(req=tutils.treq(host="adultsite.com"))
    PolicyDecision(shared).requestheaders(f)
    assert f.response is not None
    page = f.response.get_text() or ""
    assert '<html lang="ar" dir="rtl">' in page
    assert '<bdi dir="ltr">116 111</bdi>' in page and "Childline" not in page


@pytest.mark.parametrize(
    ("host", "header"),
    [
        ("example.com", "example.com"),
        ("example.com", "example.com:8080"),
        ("example.com", "other.example"),
        ("example.com", "EXAMPLE.COM."),
        ("example.com", None),
        ("example.com", ""),
        ("exa mple.com", "exa mple.com"),  # not a valid name: its own pretty host
        ("a:b", "a:b"),
        ("::1", "::1"),
        ("::1", "[::1]"),
        ("::1", "[::1]:8080"),
        ("[x]", "[x]"),
        ("10.1.2.3", "10.1.2.3"),
        ("xn--bcher-kva.example", "bücher.example"),
    ],
)
def test_pretty_host_is_mitmproxys(host: str, header: str | None) -> None:
    req = tutils.treq()
    req.data.host = host
    if header is None:
        req.headers.pop("host", None)
    else:
        req.headers["host"] = header
    assert pretty_host(req, req.host_header) == req.pretty_host


def _tls_next_layer(tctx: taddons.context, sni: str, port: int) -> layer.NextLayer:
    """A NextLayer for a CONNECT tunnel's first bytes (a ClientHello for `sni`), with the
    layers mitmproxy's own NextLayer chooses for TLS already set, as our hook finds them."""
    client = tflow.tclient_conn()
    client.proxy_mode = client.proxy_mode.parse(f"regular@{port}")
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (sni, 443)
    nl = layer.NextLayer(ctx)
    nl.events.append(events.DataReceived(client, client_hello(sni)))
    server_tls = ServerTLSLayer(ctx)
    server_tls.child_layer = ClientTLSLayer(ctx)
    nl.layer = server_tls
    return nl


@pytest.mark.parametrize(
    ("sni", "port", "relayed"),
    [
        ("example.com", 0, True),  # allowed, nothing to look at: a bare relay
        ("sites.example.org", 0, False),  # a URL entry: decrypted, the path decides
        ("adultsite.com", 0, False),  # blocked: decrypted to show the page
        ("mybank.com", 8098, True),  # never_decrypt, under inspect: everything
    ],
)
def test_a_passed_through_handshake_is_relayed_as_mitmproxy_relays_an_ignored_host(
    addon: PolicyDecision, shared: Shared, tctx: taddons.context, sni: str, port: int,
    relayed: bool,
) -> None:  # fmt: skip
    nl = _tls_next_layer(tctx, sni, port)
    chosen = nl.layer
    addon.next_layer(nl)
    ctx = nl.context
    if relayed:
        # What mitmproxy's NextLayer builds for ignore_hosts: the TLS layers, never started,
        # are gone from the stack and neither connection is marked TLS.
        assert isinstance(nl.layer, TCPLayer) and nl.layer.flow is None  # no flow: ignored
        assert not any(isinstance(x, ClientTLSLayer | ServerTLSLayer) for x in ctx.layers)
        assert not ctx.client.tls and not ctx.server.tls
        pending = shared.conns[ctx.client.id].pending
        assert [(v.outcome, v.decision.treatment) for v in pending] == [
            ("passed-through", "pass_through")
        ]
    else:
        assert nl.layer is chosen
        assert ctx.client.tls and ctx.server.tls


def test_tls_inside_tls_is_left_to_the_clienthello_hook(
    addon: PolicyDecision, shared: Shared, tctx: taddons.context
) -> None:
    nl = _tls_next_layer(tctx, "example.com", 0)
    outer = ClientTLSLayer(nl.context)  # an HTTPS proxy: the client's TLS to us, outside
    nl.context.layers.insert(0, nl.context.layers.pop())
    chosen = nl.layer
    addon.next_layer(nl)
    assert nl.layer is chosen and outer in nl.context.layers
