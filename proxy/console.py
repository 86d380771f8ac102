"""The process's console, private like the log: under a service manager every line ends up in
journald, so no line may name a site, a path or a login, or pair a device with a site.

The proxy's own lines say what happened in words chosen for that. Everything mitmproxy (or a
library) logs is reduced to the kind of thing that happened, never its text: the first of
each kind is printed at once, the rest counted and summed up at most once a minute and at
exit. An exception is shown as its type and where it was raised, never its message.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import IO

from mitmproxy.addons import termlog

from vaccine.proxy.startup import is_listen_failure
from vaccine.proxy.util.exc import where

#: (words in mitmproxy's message, what the console says instead)
KINDS: tuple[tuple[str, str], ...] = (
    ("Client TLS handshake failed",
     "a device's TLS handshake with the proxy failed (often: the proxy's certificate is not "
     "installed on that device)"),
    ("Server TLS handshake failed", "a TLS handshake with a site failed"),
    ("Unable to establish TLS connection", "a TLS handshake with a site failed"),
    ("TLS handshake", "a TLS handshake failed"),
    ("Error connecting", "a connection to a site failed"),
    ("server connect", "a connection to a site failed"),
    ("Addon error", "an addon raised an error"),
    ("HTTP/2", "an HTTP/2 protocol error"),
    ("Invalid HTTP", "a client sent an invalid HTTP request"),
    ("Bad request", "a client sent an invalid HTTP request"),
)  # fmt: skip

SUMMARY_EVERY = 60.0


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return str(record.msg)


def kind_of(record: logging.LogRecord) -> str:
    text = _message(record)
    for words, kind in KINDS:
        if words.lower() in text.lower():
            return kind
    return f"{record.name}: a {record.levelname.lower()} message (withheld: it may name a site)"


class PrivateHandler(termlog.TermLogHandler):
    def __init__(self, out: IO[str] | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(out or sys.stderr)
        self.clock = clock
        self.counts: dict[str, int] = {}  # kind → occurrences not printed yet
        self.last: dict[str, float] = {}  # kind → when its last line was printed

    def _print(self, line: str) -> None:
        try:
            print(line, file=self.file, flush=True)
        except OSError:
            sys.exit(1)  # as mitmproxy's own handler: nowhere left to say anything

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "vaccine" or record.name.startswith(("vaccine.", "vaccine:")):
            # Our own messages are written not to name sites; their exceptions are reduced.
            self._print(f"vaccine: {record.getMessage()}{where(record.exc_info)}")
            return
        if is_listen_failure(_message(record)):
            return  # said once, in our words, by proxy.startup.StartupCheck
        kind = kind_of(record)
        now = self.clock()
        last = self.last.get(kind)
        if last is None:
            self.last[kind] = now
            self._print(f"vaccine: mitmproxy: {kind}")
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if now - last >= SUMMARY_EVERY:
            self._summary(kind, now)

    def _summary(self, kind: str, now: float) -> None:
        n = self.counts.pop(kind, 0)
        if n:
            self.last[kind] = now
            self._print(f"vaccine: mitmproxy: {kind} — {n} more since the last line")

    def flush_counts(self) -> None:
        now = self.clock()
        for kind in list(self.counts):
            self._summary(kind, now)


class PrivateConsole(termlog.TermLog):
    """mitmproxy's TermLog with the private handler in place of its own."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self.private = PrivateHandler(out)
        self.logger = self.private
        self.logger.install()

    def uninstall(self) -> None:
        self.private.flush_counts()
        super().uninstall()
