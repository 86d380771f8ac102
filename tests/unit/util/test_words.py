"""vaccine.proxy.util.words: the one parser of each small thing."""

from __future__ import annotations

import pytest

from vaccine.proxy.util.words import (
    did_you_mean,
    format_minutes,
    parse_host_port,
    parse_minutes,
    split_mode,
)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1h", 60), ("30m", 30), ("1h30m", 90), ("45min", 45), (" 2H ", 120), ("", None),
     ("h", None), ("30", None), ("1d", None)],
)  # fmt: skip
def test_minutes(text: str, minutes: int | None) -> None:
    assert parse_minutes(text) == minutes
    if minutes:
        assert parse_minutes(format_minutes(minutes)) == minutes


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("0.0.0.0:8080", ("0.0.0.0", 8080)), ("[::1]:8080", ("::1", 8080)), (":8080", ("", 8080)),
     ("8080", None), ("host:http", None), ("host:70000", None)],
)  # fmt: skip
def test_host_port(value: str, parsed: tuple[str, int] | None) -> None:
    assert parse_host_port(value) == parsed


@pytest.mark.parametrize(
    ("spec", "split"),
    [("regular", ("regular", "", None)), ("regular@8081", ("regular", "", 8081)),
     ("wireguard:/etc/wg.conf@0.0.0.0:51820", ("wireguard:/etc/wg.conf", "0.0.0.0", 51820)),
     ("dns@[::1]:53", ("dns", "::1", 53)), ("regular@x", ("regular", "", None))],
)  # fmt: skip
def test_split_mode_agrees_with_mitmproxy(spec: str, split: tuple[str, str, int | None]) -> None:
    from mitmproxy.proxy.mode_specs import ProxyMode

    assert split_mode(spec) == split
    if split[2] is not None:
        assert ProxyMode.parse(spec).listen_port() == split[2]


def test_did_you_mean() -> None:
    assert did_you_mean("gamblng", ["gambling", "games"]) == "; did you mean 'gambling'?"
    assert did_you_mean("zzz", ["gambling"]) == ""
