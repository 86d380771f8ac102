"""Hashed lists: lists of known child-abuse material that may not be kept in clear.

Hotlines and police share such lists (IWF-style URL lists, Interpol's worst-of list) with
filters on condition that the addresses never sit readable on the filtering machine. A hashed
list holds SHA-256 digests only; the proxy hashes what each request could match and looks the
digests up, so the clear list never exists here.

The format (`blocklists/hashed/<name>.sha256`, written by `vaccine lists hash FILE`):

    # comment
    <64 hex digits>            an entry: sha256 of "host" or of "host/path-prefix"
    <64 hex digits> inspect    sha256 of a host that has path entries: its HTTPS is decrypted,
                               and path entries are looked for under such hosts only

What is hashed, in UTF-8: the host normalised as everywhere in the product (lower case,
punycode, no port, no trailing dot, a leading `www.` dropped); for a URL entry, the host, then
the path percent-decoded, without query or fragment: `example.com/gallery/12`. A host entry
covers every sub-domain; a path entry covers the paths that start with it at a `/` boundary
(`/gallery/12` covers `/gallery/12` and `/gallery/12/a.jpg`, not `/gallery/123`).

A match is category `known_abuse`: blocked for every profile, before any other rule (a
parent's approval cannot open it), with nothing about the request kept (the decision names no
host, so the log records no site).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from vaccine.proxy.errors import Problem
from vaccine.proxy.hosts import BadHost, normalise_host

HASHED_DIR = "hashed"
SUFFIX = ".sha256"
RULE = "known_abuse"
HEADER = "# digital-vaccine hashed list v1: sha256 of normalised hosts and host/path prefixes"
#: A request is hashed at most this many ways (suffixes × path prefixes): bounded work.
_MAX_SUFFIXES = 16
_MAX_PREFIXES = 32


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def clean_host(host: str) -> str:
    """A normalised host as entries are hashed: a leading `www.` dropped."""
    return host[4:] if host.startswith("www.") and host.count(".") > 1 else host


def host_candidates(host: str) -> list[str]:
    """The host and each parent domain, down to (not including) the top-level label."""
    host = clean_host(host)
    if ":" in host or host.replace(".", "").isdigit():  # an address: only itself
        return [host]
    out: list[str] = []
    while "." in host and len(out) < _MAX_SUFFIXES:
        out.append(host)
        host = host.split(".", 1)[1]
    return out


def path_prefixes(path: str) -> list[str]:
    """`/a/b/c.jpg?x` → `/a`, `/a/`, `/a/b`, `/a/b/`, `/a/b/c.jpg` (decoded, no query)."""
    path = unquote(path.split("?", 1)[0].split("#", 1)[0])
    if not path.startswith("/"):
        path = "/" + path
    out: list[str] = []
    at = path.find("/", 1)
    while at >= 0 and len(out) < _MAX_PREFIXES:
        out += [path[:at], path[: at + 1]]
        at = path.find("/", at + 1)
    if path != "/" and not path.endswith("/"):
        out.append(path)
    return out[:_MAX_PREFIXES]


@dataclass(frozen=True)
class HashedLists:
    entries: frozenset[bytes] = frozenset()
    inspect: frozenset[bytes] = frozenset()
    files: tuple[Path, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def matches(self, host: str, path: str | None = None) -> bool:
        """Does an entry cover this normalised host (and path, when the request is seen)?"""
        hosts = host_candidates(host)
        digests = [digest(h) for h in hosts]
        if any(d in self.entries for d in digests):
            return True
        if path is None:
            return False
        # Path entries live only under hosts marked `inspect`: every other request costs a
        # few digests, not one per path prefix.
        under = [h for h, d in zip(hosts, digests, strict=True) if d in self.inspect]
        if not under:
            return False
        prefixes = path_prefixes(path)
        return any(digest(h + p) in self.entries for h in under for p in prefixes)

    def needs_inspection(self, host: str) -> bool:
        """Has this host path entries, so that its requests must be decrypted to be checked?"""
        return any(digest(h) in self.inspect for h in host_candidates(host))


def parse_file(path: Path) -> tuple[set[bytes], set[bytes], int]:
    """(entries, hosts to inspect, junk lines) of one hashed list."""
    entries: set[bytes] = set()
    inspect: set[bytes] = set()
    junk = 0
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            parts = line.split("#", 1)[0].split()
            if not parts:
                continue
            try:
                value = bytes.fromhex(parts[0])
            except ValueError:
                value = b""
            if len(value) != 32 or len(parts) > 2 or parts[1:] not in ([], ["inspect"]):
                junk += 1
            elif parts[1:]:
                inspect.add(value)
            else:
                entries.add(value)
    return entries, inspect, junk


def load_hashed(directory: Path) -> tuple[HashedLists, list[Problem]]:
    """Every `hashed/*.sha256` of a lists folder. A file that cannot be read, holds no entry
    or is mostly junk is an error: the category must never silently shrink."""
    files = hashed_files(directory)
    entries: set[bytes] = set()
    inspect: set[bytes] = set()
    problems: list[Problem] = []
    for p in files:
        try:
            found, hosts, junk = parse_file(p)
        except OSError as e:
            problems.append(Problem(str(p), None, f"cannot be read ({e.strerror})"))
            continue
        if not found or junk > len(found):
            why = f"{len(found)} digests, {junk} junk lines: damaged or not a hashed list"
            problems.append(Problem(str(p), None, why))
            continue
        if junk:
            problems.append(Problem(str(p), None, f"{junk} junk lines", severity="warning"))
        entries |= found
        inspect |= hosts
    return HashedLists(frozenset(entries), frozenset(inspect), tuple(files)), problems


def hashed_files(directory: Path) -> list[Path]:
    folder = Path(directory) / HASHED_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) and p.is_file())


# --- making one: `vaccine lists hash FILE` ------------------------------------------------


@dataclass
class Hashed:
    lines: list[str] = field(default_factory=list)
    hosts: int = 0
    urls: int = 0
    junk: int = 0


def hash_lines(lines: Iterable[str]) -> Hashed:
    """A clear list (hosts, plain domains, AdBlock `||host^`, `host/path` URLs) → the hashed
    format's lines, sorted (the order of the clear list is not kept either)."""
    from vaccine.proxy.lists.formats import domain_line, url_line

    entries: set[str] = set()
    inspect: set[str] = set()
    out = Hashed()
    for raw in lines:
        text = raw.strip()
        if not text or text[0] in "#!":
            continue
        if "/" in text.split("#", 1)[0] and not text.startswith("||"):
            entry, problem = url_line(text)
            if isinstance(entry, tuple):
                host, path = clean_host(entry[0]), entry[1]
                entries.add(digest(host + path).hex())
                inspect.add(digest(host).hex())
                out.urls += 1
            elif entry:
                entries.add(digest(clean_host(entry)).hex())
                out.hosts += 1
            else:
                out.junk += bool(problem)
            continue
        names, problem = domain_line(text)
        for name in names:
            entries.add(digest(clean_host(name)).hex())
            out.hosts += 1
        out.junk += bool(problem) and problem != "ignored"
    out.lines = [HEADER, *sorted(entries), *(f"{h} inspect" for h in sorted(inspect - entries))]
    return out


def normalise_candidate(host: str) -> str | None:
    try:
        return normalise_host(host)
    except BadHost:
        return None


def candidates(hosts: Iterable[str]) -> Iterator[str]:
    """The distinct normalised hosts of a request's spellings (bad ones are left to the
    decision, which blocks them)."""
    seen: set[str] = set()
    for raw in hosts:
        if raw:
            host = normalise_candidate(raw)
            if host and host not in seen:
                seen.add(host)
                yield host
