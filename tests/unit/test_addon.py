"""The addon's hooks, driven with mitmproxy's own test helpers (no sockets)."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import bcrypt
import pytest
from mitmproxy import tls
from mitmproxy.addons import onboarding, proxyserver
from mitmproxy.proxy import context as pcontext
from mitmproxy.proxy import mode_specs
from mitmproxy.proxy.layers.tls import parse_client_hello
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons.filter import Vaccine
from vaccine.proxy.askparent import ASK_PATH
from vaccine.proxy.household import Household
from vaccine.proxy.lists.terms import EMPTY_TERMS
from vaccine.proxy.policy.htpasswd import Htpasswd
from vaccine.proxy.policy.identify import Identifier
from vaccine.proxy.policy.model import Device, DomainRules, PolicySet, Profile, Settings

from .test_decision import LISTS, NOON


def make_household(tmp_path: Path, **kids: dict[str, object]) -> Household:
    profiles = {
        "guest": Profile(
            id="guest",
            name="Guest",
            source=Path("guest.yaml"),
            block_categories=frozenset({"adult", "banking"}),
        )
    }
    for pid, kw in kids.items():
        block = tuple(kw.pop("block", ()))  # type: ignore[call-overload]
        profiles[pid] = Profile(
            id=pid,
            name=pid,
            source=Path(f"{pid}.yaml"),
            block_domains=block,
            domain_rules=DomainRules.build((), block),
            block_categories=frozenset({"adult"}),
            **kw,  # type: ignore[arg-type]
        )
    htpasswd = tmp_path / "users.htpasswd"
    pw = bcrypt.hashpw(b"right", bcrypt.gensalt(4)).decode()
    htpasswd.write_text(f"emma-tablet:{pw}\n")
    policies = PolicySet(tmp_path, Settings(help_line="Childline 0800 1111"), profiles)
    return Household(
        policies_dir=tmp_path,
        lists_dir=tmp_path,
        policies=policies,
        lists=LISTS,  # type: ignore[arg-type]
        terms=EMPTY_TERMS,
        warnings=(),
        identifier=Identifier(policies),
        logins=Htpasswd.load(htpasswd),
        fingerprint=(),
    )


@pytest.fixture
def addon(tmp_path: Path) -> Vaccine:
    hh = make_household(
        tmp_path,
        emma={"devices": (Device("user", user="emma-tablet"),), "block": ["tiktok.com"]},
        nocert={"devices": (Device("port", port=8099),), "ca_installed": False},
        everything={"devices": (Device("port", port=8098),), "inspect": "everything"},
    )
    return Vaccine(hh, clock=lambda: NOON)


@pytest.fixture
def tctx(addon: Vaccine):  # type: ignore[no-untyped-def]
    with taddons.context(addon, onboarding.Onboarding(), proxyserver.Proxyserver()) as tctx:
        yield tctx


def auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


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
async def test_requestheaders_blocks_with_the_block_page(
    addon: Vaccine, tctx: taddons.context, host: str, status: int | None
) -> None:
    f = tflow.tflow(req=tutils.treq(host=host, path="/secret-path?q=secret-term"))
    await addon.requestheaders(f)
    if status is None:
        assert f.response is None
        return
    assert f.response is not None and f.response.status_code == status
    page = f.response.get_text() or ""
    assert "text/html" in f.response.headers["content-type"]
    assert "secret" not in page  # the page names the site, never the path or query
    assert "Childline 0800 1111" in page


async def test_a_host_header_that_disagrees_with_the_url_is_decided_too(
    addon: Vaccine, tctx: taddons.context
) -> None:
    f = tflow.tflow(req=tutils.treq(host="example.com"))
    f.request.headers["host"] = "adultsite.com"
    await addon.requestheaders(f)
    assert f.response is not None and f.response.status_code == 403


async def test_an_error_inside_a_hook_blocks(addon: Vaccine, tctx: taddons.context) -> None:
    class Broken:
        def identify(self, **_: object) -> None:
            raise RuntimeError("boom")

    addon.household = addon.household.__class__(
        **{**addon.household.__dict__, "identifier": Broken()}
    )
    f = tflow.tflow(req=tutils.treq(host="example.com"))
    await addon.requestheaders(f)
    assert f.response is not None and f.response.status_code == 403


@pytest.mark.parametrize(
    ("header", "status", "profile_blocks_tiktok"),
    [
        (None, None, False),  # no credentials: attributed by address → guest
        (auth("emma-tablet", "right"), None, True),
        (auth("emma-tablet", "wrong"), 407, False),
        (auth("nobody", "right"), 407, False),
        ("Bearer abc", 407, False),
    ],
)
async def test_optional_logins(
    addon: Vaccine,
    tctx: taddons.context,
    header: str | None,
    status: int | None,
    profile_blocks_tiktok: bool,
) -> None:
    f = tflow.tflow(req=tutils.treq(host="tiktok.com"))
    if header:
        f.request.headers["proxy-authorization"] = header
    await addon.requestheaders(f)
    assert "proxy-authorization" not in f.request.headers  # never forwarded
    if status == 407:
        assert f.response is not None and f.response.status_code == 407
        assert "proxy-authenticate" in f.response.headers
    elif profile_blocks_tiktok:
        assert f.response is not None and f.response.status_code == 403
    else:
        assert f.response is None


async def test_connect_refused_only_when_the_device_cannot_see_a_page(
    addon: Vaccine, tctx: taddons.context
) -> None:
    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    await addon.http_connect(f)
    assert f.response is None  # guest has the CA: intercepted later, to show the page

    f = tflow.tflow(req=tutils.treq(method=b"CONNECT", host="adultsite.com", port=443))
    f.client_conn.proxy_mode = f.client_conn.proxy_mode.parse("regular@8099")
    await addon.http_connect(f)
    assert f.response is not None and f.response.status_code == 403


def client_hello(sni: str | None) -> bytes:
    ctx = ssl.create_default_context()
    if sni is None:  # a ClientHello without the SNI extension
        ctx.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def hello_data(tctx: taddons.context, sni: str, port: int = 0) -> tls.ClientHelloData:
    client = tflow.tclient_conn()
    if port:
        client.proxy_mode = client.proxy_mode.parse(f"regular@{port}")
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (sni, 443)
    return tls.ClientHelloData(ctx, parse_client_hello(client_hello(sni)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sni", "port", "ignored"),
    [
        ("example.com", 0, True),  # allowed: passed through untouched
        ("adultsite.com", 0, False),  # blocked: intercepted to show the page
        ("sites.example.org", 0, False),  # a URL entry: the path decides, so decrypt
        ("example.com", 8098, False),  # inspect: everything
        ("mybank.com", 8098, True),  # ... except never_decrypt categories
        ("sites.example.org", 8099, True),  # no CA on the device: never intercepted
    ],
)
def test_tls_clienthello_passes_through_what_needs_no_look_inside(
    addon: Vaccine, tctx: taddons.context, sni: str, port: int, ignored: bool
) -> None:
    data = hello_data(tctx, sni, port)
    addon.tls_clienthello(data)
    assert data.ignore_connection is ignored


class FakeDesk:
    db_path = Path("/nonexistent/v.db")

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    async def handle(self, **kw: object) -> tuple[int, str]:
        self.calls.append(kw)
        return 200, "<h1>sent</h1>"


@pytest.mark.parametrize(
    ("host", "headers", "status", "asked"),
    [
        ("adultsite.com", {}, 200, True),  # from the block page of a blocked site
        ("example.com", {}, 200, True),  # an allowed site: still answered here, never forwarded
        ("adultsite.com", {"sec-fetch-site": "cross-site"}, 403, False),
    ],
)
async def test_the_ask_form_is_answered_by_the_proxy(
    addon: Vaccine,
    tctx: taddons.context,
    host: str,
    headers: dict[str, str],
    status: int,
    asked: bool,
) -> None:
    desk = FakeDesk()
    addon.desk = desk  # type: ignore[assignment]
    f = tflow.tflow(req=tutils.treq(host=host, method=b"POST", path=ASK_PATH.encode()))
    f.request.headers.update(headers)
    f.request.content = b"message=please&status=approved"
    await addon.requestheaders(f)
    assert f.response is None  # answered once the body is here
    await addon.request(f)
    assert f.response is not None and f.response.status_code == status
    assert bool(desk.calls) is asked
    if asked:
        assert desk.calls[0]["profile"].id == "guest"  # type: ignore[union-attr]


async def test_an_approval_in_force_lets_the_site_through(
    addon: Vaccine, tctx: taddons.context
) -> None:
    addon.approvals = {"guest": {"adultsite.com": None}}
    f = tflow.tflow(req=tutils.treq(host="www.adultsite.com"))
    await addon.requestheaders(f)
    assert f.response is None


@pytest.mark.parametrize(
    ("mode", "sni", "address", "hosts"),
    [
        # transparent/WireGuard: the address is only a destination IP, the SNI is what was asked
        ("transparent", "example.com", "93.184.216.34", ("example.com",)),
        ("wireguard", "example.com", "93.184.216.34", ("example.com",)),
        # no SNI at all: the address is all there is (and an address alone is blocked)
        ("transparent", None, "93.184.216.34", (None, "93.184.216.34")),
        # regular/SOCKS: the server address is the name the client asked for
        ("socks5", "example.com", "adultsite.com", ("example.com", "adultsite.com")),
    ],
)
def test_which_names_a_tls_handshake_is_decided_on(
    addon: Vaccine,
    tctx: taddons.context,
    mode: str,
    sni: str | None,
    address: str,
    hosts: tuple[str | None, ...],
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
    addon: Vaccine, tctx: taddons.context, sni: str, address: str, ignored: bool
) -> None:
    client = tflow.tclient_conn()
    client.proxy_mode = mode_specs.ProxyMode.parse("transparent")
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (address, 443)
    hello = parse_client_hello(client_hello(sni or None))
    assert hello is not None and hello.sni == (sni or None)
    data = tls.ClientHelloData(ctx, hello)
    addon.tls_clienthello(data)
    assert data.ignore_connection is ignored
