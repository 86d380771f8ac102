"""vaccine.proxy.console: mitmproxy's lines reduced to kinds, counted; ours kept, minus what
an exception carries."""

from __future__ import annotations

import io
import logging

from vaccine.proxy.console import SUMMARY_EVERY, PrivateHandler


def record(name: str, msg: str, level: int = logging.WARNING, exc: bool = False):  # type: ignore[no-untyped-def]
    exc_info = None
    if exc:
        try:
            raise ValueError("secret.example/path")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord(name, level, __file__, 1, msg, (), exc_info)


def test_mitmproxy_lines_become_kinds_counted_once_a_minute() -> None:
    out, now = io.StringIO(), [0.0]
    h = PrivateHandler(out, clock=lambda: now[0])
    msg = "[127.0.0.1:5555] Client TLS handshake failed ... certificate for secret.example"
    for _ in range(5):
        h.emit(record("mitmproxy.proxy.server", msg))
    now[0] = SUMMARY_EVERY
    h.emit(record("mitmproxy.proxy.server", msg))
    h.emit(record("mitmproxy.addons.foo", "something about secret.example"))
    h.flush_counts()
    text = out.getvalue()
    assert "secret.example" not in text and "5555" not in text
    lines = text.splitlines()
    assert lines[0].startswith("vaccine: mitmproxy: a device's TLS handshake")
    assert lines[1].endswith("— 5 more since the last line")
    assert "withheld" in lines[2] and len(lines) == 3


def test_our_lines_keep_their_words_not_the_exception_message() -> None:
    out = io.StringIO()
    PrivateHandler(out).emit(record("vaccine", "error while checking a request", exc=True))
    line = out.getvalue().strip()
    assert line.startswith("vaccine: error while checking a request (ValueError at ")
    assert "secret" not in line
