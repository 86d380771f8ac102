"""A device added while `vaccine run` runs: its WireGuard listener opens without a restart,
and a device's address seen as unknown can be assigned and then belongs to its profile."""

from __future__ import annotations

import socket

import pytest

from .harness import E2E, wait_until
from .household import Household

pytestmark = pytest.mark.e2e


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_a_device_added_while_running_gets_its_listener(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hh = Household(tmp_path_factory.mktemp("live-devices"))
    hh.write_settings()
    hh.write_profile("kid", {"name": "Kid", "block": {"domains": ["blocked.test"]}})
    hh.write_profile("guest", {"name": "Guest"})
    port = free_udp_port()
    with e2e.vaccine(hh) as proxy:
        assert not udp_port_taken(port)
        since = proxy.process.mark()
        made = e2e.cli(
            hh, "devices", "add", "kid-phone", "--profile", "kid", "--wireguard",
            "--endpoint", "127.0.0.1", "--port", str(port), "--policies", str(hh.policies),
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        line = rf"^vaccine: listening for a new WireGuard device on UDP {port}$"
        proxy.process.wait_for(line, since=since)
        wait_until(lambda: udp_port_taken(port), what=f"UDP {port} listened on")


def test_an_unknown_address_assigned_belongs_to_the_profile(
    e2e: E2E, tmp_path_factory: pytest.TempPathFactory
) -> None:
    hh = Household(tmp_path_factory.mktemp("assign"))
    hh.write_settings()
    hh.write_profile("kid", {"name": "Kid", "block": {"domains": ["blocked.test"]}})
    hh.write_profile("guest", {"name": "Guest"})
    with e2e.vaccine(hh) as proxy:
        source = "127.0.0.77"
        assert proxy.client(source=source).get("http://blocked.test/").from_origin  # guest
        listed = wait_until(
            lambda: source in e2e.cli(hh, "devices", "list", "--policies", str(hh.policies)).stdout,
            timeout=20, what="the address in `vaccine devices list`",
        )  # fmt: skip
        assert listed
        done = e2e.cli(hh, "devices", "assign", source, "--profile", "kid",
                       "--policies", str(hh.policies))  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_until(
            lambda: not proxy.client(source=source).get("http://blocked.test/").from_origin,
            timeout=20, what="the kid's rules applied to the assigned address",
        )  # fmt: skip
