from datetime import datetime, timedelta
from pathlib import Path

from vaccine.proxy.addons.activity import CAP, OpenConnections
from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.model import Profile

P = Profile(id="emma", name="Emma", source=Path("emma.yaml"))
D = Decision("allow", "default", "", "video.example", frozenset({"video"}))
T0 = datetime(2026, 11, 23, 16, 0, 30)


def test_each_further_open_minute_counts_once_up_to_the_cap() -> None:
    minutes: list[str] = []
    conns = OpenConnections(lambda p, d: minutes.append(p.id))
    conns.opened("c1", P, D, T0)
    conns.tick(T0 + timedelta(seconds=20))  # same minute: already counted by the caller
    assert minutes == []
    conns.tick(T0 + timedelta(seconds=40))  # 16:01
    conns.tick(T0 + timedelta(seconds=50))  # still 16:01
    assert minutes == ["emma"]
    conns.tick(T0 + CAP + timedelta(minutes=1))  # past the cap: an idle phone connection
    assert minutes == ["emma"]
    conns.closed("c1", T0 + CAP + timedelta(minutes=2))
    assert len(conns) == 0 and minutes == ["emma"]


def test_the_last_minute_counts_on_close() -> None:
    minutes: list[str] = []
    conns = OpenConnections(lambda p, d: minutes.append(p.id))
    conns.opened("c1", P, D, T0)
    conns.closed("c1", T0 + timedelta(minutes=1))
    conns.closed("c1", T0 + timedelta(minutes=2))  # twice: nothing more
    assert minutes == ["emma"]
