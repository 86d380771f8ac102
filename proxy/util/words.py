"""Small parsers and hints shared by the policy files, the lists' sources and the CLI."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 warning`, `2 warnings`, `0 warnings`; `many` for the irregular (`list categories`).
    Thousands are grouped (`12,345 entries`)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


_DURATION = re.compile(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?")


def parse_minutes(text: str) -> int | None:
    """`1h`, `30m`, `1h30m`, `45min` → minutes; None when it is not a duration."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or not (m[1] or m[2]):
        return None
    return int(m[1] or 0) * 60 + int(m[2] or 0)


def format_minutes(minutes: int) -> str:
    """The inverse of `parse_minutes`: 90 → `1h30m`."""
    h, m = divmod(minutes, 60)
    return f"{h}h{m}m" if h and m else f"{h}h" if h else f"{m}m"


def parse_host_port(value: str) -> tuple[str, int] | None:
    """`HOST:PORT` (`[::1]:8080`, `:8080` for every address) → (host, port); None if not."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    return host.strip("[]"), int(port)


def split_mode(spec: str) -> tuple[str, str, int | None]:
    """A mitmproxy mode spec `mode[:data][@[host:]port]` → (`mode[:data]`, host, port).

    Follows `mitmproxy.proxy.mode_specs.ProxyMode.parse` without importing mitmproxy (43 ms
    that `vaccine check` need not pay; `vaccine run` parses with ProxyMode itself). The port
    is None when the spec has none, or one mitmproxy would refuse.
    """
    spec = spec.strip()
    head, at, listen = spec.rpartition("@")
    if not at:
        return spec, "", None
    host, _, port = listen.rpartition(":")
    return head, host.strip("[]"), int(port) if port.isdigit() else None
