"""A small household and the addons of `vaccine run` over it, driven with mitmproxy's own
test helpers (no sockets). `hook` calls one hook on addons in the order given, as mitmproxy's
addon manager does."""

from __future__ import annotations

import base64
import inspect
import ssl
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest
from mitmproxy import tls
from mitmproxy.addons import onboarding, proxyserver
from mitmproxy.proxy import context as pcontext
from mitmproxy.proxy.layers.tls import parse_client_hello
from mitmproxy.test import taddons, tflow

from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.household import Household
from vaccine.proxy.lists.terms import EMPTY_TERMS
from vaccine.proxy.policy.htpasswd import Htpasswd
from vaccine.proxy.policy.identify import Identifier
from vaccine.proxy.policy.model import Device, DomainRules, PolicySet, Profile, Settings
from vaccine.proxy.store.records import Record

from ..test_decision import LISTS, NOON


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


class FakeJournal:
    """The decision log's interface, keeping what was submitted."""

    retention_days: int | None = 30

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.minutes: dict[str, dict[str, int]] = {}

    def submit(self, record: Record) -> None:
        self.records.append(record)

    def minutes_today(self, profile: str) -> dict[str, int]:
        return self.minutes.get(profile, {})


@pytest.fixture
def household(tmp_path: Path) -> Household:
    return make_household(
        tmp_path,
        emma={"devices": (Device("user", user="emma-tablet"),), "block": ["tiktok.com"]},
        nocert={"devices": (Device("port", port=8099),), "ca_installed": False},
        everything={"devices": (Device("port", port=8098),), "inspect": "everything"},
        limited={"devices": (Device("port", port=8097),), "limits": {"games": 60}},
    )


@pytest.fixture
def journal() -> FakeJournal:
    return FakeJournal()


@pytest.fixture
def shared(household: Household, journal: FakeJournal) -> Shared:
    return Shared(household, clock=lambda: NOON, minutes_today=journal.minutes_today)


@pytest.fixture
def tctx() -> Iterator[taddons.context]:
    with taddons.context(onboarding.Onboarding(), proxyserver.Proxyserver()) as tctx:
        yield tctx


async def hook(addons: list[object], name: str, *args: object) -> None:
    for addon in addons:
        fn = getattr(addon, name, None)
        if fn is not None:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result


def auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def client_hello(sni: str | None) -> bytes:
    ctx = ssl.create_default_context()
    if sni is None:  # a ClientHello without the SNI extension
        ctx.check_hostname = False
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def hello_data(
    tctx: taddons.context, sni: str | None, port: int = 0, address: str | None = None
) -> tls.ClientHelloData:
    client = tflow.tclient_conn()
    if port:
        client.proxy_mode = client.proxy_mode.parse(f"regular@{port}")
    ctx = pcontext.Context(client, tctx.options)
    ctx.server.address = (address or sni or "", 443)
    hello = parse_client_hello(client_hello(sni))
    assert hello is not None
    return tls.ClientHelloData(ctx, hello)
