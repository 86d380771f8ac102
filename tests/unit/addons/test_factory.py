"""vaccine.proxy.addons.default_addons: every concern once, in hook order, sharing one state."""

from __future__ import annotations

from pathlib import Path

from vaccine.proxy.addons import default_addons
from vaccine.proxy.addons.approvals import Approvals
from vaccine.proxy.addons.ask import AskParent
from vaccine.proxy.addons.certtrouble import CertificateTrouble
from vaccine.proxy.addons.decision import PolicyDecision
from vaccine.proxy.addons.devicelisteners import DeviceListeners
from vaccine.proxy.addons.dns import DnsFilter
from vaccine.proxy.addons.login import ProxyLogin
from vaccine.proxy.addons.newdevices import NewDevices
from vaccine.proxy.addons.record import DecisionLog
from vaccine.proxy.addons.reload import Reloader
from vaccine.proxy.addons.setup import ProxyHome, SetupPage
from vaccine.proxy.addons.slowclients import SlowClients
from vaccine.proxy.household import Household

from .conftest import FakeJournal


def test_order_and_shared_state(household: Household, journal: FakeJournal, tmp_path: Path) -> None:
    addons = default_addons(
        household, journal=journal, db_path=tmp_path / "v.db", seen_path=tmp_path / "seen.json"
    )
    kinds = [type(a) for a in addons]
    assert kinds == [
        ProxyLogin, ProxyHome, PolicyDecision, SetupPage, AskParent, DecisionLog,
        CertificateTrouble, DnsFilter, SlowClients, Approvals, NewDevices, DeviceListeners,
        Reloader,
    ]  # fmt: skip
    assert len({id(a.shared) for a in addons if hasattr(a, "shared")}) == 1  # type: ignore[attr-defined]
    # The set-up page's two halves answer with one renderer over the same shared state.
    home, page = addons[1], addons[3]
    assert home.answers is page.answers  # type: ignore[attr-defined]
    assert page.answers.shared is addons[0].shared  # type: ignore[attr-defined]


def test_without_a_log_there_is_no_poller(household: Household) -> None:
    kinds = [type(a) for a in default_addons(household)]
    assert Approvals not in kinds and AskParent in kinds
