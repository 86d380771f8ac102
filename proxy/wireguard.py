"""WireGuard modes: key files created private, client configurations written for set-up.

mitmproxy creates a missing key file world-readable (0644), fails on an empty one with a raw
JSON error, and only logs the client configuration; we create (or fill) the file 0600 first,
check an existing one, and write each client configuration next to its key file (also 0600)
so a parent can turn it into a QR code (`qrencode -t ansiutf8 < F`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from mitmproxy.proxy import mode_specs

from vaccine.proxy.errors import VaccineError


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
    """Make every WireGuard mode's key file ready before mitmproxy reads it.

    A missing file, or an empty one (a parent who ran `touch` and `chmod 600` first), gets
    fresh keys, readable by us only; an existing one loses group and world access. A file
    that is not a key file is refused on one line (mitmproxy would print a raw JSON error)
    and left as it is: it may be something else that is precious.
    """
    import mitmproxy_rs

    for spec in specs:
        mode = mode_specs.ProxyMode.parse(spec)
        if not isinstance(mode, mode_specs.WireGuardMode):
            continue
        path = key_file(mode, confdir)
        try:
            text = path.read_text(encoding="utf-8") if path.exists() else ""
        except (OSError, UnicodeDecodeError) as e:
            raise VaccineError(f"{path}: cannot read the WireGuard key file ({_why(e)})") from None
        if not text.strip():
            keys = {
                "server_key": mitmproxy_rs.wireguard.genkey(),
                "client_key": mitmproxy_rs.wireguard.genkey(),
            }
            _write_private(path, json.dumps(keys, indent=4))
            continue
        problem = _key_file_problem(text, mitmproxy_rs.wireguard.pubkey)
        if problem:
            raise VaccineError(
                f"{path}: not a WireGuard key file ({problem}); move it away and the proxy "
                "creates a new one (the device then needs its new configuration)"
            )
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # keys are secrets: ours alone, as for the files we create


def _key_file_problem(text: str, pubkey: Callable[[str], str]) -> str:
    """'' for JSON holding two usable keys (what mitmproxy reads), else what is wrong."""
    try:
        data = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    for name in ("server_key", "client_key"):
        key = data.get(name)
        if not isinstance(key, str):
            return f"no {name}"
        try:
            pubkey(key)
        except Exception:
            return f"{name} is not a WireGuard key"
    return ""


def _why(e: Exception) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__


def write_client_confs(
    servers: object, confdir: str, skip: frozenset[str] = frozenset()
) -> list[Path]:
    """Write `<key file>.client.conf` for each running WireGuard server; return the paths.

    `skip`: key files of devices made by `vaccine devices add`, which wrote their
    configuration (with the endpoint the parent chose) and QR code already."""
    written = []
    for server in servers:  # type: ignore[attr-defined]
        if not isinstance(server.mode, mode_specs.WireGuardMode):
            continue
        if str(key_file(server.mode, confdir).absolute()) in skip:
            continue
        conf = server.client_conf()
        if not conf:
            continue
        path = key_file(server.mode, confdir).with_suffix(".client.conf")
        _write_private(path, conf + "\n")
        written.append(path)
    return written
