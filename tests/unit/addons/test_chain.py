"""vaccine.proxy.addons.chain: our addons as one entry of mitmproxy's chain, each hook called
as mitmproxy's addon manager would call it (in order, awaited, errors contained)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mitmproxy import exceptions, hooks
from mitmproxy.addons import onboarding, proxyserver
from mitmproxy.proxy.layers.http import HttpRequestHeadersHook, HttpRequestHook
from mitmproxy.test import taddons, tflow, tutils

from vaccine.proxy.addons import default_addons, install
from vaccine.proxy.addons.chain import Addons
from vaccine.proxy.addons.dns import DnsFilter
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.addons.slowclients import SlowClients
from vaccine.proxy.household import Household

from .conftest import FakeJournal, auth


class Calls:
    """Addons that note their calls in one shared list."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def sync(self, name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
        calls = self.calls

        class Sync:
            def request(self, flow: object) -> None:
                calls.append(name)
                if fail:
                    raise RuntimeError("hook failed")

        return Sync()

    def later(self, name: str):  # type: ignore[no-untyped-def]
        calls = self.calls

        class Later:
            def request(self, flow: object):  # type: ignore[no-untyped-def]
                async def answer() -> None:
                    calls.append(name)

                return answer()

        return Later()


async def run(entry: Addons, name: str, *args: object) -> None:
    result = getattr(entry, name)(*args)
    if result is not None:
        await result


async def test_hooks_run_in_order_each_awaited_before_the_next() -> None:
    c = Calls()
    entry = Addons([c.sync("a"), c.later("b"), c.sync("c"), c.later("d"), object()])
    await run(entry, "request", tflow.tflow())
    assert c.calls == ["a", "b", "c", "d"]


def test_an_event_no_addon_handles_is_not_offered() -> None:
    """mitmproxy then finds no hook on the entry and calls nothing (the point of one entry)."""
    entry = Addons([Calls().sync("a")])
    assert callable(getattr(entry, "request", None))
    for event in ("response", "tcp_message", "client_connected"):
        assert getattr(entry, event, None) is None


def test_a_sync_hook_that_returns_nothing_costs_no_coroutine() -> None:
    c = Calls()
    entry = Addons([c.sync("a"), c.sync("b")])
    assert entry.request(tflow.tflow()) is None  # type: ignore[attr-defined]
    assert c.calls == ["a", "b"]


async def test_an_error_in_one_hook_is_logged_and_the_next_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = Calls()
    entry = Addons([c.sync("a", fail=True), c.later("b"), c.sync("c", fail=True), c.sync("d")])
    with caplog.at_level(logging.ERROR):
        await run(entry, "request", tflow.tflow())
    assert c.calls == ["a", "b", "c", "d"]
    errors = [r for r in caplog.records if r.getMessage().startswith("Addon error")]
    assert len(errors) == 2 and all(r.name == "mitmproxy.addonmanager" for r in errors)


def test_addon_halt_stops_the_event() -> None:
    c = Calls()

    class Halt:
        def request(self, flow: object) -> None:
            raise exceptions.AddonHalt

    entry = Addons([c.sync("a"), Halt(), c.sync("b")])
    with pytest.raises(exceptions.AddonHalt):
        entry.request(tflow.tflow())  # type: ignore[attr-defined]
    assert c.calls == ["a"]


def test_options_of_an_inner_addon_are_declared() -> None:
    with taddons.context(Addons([SlowClients()])) as tctx:
        assert tctx.options.vaccine_header_timeout == 10
        tctx.options.update(vaccine_idle_timeout=3)
        assert tctx.options.vaccine_idle_timeout == 3


def test_install_adds_one_entry_and_the_dns_filter_apart(
    household: Household, journal: FakeJournal, tmp_path: Path
) -> None:
    ours = default_addons(household, journal=journal, db_path=tmp_path / "v.db")
    with taddons.context() as tctx:
        before = len(tctx.master.addons.chain)
        install(tctx.master.addons, ours)
        chain = tctx.master.addons.chain
        assert len(chain) == before + 2
        (entry,) = [a for a in chain if isinstance(a, Addons)]
        assert entry.members == [a for a in ours if not isinstance(a, DnsFilter)]
        assert any(isinstance(a, DnsFilter) for a in chain)


async def test_a_request_through_mitmproxys_addon_manager_is_decided_and_logged(
    household: Household, journal: FakeJournal, shared: Shared
) -> None:
    """The whole set, installed, driven by mitmproxy's own event dispatch: the login (a
    coroutine) is awaited before the decision reads it, and every verdict reaches the log."""
    ours = default_addons(household, journal=journal)
    shared = ours[0].shared  # type: ignore[attr-defined]
    with taddons.context(onboarding.Onboarding(), proxyserver.Proxyserver()) as tctx:
        install(tctx.master.addons, ours)
        blocked = tflow.tflow(req=tutils.treq(host="tiktok.com"))
        blocked.request.headers["proxy-authorization"] = auth("emma-tablet", "right")
        allowed = tflow.tflow(req=tutils.treq(host="example.com"))
        for f in (blocked, allowed):
            await tctx.master.addons.handle_lifecycle(HttpRequestHeadersHook(f))
            await tctx.master.addons.handle_lifecycle(HttpRequestHook(f))
    assert shared.conns[blocked.client_conn.id].user == "emma-tablet"
    assert blocked.response is not None and blocked.response.status_code == 403
    assert "proxy-authorization" not in blocked.request.headers
    assert allowed.response is None
    assert [(r.profile, r.action) for r in journal.records] == [
        ("emma", "blocked"),
        ("guest", "allowed"),
    ]


# --- the whole chain compacted (vaccine run) ---------------------------------------------------


class Recorder:
    """Notes every hook call of the addons it wraps, in one list, by addon and event."""

    EVENTS = ("requestheaders", "request", "response", "update", "configure", "running", "done")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def spy(self, chain: list[object]) -> None:
        """Wrap every hook of every addon in `chain` (and its sub-addons) in place."""
        from mitmproxy.addonmanager import traverse

        for addon in traverse(chain):
            for event in self.EVENTS:
                fn = getattr(addon, event, None)
                if callable(fn):
                    setattr(addon, event, self._wrap(type(addon).__name__, event, fn))

    def _wrap(self, who: str, event: str, fn):  # type: ignore[no-untyped-def]
        def hook(*args: object) -> object:
            self.calls.append((who, event))
            return fn(*args)

        return hook


class Loader:
    """An entry with sub-addons that change while it runs, like mitmproxy's script loader."""

    def __init__(self) -> None:
        self.addons: list[object] = []


class Late:
    def request(self, flow: object) -> None:
        pass


def named(addon: object, name: str) -> object:
    """mitmproxy registers addons by name: two of one class need names of their own."""
    addon.name = name  # type: ignore[attr-defined]
    return addon


async def _drive(compacted: bool) -> tuple[list[tuple[str, str]], int]:
    """A DumpMaster as `vaccine run` builds it, with a loader in the middle: the hook calls of
    a request's events (each followed by `update`), a configure, running and done."""
    from mitmproxy import options
    from mitmproxy.proxy.layers.http import HttpResponseHook
    from mitmproxy.tools.dump import DumpMaster

    from vaccine.proxy.addons.chain import compact

    master = DumpMaster(options.Options(), with_termlog=False, with_dumper=False)
    calls = Calls()
    loader = Loader()
    recorder = Recorder()
    recorder.spy(master.addons.chain)  # mitmproxy's own
    a, b, c = named(calls.sync("a"), "a"), calls.sync("b"), calls.sync("c")
    recorder.spy([a, b, c])  # before Addons looks their hooks up
    master.addons.add(a, loader, Addons([b, c]))
    if compacted:
        compact(master.addons)
    loader.addons.append(Late())  # a script loaded once the proxy runs
    recorder.spy(loader.addons)
    f = tflow.tflow(resp=True)
    await master.addons.trigger_event(hooks.RunningHook())
    master.options.update(anticache=True)  # a configure, dispatched synchronously
    for hook in (HttpRequestHeadersHook(f), HttpRequestHook(f), HttpResponseHook(f)):
        await master.addons.handle_lifecycle(hook)
    await master.addons.trigger_event(hooks.DoneHook())
    assert calls.calls == ["a", "b", "c"]  # each request hook once, in the chain's order
    return recorder.calls, len(master.addons.chain)


async def test_compact_keeps_every_hook_call_and_its_order() -> None:
    """mitmproxy's thirty-odd addons and ours as a few entries: every hook is called as
    before, in the same order (the loader's late sub-addon included), for every event."""
    before, entries_before = await _drive(compacted=False)
    after, entries_after = await _drive(compacted=True)
    assert after == before
    assert ("Late", "request") in after
    assert ("Proxyserver", "configure") in after and ("Core", "configure") in after
    # merged, the script loader, merged, our loader, merged
    assert entries_before > 30 and entries_after == 5


async def test_compact_keeps_the_names() -> None:
    from mitmproxy import options
    from mitmproxy.tools.dump import DumpMaster

    from vaccine.proxy.addons.chain import compact

    master = DumpMaster(options.Options(), with_termlog=False, with_dumper=False)
    found = {n: master.addons.get(n) for n in ("proxyserver", "nextlayer", "dnsresolver")}
    compact(master.addons)
    assert {n: master.addons.get(n) for n in found} == found
    assert all(v is not None for v in found.values())


async def test_an_error_in_a_merged_addon_is_logged_and_the_next_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mitmproxy import options
    from mitmproxy.tools.dump import DumpMaster

    from vaccine.proxy.addons.chain import compact

    master = DumpMaster(options.Options(), with_termlog=False, with_dumper=False)
    calls = Calls()
    master.addons.add(named(calls.sync("a", fail=True), "a"), named(calls.sync("b"), "b"))
    compact(master.addons)
    with caplog.at_level(logging.ERROR):
        await master.addons.handle_lifecycle(HttpRequestHook(tflow.tflow()))
    assert calls.calls == ["a", "b"]
    assert "Addon error: hook failed" in caplog.text
