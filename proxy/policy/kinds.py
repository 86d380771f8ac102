"""What each kind of value in a policy file accepts, and what it becomes.

Each converter takes the schema key (for its choices and bounds) and the plain YAML value, and
returns the typed value or raises `Invalid` with a message that reads after the breadcrumb:
`schedule.bedtime.from: "25:00" is not a time (HH:MM)`. Converters are lenient where the
intent is unambiguous (`Monday`, `self-harm`, `*.example.com`, `yes`) and strict where a
guess could change what gets blocked (a URL where a domain belongs, a duration without unit).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.policy import model
from vaccine.proxy.util.words import did_you_mean, parse_host_port, parse_minutes

if TYPE_CHECKING:
    from vaccine.proxy.policy.schema import Key


class Invalid(ValueError):
    """A value the schema rejects; the message is read after the key's breadcrumb."""


def show(v: Any) -> str:
    """A value as the parent wrote it: text in quotes, `true`, "a list"."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "nothing"
    if isinstance(v, list | dict):
        return "a list" if isinstance(v, list) else "a map"
    return str(v)


def _text(key: Key, v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise Invalid(f"expected text, not {show(v)}")
    return str(v).strip()


def _word(v: Any) -> str:
    if not isinstance(v, str):
        raise Invalid(f"{show(v)} is not a word")
    return v.strip().lower()


def _profile(key: Key, v: Any) -> str:
    s = _text(key, v)
    if s.endswith(".yaml"):
        raise Invalid(f"write '{s.removesuffix('.yaml')}', without .yaml")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", s):
        raise Invalid(f"{show(v)} is not a profile name (a file name without .yaml)")
    return s


def _int(key: Key, v: Any) -> int:
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise Invalid(f"{show(v)} is not a whole number")
    lo, hi = key.minimum, key.maximum
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise Invalid(f"{v} is out of range ({lo}–{hi})")
    return v


_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _bool(key: Key, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _BOOLS:  # YAML 1.1 spellings still mean it
        return _BOOLS[v.strip().lower()]
    raise Invalid(f"{show(v)} is not true or false")


def _choice(key: Key, v: Any) -> str:
    for alias, target in key.aliases:
        if type(alias) is type(v) and alias == (v.strip().lower() if isinstance(v, str) else v):
            return target
    if isinstance(v, str) and v.strip().lower() in key.choices:
        return v.strip().lower()
    hint = did_you_mean(v.strip().lower(), key.choices) if isinstance(v, str) else ""
    raise Invalid(f"{show(v)} is not one of: {', '.join(key.choices)}{hint}")


def _category(key: Key, v: Any) -> str:
    w = _word(v).replace("-", "_").replace(" ", "_")
    if w in model.CATEGORIES:
        return w
    hint = did_you_mean(w, model.CATEGORIES) or f" (one of: {', '.join(model.CATEGORIES)})"
    raise Invalid(f"{show(v)} is not a category{hint}")


def _host(key: Key, v: Any) -> str:
    if not isinstance(v, str):
        raise Invalid(f"{show(v)} is not a domain")
    s = v.strip()
    if "/" in s:
        try:
            ipaddress.ip_network(s, strict=False)
        except ValueError:
            host = urlsplit(s if "://" in s else f"//{s}").hostname
            raise Invalid(f"{show(v)} is a web address; write only its domain: {host}") from None
        raise Invalid(f"{show(v)} is a network; only single addresses can be listed here")
    try:  # `*.example.com` and `.example.com` mean what a plain entry already means
        return normalise_host(s.removeprefix("*").removeprefix("."))
    except BadHost:
        raise Invalid(f"{show(v)} is not a domain or an IP address") from None


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(key: Key, v: Any) -> int:
    w = _word(v)
    for i, name in enumerate(_DAY_NAMES):
        if len(w) >= 3 and name.startswith(w):
            return i
    raise Invalid(f"{show(v)} is not a day ({', '.join(model.DAYS)})")


def _time(key: Key, v: Any) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip()) if isinstance(v, str) else None
    if m:
        h, mi = int(m[1]), int(m[2])
        if (h, mi) == (24, 0):  # "until midnight"
            return time(0, 0)
        if h < 24 and mi < 60:
            return time(h, mi)
    raise Invalid(f"{show(v)} is not a time (HH:MM)")


def _duration(key: Key, v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        raise Invalid(f"{v} needs a unit: write {v}m or {v}h")
    minutes = parse_minutes(_word(v))
    if minutes is None:
        raise Invalid(f"{show(v)} is not a duration (like 1h, 30m or 1h30m)")
    if minutes > 24 * 60:
        raise Invalid(f"{show(v)} is more than a day")
    return minutes


#: `refresh:` words, in minutes; 0 is "never".
REFRESH_WORDS = {"hourly": 60, "daily": 24 * 60, "weekly": 7 * 24 * 60, "off": 0, "never": 0}


def _refresh(key: Key, v: Any) -> int:
    if v is False:
        return 0
    w = _word(v) if isinstance(v, str) else ""
    if w in REFRESH_WORDS:
        return REFRESH_WORDS[w]
    days = re.fullmatch(r"(\d+)\s*d(ays?)?", w)
    minutes = int(days[1]) * 24 * 60 if days else parse_minutes(w)
    if not minutes:
        raise Invalid(f"{show(v)} is not daily, weekly, hourly, off or a duration (12h, 2d)")
    if minutes < 15:  # a list site asked every minute would soon refuse us
        raise Invalid(f"{show(v)} is too often: at least 15m")
    return minutes


def _listen(key: Key, v: Any) -> str:
    s = v.strip() if isinstance(v, str) else ""
    parsed = parse_host_port(s)
    if parsed is not None and parsed[1] > 0:
        try:
            if parsed[0] not in ("", "*"):
                normalise_host(parsed[0])
            return s
        except BadHost:
            pass
    raise Invalid(f'{show(v)} is not HOST:PORT (like "0.0.0.0:8080")')


def _mode(key: Key, v: Any) -> str:
    s = _text(key, v)
    try:  # mitmproxy's own parser, imported only when a file names a mode
        from mitmproxy.proxy.mode_specs import ProxyMode
    except ImportError:  # pragma: no cover - mitmproxy is a dependency
        return s
    try:
        ProxyMode.parse(s)
    except ValueError as e:
        raise Invalid(f"{show(v)} is not a mitmproxy mode ({e})") from None
    return s


def _user(key: Key, v: Any) -> str:
    s = _text(key, v)
    if not s or ":" in s or any(c.isspace() for c in s):
        raise Invalid(f"{show(v)} is not a login name (no spaces or ':')")
    return s


def _address(key: Key, v: Any) -> model.Network:
    try:
        if isinstance(v, str):
            return ipaddress.ip_network(v.strip(), strict=False)
    except ValueError:
        pass
    raise Invalid(f"{show(v)} is not an IP address or network (like 192.168.1.23 or 10.0.5.0/24)")


def _ip(key: Key, v: Any) -> str:
    try:
        if isinstance(v, str):
            return str(ipaddress.ip_address(v.strip().strip("[]")))
    except ValueError:
        pass
    raise Invalid(f"{show(v)} is not an IP address (like 192.168.1.10)")


def _resolver(key: Key, v: Any) -> str:
    """An IP address with an optional port (53 when none), as `ADDRESS:PORT`."""
    s = v.strip() if isinstance(v, str) else ""
    if v == "":
        return ""  # the system's resolver
    with_port = s.count(":") == 1 or (s.startswith("[") and not s.endswith("]"))
    parsed = parse_host_port(s) if with_port else (s, 53)
    try:
        if parsed is None or parsed[1] == 0:
            raise ValueError(s)
        ip, port = ipaddress.ip_address(parsed[0].strip("[]")), parsed[1]
    except ValueError:
        raise Invalid(
            f'{show(v)} is not an IP address with an optional port ("127.0.0.1:5353")'
        ) from None
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _language(key: Key, v: Any) -> str:
    w = _word(v)
    if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", w):
        raise Invalid(f"{show(v)} is not a language code (like en, fr or pt-br)")
    return w


@dataclass(frozen=True)
class Kind:
    noun: str
    plural: str
    convert: Callable[[Key, Any], Any]


KINDS: dict[str, Kind] = {
    "text": Kind("text", "texts", _text),
    "path": Kind("path", "paths", _text),
    "profile": Kind("profile id", "profile ids", _profile),
    "int": Kind("whole number", "whole numbers", _int),
    "bool": Kind("true | false", "true | false", _bool),
    "choice": Kind("choice", "choices", _choice),
    "category": Kind("category", "categories", _category),
    "host": Kind("domain or IP address", "domains or IP addresses", _host),
    "day": Kind("day", "days (mon … sun)", _day),
    "time": Kind('time "HH:MM"', 'times "HH:MM"', _time),
    "duration": Kind("duration (1h, 30m, 1h30m)", "durations", _duration),
    "refresh": Kind("daily | weekly | hourly | off | a duration (12h, 2d)", "intervals", _refresh),
    "listen": Kind('"HOST:PORT"', '"HOST:PORT"s', _listen),
    "mode": Kind("mitmproxy mode spec", "mitmproxy mode specs", _mode),
    "user": Kind("login name", "login names", _user),
    "address": Kind("IP address or CIDR network", "IP addresses or networks", _address),
    "language": Kind("language code", "language codes", _language),
    "ip": Kind("IP address", "IP addresses", _ip),
    "resolver": Kind('"ADDRESS[:PORT]"', '"ADDRESS[:PORT]"s', _resolver),
}
