"""The proxy's mitmproxy addons, one concern each, assembled in hook order by
`default_addons` (as mitmproxy's own `addons/__init__.py` does): the login is checked before
anything is decided, the decision before the ask form and the log read its verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from vaccine.proxy.addons.approvals import Approvals
from vaccine.proxy.addons.ask import AskParent
from vaccine.proxy.addons.certtrouble import CertificateTrouble
from vaccine.proxy.addons.chain import Addons
from vaccine.proxy.addons.decision import PolicyDecision
from vaccine.proxy.addons.devicelisteners import DeviceListeners
from vaccine.proxy.addons.dns import DnsFilter
from vaccine.proxy.addons.login import ProxyLogin
from vaccine.proxy.addons.newdevices import NewDevices
from vaccine.proxy.addons.record import DecisionLog, Journal
from vaccine.proxy.addons.reload import Reloader
from vaccine.proxy.addons.setup import ProxyHome, SetupAnswers, SetupPage
from vaccine.proxy.addons.shared import Shared
from vaccine.proxy.addons.slowclients import SlowClients
from vaccine.proxy.askparent import AskDesk
from vaccine.proxy.household import Household


def default_addons(
    household: Household,
    *,
    journal: Journal | None = None,
    db_path: Path | None = None,
    clock: Callable[[], datetime] = datetime.now,
    lists_dir: Path | None = None,
    watch_interval: float = 1.0,
    seen_path: Path | None = None,
) -> list[object]:
    """Every addon of `vaccine run`, sharing one `Shared`. Without `db_path` there is no ask
    form and no approvals; without `seen_path` no new-devices list; with `watch_interval` 0
    files are reloaded only on SIGHUP."""
    shared = Shared(household, clock, journal.minutes_today if journal is not None else None)
    setup = SetupAnswers(shared)
    addons: list[object] = [
        ProxyLogin(shared),
        ProxyHome(setup),
        PolicyDecision(shared),
        SetupPage(setup),
        AskParent(shared, AskDesk(db_path) if db_path is not None else None),
        DecisionLog(shared, journal),
        CertificateTrouble(shared, journal),
        DnsFilter(shared, journal),
        SlowClients(),
    ]
    if db_path is not None:
        addons.append(Approvals(shared, db_path))
    if seen_path is not None:
        addons.append(NewDevices(shared, seen_path))
    addons.append(DeviceListeners(shared, watch_interval or 1.0))
    addons.append(
        Reloader(shared, household.policies_dir, lists_dir, watch_interval, journal=journal)
    )
    return addons


def install(addons: Any, ours: Sequence[object]) -> None:
    """Add `ours` to a master's addon manager as one entry (`chain.Addons`: mitmproxy offers
    every event to every entry, hook or not), after mitmproxy's own addons, except the DNS
    filter: it goes just before mitmproxy's resolver, so a blocked name is answered (and
    never looked up) before that resolver would resolve it."""
    dns = [a for a in ours if isinstance(a, DnsFilter)]
    addons.add(Addons([a for a in ours if not isinstance(a, DnsFilter)]), *dns)
    resolver = addons.get("dnsresolver")
    for addon in dns:
        if resolver in addons.chain:
            addons.chain.remove(addon)
            addons.chain.insert(addons.chain.index(resolver), addon)
