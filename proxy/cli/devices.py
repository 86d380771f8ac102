"""`vaccine devices add NAME --profile ID (--wireguard | --address ADDR)` / `list` / `assign`.

`add --wireguard` makes the device a WireGuard peer of its own (proxy.devices: one listener
per device, since mitmproxy's takes one peer), prints its configuration as a QR code to scan
with the WireGuard app, writes the same as a PNG and a .conf (0600: they hold the device's
private key), and adds `- mode: wireguard:...` to the profile's YAML, comments kept. `list`
shows each profile's devices and the addresses seen recently that no profile recognises;
`assign` gives one of those to a profile (`- address:`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.paths import default_policies_dir

if TYPE_CHECKING:
    from vaccine.proxy.policy.model import Device, PolicySet


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="add a device to a profile (a WireGuard peer with its QR code, or an address)",
        description="Add a device to a profile. --wireguard: a WireGuard peer of its own, "
        "shown as a QR code for the WireGuard app; --address: a device on this network.",
    )
    add.add_argument("name", metavar="NAME", help="the device's name, e.g. emma-phone")
    add.add_argument("--profile", metavar="ID", required=True, help="the profile it belongs to")
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--wireguard", action="store_true", help="make a WireGuard peer for it")
    how.add_argument("--address", metavar="ADDRESS", help="its address (or a CIDR) on the LAN")
    add.add_argument(
        "--endpoint",
        metavar="HOST",
        help="the name or address the device reaches this machine at (default: its LAN address)",
    )
    add.add_argument("--port", metavar="N", type=int, help="its UDP port (default: the next free)")
    listing = sub.add_parser(
        "list",
        help="each profile's devices, and addresses seen recently that no profile knows",
        description="each profile's devices, and addresses seen recently that no profile knows",
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    assign = sub.add_parser(
        "assign",
        help="give an address (e.g. a new device from `list`) to a profile",
        description="give an address (e.g. a new device from `list`) to a profile",
    )
    assign.add_argument("address", metavar="ADDRESS", help="an address or a CIDR")
    assign.add_argument("--profile", metavar="ID", required=True, help="the profile")
    assign.add_argument("--name", metavar="NAME", default="", help="a note for the YAML line")
    for p in (add, listing, assign):
        p.add_argument(
            "--policies", metavar="DIR", type=Path, default=argparse.SUPPRESS, help="policy folder"
        )
        p.add_argument(
            "--db", metavar="FILE", type=Path, help="the decision log (default: settings database:)"
        )


def main(args: argparse.Namespace) -> int:
    from vaccine.proxy.policy.load import load_policies

    policies_dir: Path = getattr(args, "policies", None) or default_policies_dir()
    try:
        policies = load_policies(policies_dir)
    except ProblemsError as e:
        raise VaccineError(f"the policies in {policies_dir} have problems (run `vaccine check`):"
                           f"\n{e}") from None  # fmt: skip
    db: Path = args.db or policies.settings.database
    if args.action == "list":
        return _list(policies, db, args.json)
    if args.action == "assign":
        return _assign(policies, db, args.address, args.profile, args.name)
    return _add(policies, db, args)


def _profile_file(policies: PolicySet, profile_id: str) -> Path:
    profile = policies.profiles.get(profile_id)
    if profile is None:
        known = ", ".join(sorted(policies.profiles))
        raise VaccineError(f"no profile {profile_id!r} (the profiles: {known})")
    return Path(profile.source)


def _network(text: str) -> str:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise VaccineError(f"{text!r} is not an address or a CIDR (e.g. 192.168.1.50)") from None
    return str(net.network_address) if net.num_addresses == 1 else str(net)


def _add(policies: PolicySet, db: Path, args: argparse.Namespace) -> int:
    from vaccine.proxy import devices
    from vaccine.proxy.policy.devices_edit import add_device

    name = devices.check_name(args.name)
    profile_file = _profile_file(policies, args.profile)
    if args.address:
        return _assign(policies, db, args.address, args.profile, name)
    port = args.port or devices.free_port(policies)
    if not 0 < port < 65536 or port in devices.used_ports(
        [*policies.settings.modes, *devices.wireguard_modes(policies)]
    ):
        raise VaccineError(f"port {port} is not free for a new device (leave --port out)")
    endpoint = args.endpoint or next(iter(devices.lan_addresses()), None)
    if not endpoint:
        raise VaccineError("cannot tell this machine's LAN address: give --endpoint HOST")
    folder = devices.devices_dir(db).absolute()
    key_file = folder / f"{name}.json"
    devices.new_key_file(key_file, name)
    spec = f"wireguard:{key_file}@{port}"
    try:
        conf = devices.client_conf(key_file, endpoint, port)
        add_device(profile_file, "mode", spec, f"{name} (WireGuard)")
    except BaseException:
        key_file.unlink(missing_ok=True)  # nothing half-made stays behind
        raise
    conf_file = key_file.with_suffix(".client.conf")
    png = key_file.with_suffix(".png")
    devices.write_private(conf_file, conf.encode())
    devices.write_qr_png(conf, png)
    devices.hand_over(folder, (key_file, conf_file, png))
    print(devices.qr_terminal(conf), end="")
    print(f"Scan this with the WireGuard app on {name} (Add a tunnel → Scan from QR code).")
    print(f"Added to {profile_file}: - mode: {spec}")
    print(f"The same as a file: {conf_file}; as an image: {png} (both private: they hold the key)")
    print(f"`vaccine run` listens on UDP port {port} for it (a running one within seconds); "
          "let that port through the firewall.")  # fmt: skip
    return 0


def _assign(policies: PolicySet, db: Path, address: str, profile_id: str, name: str) -> int:
    from vaccine.proxy.newdevices import forget_address, seen_file
    from vaccine.proxy.policy.devices_edit import add_device

    profile_file = _profile_file(policies, profile_id)
    network = _network(address)
    if add_device(profile_file, "address", network, name):
        print(f"Added to {profile_file}: - address: {network}")
    else:
        print(f"{network} is already one of {profile_id}'s devices")
    forget_address(seen_file(db), network)
    return 0


def _describe(device: Device) -> str:
    if device.kind == "address" and device.network is not None:
        net = device.network
        return f"address {net.network_address if net.num_addresses == 1 else net}"
    if device.kind == "user":
        return f"login {device.user}"
    if device.kind == "port":
        return f"port {device.port}"
    return f"mode {device.mode}"


def _list(policies: PolicySet, db: Path, as_json: bool) -> int:
    from vaccine.proxy.newdevices import read_seen, seen_file

    seen = read_seen(seen_file(db), now=datetime.now())
    unknown = policies.settings.unknown_devices
    if as_json:
        data = {
            "profiles": {
                pid: [_describe(d) for d in p.devices]
                for pid, p in sorted(policies.profiles.items())
            },
            "unknown_devices": unknown,
            "new_devices": [
                {"address": s.address, "last_seen": s.last_seen.isoformat(timespec="minutes")}
                for s in seen
            ],
        }
        json.dump(data, sys.stdout, indent=2)
        print()
        return 0
    for pid, profile in sorted(policies.profiles.items()):
        print(f"{pid} ({profile.name}):" if profile.name else f"{pid}:")
        for device in profile.devices:
            print(f"  {_describe(device)}")
        if not profile.devices:
            print("  (no devices)")
    print()
    if not seen:
        print(f"No new devices seen recently (unknown devices get the {unknown!r} profile).")
        return 0
    print(f"New devices seen recently (they get the {unknown!r} profile until assigned):")
    for s in seen:
        print(f"  {s.address:<40} last seen {s.last_seen:%Y-%m-%d %H:%M}")
    print("Give one to a profile: vaccine devices assign ADDRESS --profile ID")
    return 0
