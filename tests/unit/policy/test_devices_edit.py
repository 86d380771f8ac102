"""policy.devices_edit: one `devices:` entry added, every other byte of the file kept."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from vaccine.proxy.policy.devices_edit import DeviceEditError, add_device, with_device
from vaccine.proxy.policy.load import load_policies

REPO = Path(__file__).resolve().parents[3]


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a block list: one more line at its indentation, comments kept
            """
            name: Emma
            devices:
              - address: 192.168.1.23   # her tablet
              # more to come
            block:
              domains: [tiktok.com]
            """,
            """
            name: Emma
            devices:
              - address: 192.168.1.23   # her tablet
              - address: 192.168.1.50   # laptop
              # more to come
            block:
              domains: [tiktok.com]
            """,
        ),
        (  # no devices key: appended at the end
            """
            name: Leo  # 14
            """,
            """
            name: Leo  # 14

            devices:
              - address: 192.168.1.50   # laptop
            """,
        ),
        (  # `devices:` with nothing under it
            """
            devices:
            name: Leo
            """,
            """
            devices:
              - address: 192.168.1.50   # laptop
            name: Leo
            """,
        ),
        (  # an empty flow list becomes a block list
            """
            devices: []   # none yet
            name: Leo
            """,
            """
            devices:
              - address: 192.168.1.50   # laptop   # none yet
            name: Leo
            """,
        ),
    ],
)
def test_the_entry_is_added_in_place(before: str, after: str) -> None:
    assert with_device(d(before), "address", "192.168.1.50", "laptop") == d(after)


def test_an_entry_already_there_changes_nothing() -> None:
    text = "devices:\n  - address: 192.168.1.50\n"
    assert with_device(text, "address", "192.168.1.50") is None


def test_crlf_files_stay_crlf() -> None:
    text = "devices:\r\n  - user: emma\r\nname: E\r\n"
    got = with_device(text, "address", "10.0.0.9")
    assert got == "devices:\r\n  - user: emma\r\n  - address: 10.0.0.9\r\nname: E\r\n"


def test_a_mode_with_a_path_reads_back_as_itself() -> None:
    spec = "wireguard:/var/lib/vaccine/devices/emma phone.json@51820"
    got = with_device("name: E\n", "mode", spec, "emma phone (WireGuard)")
    assert got is not None
    assert yaml.safe_load(got)["devices"] == [{"mode": spec}]


@pytest.mark.parametrize(
    "text",
    [
        "devices: [{address: 10.0.0.1}]\n",  # a non-empty flow list
        "devices: 192.168.1.2\n",  # not a list
        "- a\n- b\n",  # not a map
        "base: &b {x: 1}\nother: *b\n",  # anchors
        "devices: [\n",  # not YAML
    ],
)
def test_layouts_it_does_not_know_are_refused(text: str) -> None:
    with pytest.raises(DeviceEditError, match="devices|YAML|map"):
        with_device(text, "address", "192.168.1.50")


def test_the_file_is_edited_and_the_household_still_loads(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    before = (policies / "leo.yaml").read_text()
    assert add_device(policies / "leo.yaml", "address", "192.168.1.77", "Leo's console")
    after = (policies / "leo.yaml").read_text()
    assert after.replace("\n  - address: 192.168.1.77   # Leo's console", "", 1) == before
    leo = load_policies(policies).profiles["leo"]
    assert "192.168.1.77/32" in [str(dev.network) for dev in leo.devices]


def test_an_address_of_another_profile_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    before = (policies / "leo.yaml").read_bytes()
    with pytest.raises(DeviceEditError, match="192.168.1.23"):
        add_device(policies / "leo.yaml", "address", "192.168.1.23")  # Emma's tablet
    assert (policies / "leo.yaml").read_bytes() == before
