"""Category lists: which of the product's categories a host, or a URL, falls in.

The index. Lists can hold millions of entries, so each entry is a 56-bit hash (CRC-32 of the
name, then 24 bits of the CRC-32 of the name reversed) in one sorted array beside a one-byte
index into a palette of category masks: ~10.3 bytes an entry with the Bloom filter, where a
dict of strings takes ~100. A false match needs both CRCs to collide (about n/2^56 per lookup)
and could only add a category, never hide one. A lookup walks the host's suffixes down to, not
including, the top-level label: single-label entries are refused as junk.
`compile_index` writes the arrays to `.index/lists.idx` with a fingerprint of the files read
(path, inode, size, mtime, category); a load whose files match maps that file instead of
parsing it, and a load whose files did not change since the last one reuses it outright.
`local/` is compiled the same way into `.index/local.idx`, by the load itself whenever a
parent's edit changed it (it is small), so an edit never makes the big index stale.
"""

from __future__ import annotations

import array
import contextlib
import json
import marshal
import mmap
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from vaccine.proxy.errors import Problem
from vaccine.proxy.hosts import host_suffixes
from vaccine.proxy.lists.layout import (
    CATEGORY_BITS,
    INDEX_FILE,
    LOCAL_INDEX_FILE,
    SOURCES_FILE,
    Planned,
    checked_sources,
    parse_planned,
    plan,
)
from vaccine.proxy.lists.packed import Packed, Small, Walk, entry_key, is_address, walkers
from vaccine.proxy.policy.model import CATEGORIES

_MASK_BITS = len(CATEGORIES)

_SETS: dict[int, frozenset[str]] = {0: frozenset()}


def _names(mask: int) -> frozenset[str]:
    s = _SETS.get(mask)
    if s is None:  # few distinct masks exist: each set is built once
        s = _SETS[mask] = frozenset(c for c, b in CATEGORY_BITS.items() if mask & b)
    return s


def _walk(host: str) -> Iterator[str]:
    """The suffixes an entry may be for: never the bare TLD; an address only as itself."""
    if is_address(host):
        yield host
        return
    dot = host.find(".")
    while dot >= 0:
        yield host
        host = host[dot + 1 :]
        dot = host.find(".")


# --- reading and compiling --------------------------------------------------------------------


@dataclass
class _Part:
    """The entries of one compiled part: the big lists, or local/."""

    table: Packed
    urls: dict[str, tuple[tuple[str, int], ...]]  # host → (path prefix, mask), …
    url_any: dict[str, int]  # host → every mask of its URL entries
    counts: dict[str, int]
    problems: list[Problem]


def _counts(table: Packed, urls: dict[str, tuple[tuple[str, int], ...]]) -> dict[str, int]:
    per_id = Counter(table.masks)
    masks: Counter[int] = Counter({table.palette[i]: n for i, n in per_id.items()})
    for rules in urls.values():
        masks.update(m for _, m in rules)
    return {c: sum(n for m, n in masks.items() if m & bit) for c, bit in CATEGORY_BITS.items()}


Progress = Callable[[int, int], None]  # (entries so far, files done)


def _build(planned: list[Planned], progress: Progress | None = None) -> _Part:
    found: dict[str, dict[str, int]] = {}
    problems: list[Problem] = []
    runs: list[array.array] = []
    palette: list[int] = []
    done = 0
    for k, (names, mask) in enumerate(parse_planned(planned, found, problems), 1):
        if mask not in palette:
            if len(palette) == 256:
                raise ValueError("more than 256 category combinations among the list files")
            palette.append(mask)
        pid = palette.index(mask)
        keys = [entry_key(b, pid) for b in map(str.encode, names)]
        del names
        keys.sort()
        runs.append(array.array("Q", keys))
        done += len(keys)
        del keys
        if progress is not None:
            progress(done, k)
    table = Packed.build(runs, palette)
    del runs
    urls = {h: tuple(r.items()) for h, r in found.items()}
    url_any = {h: _or(r.values()) for h, r in found.items()}
    return _Part(table, urls, url_any, _counts(table, urls), problems)


def _fingerprint(planned: list[Planned]) -> str:
    files = []
    for p in planned:
        try:
            st = os.stat(p.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (-1, -1, -1)
        files.append((p.rel, p.mask, p.kind, *stamp))
    return json.dumps([3, sys.byteorder, CATEGORIES, files])


_MAGIC = b"DVLISTS3"


def _write_index(directory: Path, path: Path, fingerprint: str, part: _Part) -> Path:
    t = part.table
    prefix = f"{directory}{os.sep}"  # stored relative: the folder may be named otherwise later
    urls = marshal.dumps((part.urls, part.url_any))
    header = {
        "fingerprint": fingerprint,
        "n": len(t),
        "bloom": len(t.bloom),
        "mask_width": 1 if len(t.palette) <= 256 else 2,
        "palette": list(t.palette),
        "urls": len(urls),
        "counts": part.counts,
        "problems": [
            (p.file.removeprefix(prefix), p.line, p.message, p.severity) for p in part.problems
        ],
    }
    head = json.dumps(header).encode()
    head += b" " * (-(len(_MAGIC) + 8 + len(head)) % 8)  # the arrays start 8-byte aligned
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC + len(head).to_bytes(8, "little") + head)
            for section in (t.hashes, t.buckets, t.masks):
                f.write(section)
            f.write(b"\0" * (-f.tell() % 8))
            f.write(t.bloom)
            f.write(urls)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # a loader sees the old index or the new one, never half
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _read_index(directory: Path, path: Path, fingerprint: str) -> _Part | None:
    """The compiled part, mapped (not copied) from `path`; None when absent or stale."""
    try:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return None
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
            if header.get("fingerprint") != fingerprint:
                return None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        n, width, at = header["n"], header["mask_width"], len(_MAGIC) + 8 + size
        view = memoryview(mm)
        hashes = view[at : at + 8 * n].cast("Q")
        at += 8 * n
        buckets = view[at : at + 4 * 65537].cast("I")
        at += 4 * 65537
        masks = view[at : at + width * n].cast("B" if width == 1 else "H")
        at += width * n + (-(at + width * n) % 8)
        bloom = view[at : at + header["bloom"]]
        at += header["bloom"]
        if len(mm) != at + header["urls"] or len(hashes) != n or len(masks) != n:
            return None  # cut short, or not ours
        urls, url_any = marshal.loads(view[at:])
        palette = tuple(header["palette"])
    except (KeyError, TypeError, ValueError, EOFError):
        return None
    problems = [
        Problem(str(directory / f), line, m, severity=s) for f, line, m, s in header["problems"]
    ]
    table = Packed(hashes, masks, palette, buckets, bloom)
    return _Part(table, urls, url_any, header["counts"], problems)


@dataclass(frozen=True)
class Compiled:
    path: Path
    files: int
    entries: int
    seconds: float


def compile_index(directory: Path, progress: Progress | None = None) -> Compiled:
    """Parse every list but local/ and write the index `load_lists` maps when it is current.
    `progress(entries so far, files done)` is called after each file."""
    start = time.perf_counter()
    sources = checked_sources(directory)
    planned = [p for p in plan(directory, sources)[0] if not p.local]
    fingerprint = _fingerprint(planned)  # before reading: a change while parsing shows up
    part = _build(planned, progress)
    path = _write_index(directory, directory / INDEX_FILE, fingerprint, part)
    _MEMO[(os.path.realpath(directory), INDEX_FILE)] = (fingerprint, part, [])
    entries = len(part.table) + sum(len(r) for r in part.urls.values())
    return Compiled(path, len(planned), entries, time.perf_counter() - start)


# The compiled parts of the last load of each folder: a policy edit reloads the household, and
# the big lists, unchanged, need not be parsed (or even mapped) again.
_MEMO: dict[tuple[str, str], tuple[str, _Part, list[Problem]]] = {}


def _compiled_part(directory: Path, planned: list[Planned]) -> tuple[_Part, list[Problem]]:
    """The big lists: mapped from the index `vaccine lists compile` wrote, or parsed (with a
    warning) when it is missing or out of date."""
    key, fingerprint = (os.path.realpath(directory), INDEX_FILE), _fingerprint(planned)
    memo = _MEMO.get(key)
    if memo is not None and memo[0] == fingerprint:
        return memo[1], memo[2]
    index = directory / INDEX_FILE
    notes: list[Problem] = []
    part = _read_index(directory, index, fingerprint)
    if part is None:
        if index.exists():
            stale = "out of date, lists parsed instead (slower); run `vaccine lists compile`"
            notes.append(Problem(str(index), None, stale, severity="warning"))
        part = _build(planned)
    _MEMO[key] = (fingerprint, part, notes)
    return part, notes


def _local_part(directory: Path, planned: list[Planned]) -> _Part:
    """local/: small and edited by hand, so compiled here whenever it changed (into its own
    index, so an edit never makes the big one stale) and mapped otherwise."""
    key, fingerprint = (os.path.realpath(directory), LOCAL_INDEX_FILE), _fingerprint(planned)
    memo = _MEMO.get(key)
    if memo is not None and memo[0] == fingerprint:
        return memo[1]
    index = directory / LOCAL_INDEX_FILE
    part = _read_index(directory, index, fingerprint)
    if part is None:
        part = _build(planned)
        with contextlib.suppress(OSError):  # a read-only folder: parsed at each load instead
            _write_index(directory, index, fingerprint, part)
    _MEMO[key] = (fingerprint, part, [])
    return part


# --- the lists as the proxy sees them ---------------------------------------------------------


class Lists:
    """Every list of a folder, immutable once built; a reload builds a new one."""

    def __init__(self, part: _Part, local: _Part, problems: list[Problem], files: list[Path]):
        self._table = part.table
        self._local = local.table if len(local.table) else None
        # local/ as a dict on the CRC-32 when it is small (it is hand-written): one probe per
        # suffix, where its ten-bit Bloom filter sent one suffix in ten on to a search.
        self._small = _small(local.table) if len(local.table) <= SMALL else None
        big_local = self._local if self._small is None else None
        self._urls = (part.urls, local.urls)
        self._any_urls = bool(part.urls or local.urls)
        # Names with URL entries → their categories, both parts in one dict (one probe a name).
        self._url_any = _merged(part.url_any, local.url_any)
        # In C when it is built (proxy/lists/cwalk.c): ~2 µs less for every new host.
        self._lookup: Callable[[str], int]
        self._walk: Walk | None
        self._lookup, self._walk = walkers(self._table, big_local, self._small, self._url_any)
        # An entry both in local/ and in a downloaded list counts in each.
        self._counts = {c: part.counts.get(c, 0) + local.counts.get(c, 0) for c in CATEGORIES}
        urls = sum(sum(map(len, u.values())) for u in self._urls)
        self.entry_count = len(part.table) + len(local.table) + urls
        self.problems = problems
        self.files = files

    @classmethod
    def empty(cls) -> Lists:
        nothing = _Part(Packed.build([], []), {}, {}, {}, [])
        return cls(nothing, nothing, [], [])

    def categories(self, host: str) -> frozenset[str]:
        """Categories of every entry covering `host` (already normalised)."""
        return _names(self._lookup(host))

    def walk(self, host: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
        """`categories(host)`, `url_rule_categories(host)` and proxy.hosts.host_suffixes(host)
        in one walk of the host (already normalised): what the decision asks of every host."""
        if self._walk is not None:
            m, u, sfx = self._walk(host)
            return _names(m), _names(u), sfx if sfx is not None else host_suffixes(host)
        sfx = host_suffixes(host)
        return _names(self._lookup(host)), self.url_rule_categories(host, sfx), sfx

    def url_categories(self, host: str, path: str) -> frozenset[str]:
        """Categories of URL entries under a host covering `host` whose path prefixes `path`."""
        if not self._any_urls:
            return _names(0)
        if "%" in path:  # entries are stored decoded: `%C3%A9`, `%c3%a9` and `é` are one path
            path = unquote(path)
        m = 0
        for suffix in _walk(host):
            for urls in self._urls:
                for prefix, pm in urls.get(suffix, ()):
                    if path.startswith(prefix):
                        m |= pm
        return _names(m)

    def url_rule_categories(
        self, host: str, suffixes: tuple[str, ...] | None = None
    ) -> frozenset[str]:
        """Categories with a URL entry under a host covering `host`: only the path decides.
        `suffixes` is proxy.hosts.host_suffixes(host) when the caller has walked it already."""
        if not self._any_urls:
            return _names(0)
        url_any = self._url_any
        if is_address(host):
            return _names(url_any.get(host, 0))
        if suffixes is None:
            suffixes = host_suffixes(host)
        m = 0
        for suffix in suffixes[:-1]:  # never the bare top-level label
            m |= url_any.get(suffix, 0)
        return _names(m)

    def stats(self) -> dict[str, int]:
        """Entries per category (every product category, zeros included)."""
        return dict(self._counts)


SMALL = 65_536  # entries of local/ kept as a dict (a few MiB at most, built in milliseconds)


def _small(t: Packed) -> Small:
    out: dict[int, list[tuple[int, int]]] = {}
    for i, h in enumerate(t.hashes):
        out.setdefault(h >> 24, []).append((h, t.palette[t.masks[i]]))
    return {crc: tuple(v) for crc, v in out.items()}


def _merged(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Two name → mask dicts as one (a name in both has both masks)."""
    if not b:
        return a
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) | v
    return out


def _or(masks: Iterable[int]) -> int:
    m = 0
    for x in masks:
        m |= x
    return m


def load_lists(directory: Path) -> Lists:
    """Every list under `directory`. Raises ProblemsError only when the folder is missing or
    sources.yaml is invalid; junk lines and unknown names are warnings in `Lists.problems`."""
    directory = Path(directory)
    sources = checked_sources(directory)
    planned, problems = plan(directory, sources)
    part, notes = _compiled_part(directory, [p for p in planned if not p.local])
    local = _local_part(directory, [p for p in planned if p.local])
    problems += notes + part.problems + local.problems
    extra = [directory / SOURCES_FILE, directory / INDEX_FILE]
    files = [p.path for p in planned] + [p for p in extra if p.is_file()]
    return Lists(part, local, problems, files)
