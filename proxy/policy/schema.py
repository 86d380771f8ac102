"""The policy schema, declared once as data, and the checker that walks a document with it.

`SETTINGS` describes `settings.yaml`, `PROFILE` a profile file. The same declarations drive
validation, defaults and the documentation test, so a key cannot exist in one and not the
others. Checking turns a document's plain values into typed ones (times, minutes, networks,
normalised domains) and records every problem as a breadcrumb with the parser's line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vaccine.proxy.errors import Problem
from vaccine.proxy.policy import model
from vaccine.proxy.policy.kinds import KINDS, Invalid, show
from vaccine.proxy.policy.yamlload import KeyPath, YamlDoc, breadcrumb


class _Invalid:
    """Stands in for a value that was reported as a problem, so it is not also "missing"."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


@dataclass(frozen=True)
class Key:
    """One key of the schema.

    `kind` is "map" (fixed `keys`), "table" (free names, each value shaped like `item`),
    "list" (items shaped like `item`) or a leaf kind from `proxy.kinds`. `default` is written
    as it would be in YAML; None means "nothing" (the key is simply unset).
    """

    name: str
    kind: str
    doc: str
    default: Any = None
    example: str = ""
    keys: tuple[Key, ...] = ()
    item: Key | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[tuple[Any, str], ...] = ()  # other spellings accepted for a choice
    literals: tuple[str, ...] = ()  # words a "list" also accepts in place of a list
    placeholder: str = ""  # "table": how the free names are shown (`<window>`)
    table_keys: str = "text"  # "table": the leaf kind each free name must be
    required: bool = False
    inherit: bool = True  # False: `extends:` does not pass this key on
    one_of: bool = False  # "map": exactly one of `keys` per entry (`devices:`)
    minimum: int | None = None
    maximum: int | None = None

    def sub(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


def _cats(name: str, doc: str, default: Any = None, example: str = "") -> Key:
    item = Key("category", "category", "a category")
    return Key(name, "list", doc, default=default, example=example, item=item)


def _hosts(name: str, doc: str, example: str) -> Key:
    return Key(name, "list", doc, default=[], example=example, item=Key("host", "host", ""))


SETTINGS = Key(
    "settings.yaml",
    "map",
    "The proxy as a whole.",
    keys=(
        Key("listen", "listen", "address and port of the proxy for devices that set it by hand",
            default="0.0.0.0:8080", example="0.0.0.0:8080"),
        Key("modes", "list", "more mitmproxy listeners (transparent, wireguard:FILE, …) next "
            "to the regular proxy at `listen`",
            default=[], example='["regular@8080", "wireguard:var/wg-emma.json@51820"]',
            item=Key("mode", "mode", "")),
        Key("confdir", "path", "where mitmproxy keeps its CA certificate; empty means "
            "~/.mitmproxy", default="", example="var/mitmproxy"),
        Key("database", "path", "the decision log (SQLite)",
            default="var/vaccine.db", example="var/vaccine.db"),
        Key("blocklists", "path", "folder of category lists",
            default="blocklists/", example="blocklists/"),
        Key("unknown_devices", "profile", "profile for traffic that matches no profile's devices",
            default="guest", example="guest"),
        Key("proxy_auth", "path", "htpasswd file (bcrypt) with the logins `devices: - user:` use",
            example="policies/users.htpasswd"),
        Key("retention_days", "int", "decision-log records older than this are deleted",
            default=30, example="30", minimum=1, maximum=3650),
        Key("language", "language", "language of the block page and the dashboard",
            default="en", example="en"),
        Key("help_line", "text", "shown on the block page and the dashboard",
            default="", example='"Childline 0800 1111"'),
        Key("reporting_line", "text", "where to report child-abuse material; shown on the "
            "page of a hashed-list match", default="", example='"Vietnam: call 111"'),
        Key("help_lines", "table", "the help line per page language, in place of `help_line`",
            example='{vi: "111"}', item=Key("line", "text", ""), placeholder="language",
            table_keys="language"),
        _cats("never_decrypt", "categories always passed through without TLS interception",
              default=["banking", "health"], example="[banking, health]"),
        Key("lists", "map", "how `vaccine run` keeps the downloaded lists current",
            example="{fetch_on_start: true, refresh: daily}", keys=(
            Key("fetch_on_start", "bool", "with only the starter lists, fetch the sources at "
                "start, in the background", default=True, example="true"),
            Key("refresh", "refresh", "how often the running proxy updates the lists",
                default="daily", example="12h"),
        )),
        Key("dns", "map", "how lookups are answered in DNS mode (`--mode dns@53`)", keys=(
            Key("upstream", "resolver", "the resolver allowed lookups are sent to; empty means "
                "the system's resolver", default="", example='"127.0.0.1:5353"'),
            Key("block_answer", "choice", "how a blocked name is answered: the proxy's address "
                "(a browser then gets the block page), REFUSED or NXDOMAIN",
                default="proxy", example="refuse", choices=("proxy", "refuse", "nxdomain")),
            Key("proxy_addresses", "list", "the proxy's addresses as the devices reach it, "
                "for `block_answer: proxy`; empty means the address each lookup was sent to",
                default=[], example="[192.168.1.10]", item=Key("address", "ip", "")),
        )),
    ),
)  # fmt: skip

_WINDOW = Key(
    "window",
    "map",
    "one schedule window",
    keys=(
        Key("days", "list", "days the window starts on", default=list(model.DAYS),
            example="[sun, mon, tue, wed, thu]", item=Key("day", "day", "")),
        Key("from", "time", "when the window starts", required=True, example='"20:30"'),
        Key("to", "time", "when it ends; earlier than `from` means the next morning",
            required=True, example='"07:00"'),
        Key("block", "list", "`everything`, or the categories blocked during the window",
            default="everything", example="everything", literals=("everything",),
            item=Key("category", "category", "")),
        _hosts("allow", "domains still allowed during the window", "[khanacademy.org]"),
    ),
)  # fmt: skip

_DEVICE = Key(
    "device",
    "map",
    "one way of recognising the profile's traffic",
    one_of=True,
    keys=(
        Key("user", "user", "a proxy login (see `proxy_auth`)", example="emma-tablet"),
        Key("address", "address", "a source address or a CIDR network",
            example="192.168.1.23"),
        Key("port", "int", "a listening port of the proxy", example="8081",
            minimum=1, maximum=65535),
        Key("mode", "mode", "a mitmproxy mode, written exactly as in `modes` / `--mode`",
            example='"wireguard:var/wg-emma.json@51820"'),
    ),
)  # fmt: skip

PROFILE = Key(
    "profile",
    "map",
    "One profile: a child, a class, the guests.",
    keys=(
        Key("name", "text", "the name parents see; default: the file name", example="Emma",
            inherit=False),
        Key("extends", "profile", "inherit everything from this profile, then override",
            example="defaults", inherit=False),
        Key("devices", "list", "how traffic is recognised as this profile's", default=[],
            example="[{user: emma-tablet}, {address: 192.168.1.23}]", item=_DEVICE,
            inherit=False),
        Key("block", "map", "what is blocked", keys=(
            _cats("categories", "categories blocked", default=[], example="[adult, gambling]"),
            _hosts("domains", "domains blocked, with their sub-domains", "[tiktok.com]"),
        )),
        Key("allow", "map", "what is allowed whatever the categories say", keys=(
            _hosts("domains", "domains (or IP addresses) allowed, with their sub-domains",
                   "[khanacademy.org, scratch.mit.edu]"),
        )),
        Key("safe_search", "choice", "force the search engines' safe mode", default="off",
            example="strict", choices=("strict", "off"),
            aliases=((True, "strict"), (False, "off"), ("on", "strict"))),
        Key("schedule", "table", "named time windows", example="bedtime: {...}",
            item=_WINDOW, placeholder="window"),
        Key("limits", "table", "daily time per category, counted in active minutes",
            example="1h30m", item=Key("limit", "duration", ""), placeholder="category",
            table_keys="category"),
        _cats("search_terms", "search queries with terms in these categories are blocked",
              default=[], example="[adult, self_harm]"),
        Key("parents_see", "choice", "what the log keeps: registrable domains or only "
            "categories (never full URLs)", default="domains", example="categories",
            choices=("domains", "categories")),
        Key("inspect", "choice", "which HTTPS connections are decrypted", default="needed",
            example="needed", choices=("needed", "everything")),
        Key("ca_installed", "bool", "false: block at CONNECT/SNI only, never intercept",
            default=True, example="true"),
        Key("tunnels", "choice", "connections that are neither web nor TLS (SSH, VPNs, …)",
            default="refuse", example="refuse", choices=("refuse", "allow")),
    ),
)  # fmt: skip

#: Keys that belong to the other kind of file, for a better message than "unknown key".
_ELSEWHERE = {
    "settings.yaml": ({k.name for k in PROFILE.keys}, "a profile file, not settings.yaml"),
    "profile": ({k.name for k in SETTINGS.keys}, "settings.yaml, not a profile"),
}


def iter_keys(root: Key, prefix: str = "") -> Iterator[tuple[str, Key]]:
    """Every documented key below `root` as (dotted name, key): `schedule.<window>.from`."""
    for key in root.keys:
        name = f"{prefix}{key.name}"
        yield name, key
        if key.kind == "map":
            yield from iter_keys(key, name + ".")
        elif key.kind == "table" and key.item is not None:
            inner = f"{name}.<{key.placeholder}>"
            if key.item.kind == "map":
                yield inner, key.item
                yield from iter_keys(key.item, inner + ".")
        elif key.kind == "list" and key.item is not None and key.item.kind == "map":
            yield from iter_keys(key.item, name + ".")


def describe(key: Key) -> str:
    """The type of a key in words, for the documentation."""
    if key.kind == "choice":
        return " | ".join(key.choices)
    if key.kind == "list" and key.item is not None:
        if key.item.kind == "map":
            return f"list of {key.item.name} entries, one key each"
        words = f"list of {KINDS[key.item.kind].plural}"
        return " | ".join((*key.literals, words))
    if key.kind == "table" and key.item is not None:
        names = key.placeholder if key.table_keys != "text" else f"{key.placeholder} name"
        inner = key.item.name if key.item.kind == "map" else describe(key.item)
        return f"map of {names} → {inner}"
    if key.kind == "map":
        return "map"
    return KINDS[key.kind].noun


class Checker:
    """Walks one document with the schema, collecting problems instead of stopping."""

    def __init__(self, doc: YamlDoc, root: Key):
        self.doc = doc
        self.root = root
        self.problems: list[Problem] = []

    def problem(self, path: KeyPath, message: str, line_of: KeyPath | None = None) -> None:
        """Report at `path`; `line_of` places it on a more precise line (an unknown key's)."""
        crumb = breadcrumb(path)
        text = f"{crumb}: {message}" if crumb else message
        line = self.doc.line(path if line_of is None else line_of)
        self.problems.append(Problem(self.doc.file, line, text, crumb))

    def run(self) -> dict[str, Any]:
        data = self.doc.data
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem((), f"expected 'key: value' lines at the top, not {show(data)}")
            return {}
        out = self.check(self.root, data, ())
        return out if isinstance(out, dict) else {}

    def check(self, key: Key, value: Any, path: KeyPath) -> Any:
        if value is None:
            return None  # "nothing": the key is unset (and, in a profile, drops what it inherits)
        if key.kind == "map":
            return self._map(key, value, path)
        if key.kind == "table":
            return self._table(key, value, path)
        if key.kind == "list":
            return self._list(key, value, path)
        try:
            return KINDS[key.kind].convert(key, value)
        except Invalid as e:
            self.problem(path, str(e))
            return INVALID

    def _map(self, key: Key, value: Any, path: KeyPath) -> Any:
        names = [k.name for k in key.keys]
        if not isinstance(value, dict):
            if key.one_of:
                return self._bare_entry(key, value, path)
            self.problem(path, f"expected keys ({', '.join(names)}), not {show(value)}")
            return INVALID
        if key.one_of and len(value) != 1:
            if not value:
                self.problem(path, f"empty entry; write one of: {', '.join(names)}")
            else:
                self.problem(path, f"one {key.name} per entry: start each with its own '- '")
            return INVALID
        out: dict[str, Any] = {}
        for name, v in value.items():
            sub = key.sub(name)
            if sub is None:
                message, meant = self._unknown(name, names, path)
                self.problem(path, message, line_of=(*path, name))
                if meant and meant not in value:  # so it is not also reported as missing
                    out[meant] = INVALID
                continue
            out[name] = self.check(sub, v, (*path, name))
        return out

    def _unknown(self, name: str, names: list[str], path: KeyPath) -> tuple[str, str]:
        other, where = _ELSEWHERE.get(self.root.name, (set(), ""))
        if not path and name in other:
            return f"'{name}' belongs in {where}", ""
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        if close:
            return f"unknown key '{name}'; did you mean '{close[0]}'?", close[0]
        return f"unknown key '{name}'; expected one of: {', '.join(names)}", ""

    def _bare_entry(self, key: Key, value: Any, path: KeyPath) -> Any:
        """`- 192.168.1.23` under `devices:` lacks its kind; say which one it looks like."""
        fits = []
        for sub in key.keys:
            try:
                KINDS[sub.kind].convert(sub, value)
            except (Invalid, KeyError):
                continue
            fits.append(sub.name)
        guess = next((n for n in fits if n != "user"), fits[0] if fits else key.keys[0].name)
        names = ", ".join(k.name for k in key.keys)
        self.problem(path, f'{show(value)} needs a kind ({names}): write "- {guess}: {value}"')
        return INVALID

    def _table(self, key: Key, value: Any, path: KeyPath) -> Any:
        assert key.item is not None
        if not isinstance(value, dict):
            self.problem(path, f"expected names with their settings, not {show(value)}")
            return INVALID
        out: dict[Any, Any] = {}
        for name, v in value.items():
            if key.table_keys != "text":
                try:
                    name = KINDS[key.table_keys].convert(key, name)
                except Invalid as e:
                    self.problem(path, str(e), line_of=(*path, name))
                    continue
            out[name] = self.check(key.item, v, (*path, name))
        return out

    def _list(self, key: Key, value: Any, path: KeyPath) -> Any:
        assert key.item is not None
        if isinstance(value, str) and value.strip().lower() in key.literals:
            return value.strip().lower()
        if isinstance(value, dict) and key.item.kind != "map":
            self.problem(path, f"expected a list, not {show(value)}")
            return INVALID
        items = value if isinstance(value, list) else [value]  # one item needs no brackets
        out = []
        for i, item in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if item is None:
                self.problem(p, "empty item in the list")
                out.append(INVALID)
            else:  # invalid items keep their place, so index i still finds the item's line
                out.append(self.check(key.item, item, p))
        return out


def check_document(doc: YamlDoc, root: Key) -> tuple[dict[str, Any], list[Problem]]:
    """Typed values of `doc` (invalid ones replaced by INVALID) and its problems."""
    checker = Checker(doc, root)
    return checker.run(), checker.problems


def default_of(key: Key) -> Any:
    """The typed default of a key (its YAML default run through the same conversion)."""
    if key.default is None:
        return None
    checker = Checker(YamlDoc("<schema>"), key)
    value = checker.check(key, key.default, ())
    assert not checker.problems, checker.problems  # a bad default is a bug in this file
    return value
