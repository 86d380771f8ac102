"""Start-up failures as one line that names the flag to change.

mitmproxy reports a listener that cannot start (a busy port, a port below 1024 without the
right, an address this computer does not have) as a multi-line log record that advises a
`--mode` flag `vaccine run` may not even have been given, and then prints "Error logged during
startup, exiting...". `StartupCheck` takes the place of mitmproxy's `ErrorCheck`: the same
watch over start-up, but it ends the start with a `VaccineError` saying what failed, on which
address, and which of our flags sets it (`--listen`, or the `--mode` / `modes:` entry).
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass

from mitmproxy.addons import errorcheck

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.util.words import split_mode

#: mitmproxy's own words (mitmproxy/proxy/mode_servers.py, `ServerInstance._start`)
_FAILED = re.compile(
    r"(?:\[Errno (?P<errno>\d+)\] )?(?P<what>.+?) failed to listen on (?P<addr>\S+) with "
)

_WHY = {
    errno.EADDRINUSE: "the address is already in use (another proxy running?)",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "the address is not one of this computer's",
}


@dataclass(frozen=True)
class ListenFailure:
    address: str  # host:port, `*` for every address
    port: int | None
    reason: str


def listen_failure(text: str) -> ListenFailure | None:
    """The listener failure mitmproxy describes in `text`, or None when it is another error."""
    m = _FAILED.search(text)
    if m is None:
        return None
    code = int(m["errno"]) if m["errno"] else None
    if code is None:  # the errno is also repeated inside the message
        inner = re.search(r"\[Errno (\d+)\]", text[m.end() :])
        code = int(inner[1]) if inner else None
    reason = _WHY.get(code or -1) or (errno.errorcode.get(code or -1, "failed").lower())
    port_text = m["addr"].rpartition(":")[2]
    return ListenFailure(m["addr"], int(port_text) if port_text.isdigit() else None, reason)


def failure_line(failure: ListenFailure, listen_port: int, modes: list[str]) -> str:
    """One line: what failed, and the flag that chooses that address."""
    flag = "--listen HOST:PORT"
    for spec in modes:
        port = split_mode(spec)[2]
        if spec != "regular" and port is not None and port == failure.port:
            flag = f"--mode (it was {spec})"
            break
    return f"cannot listen on {failure.address}: {failure.reason}; choose another with {flag}"


class StartupCheck(errorcheck.ErrorCheck):
    """mitmproxy's ErrorCheck, ending the start with one clear line instead of its own."""

    name = "errorcheck"  # the name mitmproxy's master looks the check up by

    def __init__(self, listen_port: int, modes: list[str]) -> None:
        super().__init__()
        self.listen_port = listen_port
        self.modes = modes

    async def shutdown_if_errored(self) -> None:
        if not self.logger.has_errored:
            return
        for record in self.logger.has_errored:
            failure = listen_failure(_text(record))
            if failure is not None:
                raise VaccineError(failure_line(failure, self.listen_port, self.modes))
        # Anything else: the console has already said what kind of thing it was.
        n = len(self.logger.has_errored)
        raise VaccineError(f"not started: {'an error' if n == 1 else f'{n} errors'} at start-up")


def _text(record: object) -> str:
    try:
        return str(record.getMessage())  # type: ignore[attr-defined]
    except Exception:
        return ""


def is_listen_failure(text: str) -> bool:
    """The console leaves these to StartupCheck, which says them in our words."""
    return listen_failure(text) is not None
