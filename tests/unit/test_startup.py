"""mitmproxy's listener failures, said in one line naming our flag (proxy.startup)."""

from __future__ import annotations

import errno

import pytest

from vaccine.proxy.startup import ListenFailure, failure_line, listen_failure
from vaccine.proxy.util.words import plural

# As mitmproxy 12.2 words them (mode_servers.ServerInstance._start, logged via str(OSError)).
BUSY = (
    "[Errno 98] HTTP(S) proxy failed to listen on 127.0.0.1:8080 with [Errno 98] error while "
    "attempting to bind on address ('127.0.0.1', 8080): address already in use\n"
    "Try specifying a different port by using `--mode regular@8082`."
)
DENIED = (
    "[Errno 13] Transparent proxy failed to listen on *:80 with [Errno 13] error while "
    "attempting to bind on address ('0.0.0.0', 80): permission denied"
)


def test_a_busy_listen_port_names_listen() -> None:
    failure = listen_failure(BUSY)
    assert failure == ListenFailure("127.0.0.1:8080", 8080, "the address is already in use "
                                    "(another proxy running?)")  # fmt: skip
    assert failure_line(failure, 8080, ["regular"]) == (
        "cannot listen on 127.0.0.1:8080: the address is already in use (another proxy "
        "running?); choose another with --listen HOST:PORT"
    )


def test_a_mode_of_its_own_port_names_the_mode() -> None:
    failure = listen_failure(DENIED)
    assert failure is not None and failure.port == 80
    assert failure_line(failure, 8080, ["regular", "transparent@80"]) == (
        "cannot listen on *:80: permission denied (ports below 1024 need root or "
        "CAP_NET_BIND_SERVICE); choose another with --mode (it was transparent@80)"
    )


def test_other_errors_are_not_listen_failures() -> None:
    assert listen_failure("Invalid configuration file (/x): Expecting value") is None
    other = f"[Errno {errno.ENETDOWN}] HTTP(S) proxy failed to listen on *:1 with [Errno 100] x"
    assert listen_failure(other) == ListenFailure("*:1", 1, "enetdown")


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 warnings"), (1, "1 warning"), (2, "2 warnings"), (12345, "12,345 warnings")],
)
def test_plurals(n: int, text: str) -> None:
    assert plural(n, "warning") == text
    assert plural(1, "list entry", "list entries") == "1 list entry"
    assert plural(3, "list entry", "list entries") == "3 list entries"


def test_broken_list_reasons_count_in_words() -> None:
    from vaccine.proxy.lists.layout import broken_reason

    assert broken_reason(0, 1).startswith("no entries (1 junk line): ")
    assert broken_reason(1, 2).startswith("mostly junk (2 junk lines, 1 entry): ")
