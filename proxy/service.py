"""The systemd service: the unit file `vaccine service install` (and `install.sh --service`)
writes, and where the service keeps its files.

What the unit grants, and why no more:

- its own unprivileged system user (`vaccine`), not DynamicUser: the parent's commands
  (`vaccine devices add`, run as root) write files the service must read, and a fixed user
  lets them hand those files over (`chown`);
- only CAP_NET_BIND_SERVICE, to listen on port 53 (DNS) or 80/443. Transparent mode needs
  nothing more: the gateway's iptables REDIRECT is set by the administrator, and mitmproxy
  reads the original destination with getsockopt(SO_ORIGINAL_DST), which any user may do on
  its own socket. WireGuard mode is userspace UDP (no tun device, no CAP_NET_ADMIN);
- its state under /var/lib/vaccine (StateDirectory, 0700): the log, the CA, the devices'
  keys, the new-devices table; the policies in /etc/vaccine/policies, named explicitly;
- the console on journald (stdout/stderr): what the proxy prints names no site (the private
  console), so the journal holds nothing a parent's log would not.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

UNIT_NAME = "vaccine.service"
SERVICE_USER = "vaccine"
ETC = Path("/etc/vaccine")
STATE = Path("/var/lib/vaccine")
UNIT_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Layout:
    """Where the service's files are on the target system (paths without any --root)."""

    executable: Path
    policies: Path = ETC / "policies"
    state: Path = STATE
    user: str = SERVICE_USER

    @property
    def db(self) -> Path:
        return self.state / "vaccine.db"

    @property
    def confdir(self) -> Path:
        return self.state / "ca"

    def exec_start(self) -> str:
        argv = [
            str(self.executable), "run",
            "--policies", str(self.policies),
            "--db", str(self.db),
            "--confdir", str(self.confdir),
        ]  # fmt: skip
        return shlex.join(argv)


def unit_text(layout: Layout) -> str:
    return f"""\
# Digital Vaccine, the filtering proxy. Written by `vaccine service install`; run that again
# rather than editing this file (or add a drop-in: systemctl edit vaccine).
[Unit]
Description=Digital Vaccine filtering proxy
Documentation=https://github.com/digital-vaccine/digital-vaccine#readme
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User={layout.user}
Group={layout.user}
ExecStart={layout.exec_start()}
# Policies and lists are re-read when they change; SIGHUP asks for it at once.
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM: stop accepting, let connections finish (5 s), write the log, exit 0.
TimeoutStopSec=20
# SIGTERM to `vaccine run` alone: with a worker per core it passes it on to each worker once.
# systemd's default (every process of the unit at once) would reach a worker twice, and a
# second signal means "stop now", cutting the connections in flight.
KillMode=mixed
Restart=on-failure
RestartSec=2
StateDirectory=vaccine
StateDirectoryMode=0700
UMask=0077
Environment=HOME={layout.state} PYTHONUNBUFFERED=1
WorkingDirectory={layout.state}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=vaccine
# Port 53 (DNS mode) and ports under 1024; nothing else (see proxy/service.py).
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
# read-only, not off: the program may live in a checkout under /home or /root.
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""


def under(root: Path, path: Path) -> Path:
    """`path` of the target system inside `root` (DESTDIR-style, for packagers and tests)."""
    return root / path.relative_to(path.anchor)
