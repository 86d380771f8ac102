"""Onboarding a device: a WireGuard peer of its own, its client configuration as a QR code.

mitmproxy 12.2's WireGuard server takes exactly one peer per listener (`WireGuardServer`
starts `mitmproxy_rs.wireguard.start_wireguard_server` with the one `client_key` of its key
file), and it gives every peer the tunnel address 10.0.0.1. So a device gets a listener of its
own: `wireguard:<state>/devices/<name>.json@<port>`, its key file holding a server key and the
device's key (0600). The device is recognised by that listener (`devices: - mode: ...`),
never by its tunnel address; `vaccine run` opens a listener for every such device rule.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.policy.model import PolicySet
from vaccine.proxy.util.words import split_mode

FIRST_PORT = 51820
#: The tunnel address mitmproxy's server expects from its peer, and its DNS inside the tunnel.
TUNNEL_ADDRESS = "10.0.0.1/32"
TUNNEL_DNS = "10.0.0.53"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise VaccineError(
            f"a device name is 1-32 letters, digits, '-' or '_' (e.g. emma-tablet), not {name!r}"
        )
    return name


def devices_dir(db: Path) -> Path:
    """Where the devices' key files, configurations and QR codes live: beside the log."""
    return db.parent / "devices"


def wireguard_modes(policies: PolicySet) -> list[str]:
    """Every `devices: - mode: wireguard:...` rule of every profile, in profile order."""
    out = []
    for profile_id in sorted(policies.profiles):
        for device in policies.profiles[profile_id].devices:
            if device.kind == "mode" and device.mode.lower().startswith("wireguard"):
                out.append(device.mode)
    return out


def device_key_files(policies: PolicySet) -> frozenset[str]:
    """The key files (absolute) that `vaccine devices add` made for the household's WireGuard
    device rules (marked `"device"` inside): their configuration and QR code exist already,
    with the endpoint the parent chose. Read once at start, never on the request path."""
    out = set()
    for spec in wireguard_modes(policies):
        head, _, _ = split_mode(spec)
        _, _, data = head.partition(":")
        path = Path(data).expanduser().absolute() if data else None
        if path is None:
            continue
        try:
            made_here = "device" in json.loads(path.read_text())
        except (OSError, ValueError, TypeError):
            continue
        if made_here:
            out.add(str(path))
    return frozenset(out)


def with_device_listeners(modes: list[str], policies: PolicySet) -> list[str]:
    """`modes` plus a listener for each WireGuard device rule not already among them."""
    from vaccine.proxy.policy.identify import canonical_mode

    have = {canonical_mode(m) for m in modes}
    extra = [m for m in wireguard_modes(policies) if canonical_mode(m) not in have]
    return [*modes, *dict.fromkeys(extra)]


def used_ports(specs: Iterable[str]) -> set[int]:
    ports = set()
    for spec in specs:
        _, _, port = split_mode(spec)
        if port is not None:
            ports.add(port)
    return ports


def free_port(policies: PolicySet) -> int:
    """The first port from 51820 on that no mode of the household uses yet."""
    used = used_ports([*policies.settings.modes, *wireguard_modes(policies)])
    port = FIRST_PORT
    while port in used:
        port += 1
    return port


def write_private(path: Path, data: bytes) -> None:
    """Create or replace `path` readable by its owner only, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def hand_over(folder: Path, files: Iterable[Path]) -> None:
    """Run as root for the service (its state belongs to the `vaccine` user), give the
    device's files to the owner of the state folder, or the service could not read them."""
    if os.geteuid() != 0:
        return
    owner = folder.parent.stat()
    for path in (folder, *files):
        if path.stat().st_uid != owner.st_uid:
            os.chown(path, owner.st_uid, owner.st_gid)


def new_key_file(path: Path, device: str) -> None:
    """A key file as mitmproxy's WireGuard mode reads it: a server key and the peer's key
    (and the device's name, which mitmproxy ignores)."""
    import mitmproxy_rs

    if path.exists():
        raise VaccineError(f"{path} exists already: that device has a key (pick another name)")
    keys = {
        "server_key": mitmproxy_rs.wireguard.genkey(),
        "client_key": mitmproxy_rs.wireguard.genkey(),
        "device": device,
    }
    write_private(path, (json.dumps(keys, indent=4) + "\n").encode())


def client_conf(key_file: Path, endpoint: str, port: int) -> str:
    """The device's WireGuard configuration, as mitmproxy's own `client_conf` writes it."""
    import mitmproxy_rs

    try:
        keys = json.loads(key_file.read_text())
        client, server = keys["client_key"], keys["server_key"]
        server_pub = mitmproxy_rs.wireguard.pubkey(server)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise VaccineError(f"{key_file}: not a readable WireGuard key file ({e})") from None
    host = f"[{endpoint}]" if ":" in endpoint else endpoint
    return (
        "[Interface]\n"
        f"PrivateKey = {client}\n"
        f"Address = {TUNNEL_ADDRESS}\n"
        f"DNS = {TUNNEL_DNS}\n"
        "\n"
        "[Peer]\n"
        f"PublicKey = {server_pub}\n"
        "AllowedIPs = 0.0.0.0/0\n"
        f"Endpoint = {host}:{port}\n"
    )


def qr_terminal(text: str) -> str:
    """The QR code of `text` as text for a terminal (two rows per line)."""
    import segno

    out = io.StringIO()
    segno.make(text, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def write_qr_png(text: str, path: Path) -> None:
    """A PNG of the QR code, 0600: a WireGuard configuration holds the device's private key."""
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=6, border=4)
    write_private(path, buf.getvalue())


def lan_addresses() -> list[str]:
    """This machine's addresses a device on the network could reach (no loopback), best first.

    Found without sending anything: a UDP socket "connected" to a public address only picks
    the route's source address; then the addresses the host name resolves to.
    """
    found: list[str] = []
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.append(s.getsockname()[0])
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, proto=socket.IPPROTO_TCP)
    except OSError:
        infos = []
    found += [str(info[4][0]) for info in infos]
    out = []
    for addr in found:
        try:
            ip = ipaddress.ip_address(addr.partition("%")[0])
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified) and addr not in out:
            out.append(addr)
    return out
