"""WireGuard modes: key files created private, client configurations written for set-up.

mitmproxy creates a missing key file world-readable (0644) and only logs the client
configuration; we create the file 0600 first, and write each client configuration next to
its key file (also 0600) so a parent can turn it into a QR code (`qrencode -t ansiutf8 < F`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mitmproxy.proxy import mode_specs


def key_file(mode: mode_specs.WireGuardMode, confdir: str) -> Path:
    if mode.data:
        return Path(mode.data).expanduser()
    return Path(confdir).expanduser() / "wireguard.conf"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def prepare(specs: list[str], confdir: str) -> None:
    """Create missing key files for the WireGuard modes among `specs`, readable by us only."""
    import mitmproxy_rs

    for spec in specs:
        mode = mode_specs.ProxyMode.parse(spec)
        if not isinstance(mode, mode_specs.WireGuardMode):
            continue
        path = key_file(mode, confdir)
        if path.exists():
            continue
        keys = {
            "server_key": mitmproxy_rs.wireguard.genkey(),
            "client_key": mitmproxy_rs.wireguard.genkey(),
        }
        _write_private(path, json.dumps(keys, indent=4))


def write_client_confs(servers: object, confdir: str) -> list[Path]:
    """Write `<key file>.client.conf` for each running WireGuard server; return the paths."""
    written = []
    for server in servers:  # type: ignore[attr-defined]
        if not isinstance(server.mode, mode_specs.WireGuardMode):
            continue
        conf = server.client_conf()
        if not conf:
            continue
        path = key_file(server.mode, confdir).with_suffix(".client.conf")
        _write_private(path, conf + "\n")
        written.append(path)
    return written
