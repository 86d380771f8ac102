"""Load a household's policy directory into a `PolicySet`, or report every problem in it.

`settings.yaml` is the proxy as a whole; every other `*.yaml` is a profile named after its file.
Each file is checked on its own first (so problems carry that file's line numbers), then
`extends:` chains are merged, then what only makes sense across files is checked: parents that
exist, devices claimed twice, the profile for unknown devices. Nothing is built unless nothing
is wrong: the caller keeps its last good set (STYLE.md, practice 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vaccine.proxy import paths
from vaccine.proxy.errors import Problem, ProblemsError, VaccineError
from vaccine.proxy.policy import model, schema
from vaccine.proxy.policy.build import build_profile
from vaccine.proxy.policy.kinds import Invalid
from vaccine.proxy.policy.schema import INVALID, PROFILE, SETTINGS, Key
from vaccine.proxy.policy.yamlload import KeyPath, YamlDoc, breadcrumb, load_yaml
from vaccine.proxy.util.words import did_you_mean, parse_host_port, split_mode

SETTINGS_FILE = "settings.yaml"
_NOT_INHERITED = frozenset(k.name for k in PROFILE.keys if not k.inherit)

#: Where each part of a merged profile came from: key path → (file, line).
Where = dict[KeyPath, tuple[str, int | None]]
Problems = list[Problem]


@dataclass
class _Source:
    """One profile file after its own checks."""

    id: str
    path: Path
    doc: YamlDoc
    values: dict[str, Any]
    merged: dict[str, Any] = field(default_factory=dict)
    where: Where = field(default_factory=dict)
    broken: bool = False  # its extends chain names a missing profile or goes round

    @property
    def file(self) -> str:
        return self.doc.file

    def at(self, path: KeyPath, message: str, severity: str = "error") -> Problem:
        """A problem at `path` in this very file (not where an inherited value came from)."""
        return _at(_where_of(self.doc), self.file, path, message, severity)


def load_policies(directory: Path) -> model.PolicySet:
    """The household's policies; raises ProblemsError with every problem of every file."""
    policies, problems = check_policies(directory)
    if policies is None:
        raise ProblemsError(problems)
    return policies


def check_policies(directory: Path) -> tuple[model.PolicySet | None, list[Problem]]:
    """The policy set (None when anything is an error) and every problem, warnings included."""
    if not directory.is_dir():
        raise VaccineError(f"{directory}: no such policy directory")
    problems: list[Problem] = []
    settings, origin = _settings(directory, problems)
    sources = _read_profiles(directory, problems)
    for src in sources.values():
        _resolve(src, sources, problems)
    for src in sources.values():
        # A window may be missing `from` only because the missing parent would have set it.
        found = [] if src.broken else problems
        _complete(PROFILE, src.merged, (), src, found)
        _check_windows(src, problems)
    _check_across(settings, origin, sources, problems)
    problems = sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0, p.message))
    if any(p.severity == "error" for p in problems):
        return None, problems
    profiles = {
        sid: build_profile(src.id, src.path, src.merged) for sid, src in sorted(sources.items())
    }
    return model.PolicySet(directory.absolute(), settings, profiles), problems


def load_settings(directory: Path) -> tuple[model.Settings, list[Problem]]:
    """`settings.yaml` alone (all defaults when absent), e.g. to find the lists after a
    profile failed to load."""
    problems: list[Problem] = []
    settings, _ = _settings(directory, problems)
    return settings, problems


def split_listen(listen: str) -> tuple[str, int]:
    """`"0.0.0.0:8080"` → `("0.0.0.0", 8080)`; `"[::]:8080"` → `("::", 8080)`."""
    parsed = parse_host_port(listen)
    if parsed is None:  # settings.yaml's `listen:` is checked as HOST:PORT when loaded
        raise ValueError(f"not HOST:PORT: {listen!r}")
    return parsed


# --- settings.yaml ------------------------------------------------------------------------


def _settings(directory: Path, problems: list[Problem]) -> tuple[model.Settings, _Source]:
    path = directory / SETTINGS_FILE
    doc = load_yaml(path) if path.exists() else YamlDoc(str(path))
    values, found = schema.check_document(doc, SETTINGS)
    problems += doc.problems + found
    origin = _Source("settings", path, doc, dict(values), where=_where_of(doc))
    completed = _complete(SETTINGS, values, (), origin, problems)
    v: dict[str, Any] = {k: _valid(val) for k, val in completed.items()}
    base = directory.absolute().parent  # paths are relative to the folder holding policies/
    proxy_auth = paths.resolve(base, v["proxy_auth"]) if v.get("proxy_auth") else None
    if proxy_auth is not None and not proxy_auth.is_file():
        problems.append(origin.at(("proxy_auth",), f"no such file: {proxy_auth}"))
    for cat in sorted(set(v["never_decrypt"]) & model.BYPASS_CATEGORIES):
        message = f"{cat} is a way around the filter, so it is always inspected; remove it"
        problems.append(origin.at(("never_decrypt",), message))
    if not (resources.files("vaccine.proxy.pages") / "locales" / f"{v['language']}.yaml").is_file():
        message = f"no translation for {v['language']!r} yet; pages are shown in English"
        problems.append(origin.at(("language",), message, "warning"))
    lists = v["lists"] if isinstance(v.get("lists"), dict) else {}
    settings = model.Settings(
        listen=v["listen"],
        modes=tuple(v["modes"]),
        confdir=str(paths.resolve(base, v["confdir"])) if v["confdir"] else "",
        database=paths.resolve(base, v["database"]),
        blocklists=paths.resolve(base, v["blocklists"]),
        unknown_devices=v["unknown_devices"],
        proxy_auth=proxy_auth,
        retention_days=v["retention_days"],
        language=v["language"],
        help_line=v["help_line"],
        reporting_line=v["reporting_line"],
        help_lines=_help_lines(v.get("help_lines")),
        never_decrypt=frozenset(v["never_decrypt"]) - model.BYPASS_CATEGORIES,
        fetch_on_start=_valid(lists.get("fetch_on_start")) is not False,
        refresh_minutes=_or_default(lists.get("refresh"), model.Settings.refresh_minutes),
        dns=_dns_settings(v["dns"]),
    )
    return settings, origin


def _help_lines(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: line for k, line in value.items() if isinstance(line, str) and line}


def _dns_settings(v: dict[str, Any]) -> model.DnsSettings:
    upstream = None
    if _valid(v["upstream"]):
        host, port = split_listen(v["upstream"])
        upstream = (host, port)
    return model.DnsSettings(
        upstream=upstream,
        block_answer=_valid(v["block_answer"]) or "proxy",
        proxy_addresses=tuple(a for a in v["proxy_addresses"] if _valid(a)),
    )


# --- one file, then its extends chain -----------------------------------------------------


def _read_profiles(directory: Path, problems: list[Problem]) -> dict[str, _Source]:
    sources: dict[str, _Source] = {}
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith((".", "_")) or name == SETTINGS_FILE or not path.is_file():
            continue
        if name.endswith(".yml"):
            message = f"ignored: policy files end in .yaml; rename it to {name[:-4]}.yaml"
            problems.append(Problem(str(path), None, message, severity="warning"))
            continue
        if not name.endswith(".yaml"):
            continue  # users.htpasswd, README, editor backups
        doc = load_yaml(path)
        values, found = schema.check_document(doc, PROFILE)
        problems += doc.problems + found
        pid = name.removesuffix(".yaml")
        try:
            schema.KINDS["profile"].convert(PROFILE, pid)
        except Invalid:
            message = f"'{pid}' cannot be a profile id: name the file with letters, digits, - or _"
            problems.append(Problem(doc.file, None, message))
        sources[pid] = _Source(pid, path, doc, values)
    return sources


def _resolve(src: _Source, sources: dict[str, _Source], problems: list[Problem]) -> None:
    """Follow `extends:` up to the root and merge, root first. A broken chain is reported by
    the file that names the wrong parent (or, for a loop, by each file in it), once; what did
    resolve is still merged, so the file's other problems are found too."""
    chain = [src]
    cur = src
    while (parent_id := cur.values.get("extends")) is not None:
        if parent_id is INVALID:
            src.broken = True
            break
        parent = sources.get(parent_id)
        if parent is None:
            if cur is src:
                hint = did_you_mean(parent_id, sorted(sources))
                path = src.path.parent / f"{parent_id}.yaml"
                message = f"there is no profile '{parent_id}' ({path}){hint}"
                problems.append(src.at(("extends",), message))
            src.broken = True
            break
        if parent in chain:
            if parent is src:
                loop = " → ".join([*(c.id for c in chain), src.id])
                problems.append(src.at(("extends",), f"{loop} goes round in a circle"))
            src.broken = True
            break
        chain.append(parent)
        cur = parent
    merged: dict[str, Any] = {}
    where: Where = {}
    for s in reversed(chain):
        own = s is src
        if own:
            _warn_dropped(src, chain, merged, problems)
        passed_on = {k: v for k, v in s.values.items() if own or k not in _NOT_INHERITED}
        merged = _merge(merged, passed_on)
        for p, line in s.doc.lines.items():
            if own or p[0] not in _NOT_INHERITED:
                where[p] = (s.file, line)
    src.merged, src.where = merged, where


def _warn_dropped(
    src: _Source, chain: list[_Source], inherited: dict[str, Any], problems: Problems
) -> None:
    """A child's `block.categories` replaces its parent's; one that leaves out a category the
    parent blocks unblocks it, which is more often a slip than a wish, so say so."""
    own = src.values.get("block")
    before = inherited.get("block", {}).get("categories")
    if len(chain) < 2 or not isinstance(own, dict) or not isinstance(before, list):
        return
    after = own.get("categories")
    if after is INVALID or "categories" not in own:
        return
    dropped = [c for c in _valid(before) if c not in (after or [])]
    if dropped:
        message = (
            f"leaves out {', '.join(dropped)}, blocked by '{chain[1].id}'; this list replaces "
            "the inherited one, so they are not blocked here"
        )
        problems.append(src.at(("block", "categories"), message, "warning"))


def _merge(base: dict[Any, Any], over: dict[Any, Any]) -> dict[Any, Any]:
    """Maps merge key by key; anything else in `over` replaces; a null in `over` removes."""
    out = dict(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            prev = out.get(k)
            out[k] = _merge(prev if isinstance(prev, dict) else {}, v)
        else:
            out[k] = v
    return out


def _complete(
    key: Key, values: dict[str, Any], path: KeyPath, src: _Source, problems: Problems
) -> dict[str, Any]:
    """Fill in defaults (also over values already reported as invalid) and report missing
    required keys."""
    for sub in key.keys:
        p = (*path, sub.name)
        v = values.get(sub.name)
        if v is None or (v is INVALID and sub.default is not None):
            if sub.required and v is None:
                problems.append(_at(src.where, src.file, path, f"missing '{sub.name}'"))
                continue
            v = {} if sub.kind in ("map", "table") else schema.default_of(sub)
            if v is None:
                continue
            values[sub.name] = v
        if sub.kind == "map" and isinstance(v, dict):
            _complete(sub, v, p, src, problems)
        elif sub.kind == "table" and isinstance(v, dict) and sub.item and sub.item.kind == "map":
            for name, item in v.items():
                if isinstance(item, dict):
                    _complete(sub.item, item, (*p, name), src, problems)
    return values


def _check_windows(src: _Source, problems: list[Problem]) -> None:
    for name, w in src.merged.get("schedule", {}).items():
        if not isinstance(w, dict):
            continue
        start, end = w.get("from"), w.get("to")
        if start is not INVALID and start is not None and start == end:
            message = f'from and to are both "{start:%H:%M}"; a window needs two different times'
            problems.append(_at(src.where, src.file, ("schedule", name, "to"), message))
        if w.get("days") == []:
            message = "no days: this window never starts"
            problems.append(
                _at(src.where, src.file, ("schedule", name, "days"), message, "warning")
            )


# --- across files -------------------------------------------------------------------------


def _check_across(
    settings: model.Settings,
    origin: _Source,
    sources: dict[str, _Source],
    problems: list[Problem],
) -> None:
    unknown = settings.unknown_devices
    if unknown not in sources:
        note = "" if "unknown_devices" in origin.values else " (the default)"
        hint = did_you_mean(unknown, sorted(sources))
        message = (
            f"there is no profile '{unknown}'{note} for devices no profile claims; create "
            f"{Path(origin.file).parent / unknown}.yaml or name another profile{hint}"
        )
        problems.append(origin.at(("unknown_devices",), message))
    logins = _logins(settings, origin, problems)
    ports = _listener_ports(settings)
    extended = {s.values.get("extends") for s in sources.values()}
    claimed: dict[tuple[str, Any], tuple[_Source, int | None]] = {}
    for src in sorted(sources.values(), key=lambda s: s.file):
        devices = src.values.get("devices")
        if not devices or devices is INVALID:
            if src.id != unknown and src.id not in extended and src.doc.data is not None:
                message = "no devices: no traffic uses this profile; add devices: to it"
                problems.append(Problem(src.file, None, message, severity="warning"))
            continue
        for i, device in enumerate(devices):
            if device is INVALID:
                continue
            ((kind, value),) = device.items()
            if value is INVALID:
                continue
            at = ("devices", i)
            line = src.doc.line(at)
            first = claimed.setdefault((kind, value), (src, line))
            if first[0] is src and first[1] != line:
                problems.append(src.at(at, f"{kind} {value} is listed twice", "warning"))
            elif first[0] is not src:
                other = f"{first[0].file}:{first[1]}" if first[1] else first[0].file
                message = f"{kind} {value} is also a device of '{first[0].id}' ({other})"
                problems.append(src.at(at, message))
            note = _device_note(kind, value, settings, logins, ports)
            if note:
                problems.append(src.at(at, note, "warning"))


def _device_note(
    kind: str, value: Any, settings: model.Settings, logins: set[str] | None, ports: set[int]
) -> str:
    """Why a device, though valid, would never match (a warning: the parent may be midway)."""
    if kind == "user" and settings.proxy_auth is None:
        return f"user {value}: logins need proxy_auth in settings.yaml; until then it never matches"
    if kind == "user" and logins is not None and value not in logins:
        return f"user {value} has no password in {settings.proxy_auth}"
    # A WireGuard device rule opens its own listener (`vaccine devices add --wireguard`).
    wireguard = str(value).lower().startswith("wireguard")
    if kind == "mode" and value not in settings.modes and not wireguard:
        return f"mode {value} is not in settings.yaml modes; it matches only when run with --mode"
    if kind == "port" and value not in ports:
        return f"port {value} is not a port the proxy listens on (listen, modes)"
    return ""


def _logins(settings: model.Settings, origin: _Source, problems: list[Problem]) -> set[str] | None:
    if settings.proxy_auth is None or not settings.proxy_auth.is_file():
        return None
    try:
        text = settings.proxy_auth.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        problems.append(origin.at(("proxy_auth",), f"cannot read {settings.proxy_auth}: {e}"))
        return None
    lines = (line.strip() for line in text.splitlines())
    return {line.split(":", 1)[0] for line in lines if ":" in line and not line.startswith("#")}


def _listener_ports(settings: model.Settings) -> set[int]:
    ports = {split_listen(settings.listen)[1]}
    for spec in settings.modes:
        port = split_mode(spec)[2]
        if port is not None:
            ports.add(port)
    return ports


def _or_default(value: Any, default: int) -> int:
    value = _valid(value)
    return value if isinstance(value, int) else default


def _valid(value: Any) -> Any:
    """`value` without what was already reported invalid (for objects built despite errors)."""
    if isinstance(value, list):
        return [v for v in value if v is not INVALID]
    return None if value is INVALID else value


# --- problems -----------------------------------------------------------------------------


def _where_of(doc: YamlDoc) -> Where:
    return {p: (doc.file, line) for p, line in doc.lines.items()}


def _at(where: Where, file: str, path: KeyPath, message: str, severity: str = "error") -> Problem:
    """A problem at `path`, placed on the line of the nearest part of it some file set."""
    crumb = breadcrumb(path)
    text = f"{crumb}: {message}" if crumb else message
    p = path
    while p and p not in where:
        p = p[:-1]
    f, line = where.get(p, (file, None))
    return Problem(f, line, text, crumb, severity)
