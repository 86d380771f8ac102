"""Category lists: which of the product's categories a host, or a URL, falls in.

The index. `local/` is small and edited by hand: a dict, parsed at every load. Everything else
can hold millions of entries, so each entry is a 64-bit hash (CRC-32 of the name, then of the
name reversed) in one sorted array beside an array of category bitmasks: ~12 bytes an entry
where a dict of strings takes ~100. A false match needs both CRCs to collide (about n/2^64 per
lookup) and could only add a category, never hide one. A lookup walks the host's suffixes
down to, not including, the top-level label: single-label entries are refused as junk.
`compile_index` writes the arrays to `.index/lists.idx` with a fingerprint of the files read
(path, inode, size, mtime, category); a load whose files match maps that file instead of
parsing it, and a load whose files did not change since the last one reuses it outright.
"""

from __future__ import annotations

import array
import bisect
import itertools
import json
import mmap
import os
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from vaccine.proxy.errors import Problem
from vaccine.proxy.lists.layout import (
    CATEGORY_BITS,
    INDEX_FILE,
    SOURCES_FILE,
    Planned,
    checked_sources,
    parse_planned,
    plan,
)
from vaccine.proxy.policy.model import CATEGORIES

_MASK_BITS = len(CATEGORIES)

_SETS: dict[int, frozenset[str]] = {0: frozenset()}


def _names(mask: int) -> frozenset[str]:
    s = _SETS.get(mask)
    if s is None:  # few distinct masks exist: each set is built once
        s = _SETS[mask] = frozenset(c for c, b in CATEGORY_BITS.items() if mask & b)
    return s


def _is_address(host: str) -> bool:
    """For a normalised host: an IPv6 has colons, an IPv4 a numeric last label (a TLD never)."""
    return ":" in host or (host[-1:].isdigit() and host[host.rfind(".") + 1 :].isdigit())


def _walk(host: str) -> Iterator[str]:
    """The suffixes an entry may be for: never the bare TLD; an address only as itself."""
    if _is_address(host):
        yield host
        return
    dot = host.find(".")
    while dot >= 0:
        yield host
        host = host[dot + 1 :]
        dot = host.find(".")


# --- the packed table -------------------------------------------------------------------------


#: An array built here, or a view of the mapped index file: both index like a list of ints.
Ints = array.array | memoryview | bytearray


class _Packed:
    """Sorted 64-bit hashes + masks, a bucket directory on the top 16 bits, and a one-hash
    Bloom filter (16 bits an entry) so most misses cost one CRC and no search."""

    __slots__ = ("hashes", "masks", "buckets", "bloom", "bloom_mask")

    def __init__(self, hashes: Ints, masks: Ints, buckets: Ints, bloom: Ints) -> None:
        self.hashes = hashes
        self.masks = masks
        self.buckets = buckets
        self.bloom = bloom
        self.bloom_mask = len(bloom) * 8 - 1

    @classmethod
    def build(cls, keys: list[int]) -> _Packed:
        """From `hash << _MASK_BITS | mask` keys (duplicates allowed: their masks are OR-ed)."""
        keys.sort()
        low = (1 << _MASK_BITS) - 1
        hashes = array.array("Q", [k >> _MASK_BITS for k in keys])
        masks = array.array("I", [k & low for k in keys])
        # The same name in two lists (UT1's redirector and strong_redirector are one file) sorts
        # into a run of equal hashes: fold each run into its first entry.
        dups = [i for i, (a, b) in enumerate(itertools.pairwise(hashes), 1) if a == b]
        if dups:
            keep = bytearray(b"\1") * len(hashes)
            for i in dups:
                j = i - 1
                while not keep[j]:
                    j -= 1
                masks[j] |= masks[i]
                keep[i] = 0
            hashes = array.array("Q", itertools.compress(hashes, keep))
            masks = array.array("I", itertools.compress(masks, keep))
        n = len(hashes)
        bloom = bytearray(max(128, 1 << (2 * n).bit_length()))
        bits = len(bloom) * 8 - 1
        for h in hashes:
            b = (h >> 32) & bits
            bloom[b >> 3] |= 1 << (b & 7)
        buckets = array.array("I", (bisect.bisect_left(hashes, t << 48) for t in range(65537)))
        return cls(hashes, masks, buckets, bloom)

    def __len__(self) -> int:
        return len(self.hashes)


def _keys(names: list[str], mask: int) -> list[int]:
    shift = 32 + _MASK_BITS
    crc = zlib.crc32
    return [crc(b) << shift | crc(b[::-1]) << _MASK_BITS | mask for b in map(str.encode, names)]


# --- reading and compiling --------------------------------------------------------------------


@dataclass
class _Part:
    """The entries of the compiled part (everything but local/)."""

    table: _Packed
    urls: dict[str, dict[str, int]]
    counts: dict[str, int]
    problems: list[Problem]


def _counts(masks: Counter[int], urls: dict[str, dict[str, int]]) -> dict[str, int]:
    for rules in urls.values():
        masks.update(rules.values())
    return {c: sum(n for m, n in masks.items() if m & bit) for c, bit in CATEGORY_BITS.items()}


def _build(planned: list[Planned]) -> _Part:
    urls: dict[str, dict[str, int]] = {}
    problems: list[Problem] = []
    keys: list[int] = []
    for names, mask in parse_planned(planned, urls, problems):
        keys += _keys(names, mask)
    table = _Packed.build(keys)
    del keys
    return _Part(table, urls, _counts(Counter(table.masks), urls), problems)


def _fingerprint(planned: list[Planned]) -> str:
    files = []
    for p in planned:
        try:
            st = os.stat(p.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (-1, -1, -1)
        files.append((p.rel, p.mask, p.kind, *stamp))
    return json.dumps([2, sys.byteorder, CATEGORIES, files])


_MAGIC = b"DVLISTS\n"


def _write_index(directory: Path, fingerprint: str, part: _Part) -> Path:
    path = directory / INDEX_FILE
    t = part.table
    prefix = f"{directory}{os.sep}"  # stored relative: the folder may be named otherwise later
    header = {
        "fingerprint": fingerprint,
        "n": len(t),
        "bloom": len(t.bloom),
        "urls": part.urls,
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
            for section in (t.hashes, t.masks, t.buckets):
                f.write(section)
            f.write(t.bloom)
        os.replace(tmp, path)  # a loader sees the old index or the new one, never half
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _read_index(directory: Path, fingerprint: str) -> _Part | None:
    """The compiled part, mapped (not copied) from the index; None when absent or stale."""
    try:
        with open(directory / INDEX_FILE, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return None
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
            if header.get("fingerprint") != fingerprint:
                return None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    n, nbloom, at = header["n"], header["bloom"], len(_MAGIC) + 8 + size
    if len(mm) != at + 12 * n + 4 * 65537 + nbloom:  # cut short, or not ours
        return None
    view = memoryview(mm)
    hashes = view[at : at + 8 * n].cast("Q")
    masks = view[at + 8 * n : at + 12 * n].cast("I")
    at += 12 * n
    buckets = view[at : at + 4 * 65537].cast("I")
    bloom = view[at + 4 * 65537 :]
    problems = [
        Problem(str(directory / f), line, m, severity=s) for f, line, m, s in header["problems"]
    ]
    table = _Packed(hashes, masks, buckets, bloom)
    return _Part(table, header["urls"], header["counts"], problems)


@dataclass(frozen=True)
class Compiled:
    path: Path
    files: int
    entries: int
    seconds: float


def compile_index(directory: Path) -> Compiled:
    """Parse every list but local/ and write the index `load_lists` maps when it is current."""
    start = time.perf_counter()
    sources = checked_sources(directory)
    planned = [p for p in plan(directory, sources)[0] if not p.local]
    fingerprint = _fingerprint(planned)  # before reading: a change while parsing shows up
    part = _build(planned)
    path = _write_index(directory, fingerprint, part)
    _MEMO[os.path.realpath(directory)] = (fingerprint, part, [])
    entries = len(part.table) + sum(len(r) for r in part.urls.values())
    return Compiled(path, len(planned), entries, time.perf_counter() - start)


# The compiled part of the last load of each folder: a policy edit reloads the household, and
# the big lists, unchanged, need not be parsed (or even mapped) again.
_MEMO: dict[str, tuple[str, _Part, list[Problem]]] = {}


def _compiled_part(directory: Path, planned: list[Planned]) -> tuple[_Part, list[Problem]]:
    key, fingerprint = os.path.realpath(directory), _fingerprint(planned)
    memo = _MEMO.get(key)
    if memo is not None and memo[0] == fingerprint:
        return memo[1], memo[2]
    index = directory / INDEX_FILE
    notes: list[Problem] = []
    part = _read_index(directory, fingerprint)
    if part is None:
        if index.exists():
            stale = "out of date, lists parsed instead (slower); run `vaccine lists compile`"
            notes.append(Problem(str(index), None, stale, severity="warning"))
        part = _build(planned)
    _MEMO[key] = (fingerprint, part, notes)
    return part, notes


# --- the lists as the proxy sees them ---------------------------------------------------------


class Lists:
    """Every list of a folder, immutable once built; a reload builds a new one."""

    def __init__(
        self,
        part: _Part,
        local: dict[bytes, int],
        local_urls: dict[str, dict[str, int]],
        local_counts: dict[str, int],
        problems: list[Problem],
        files: list[Path],
    ) -> None:
        self._table = part.table
        self._local = local
        merged: dict[str, dict[str, int]] = {h: dict(r) for h, r in part.urls.items()}
        for host, rules in local_urls.items():
            mine = merged.setdefault(host, {})
            for path, m in rules.items():
                mine[path] = mine.get(path, 0) | m
        self._urls = {h: tuple(r.items()) for h, r in merged.items()}
        self._url_any = {h: _or(r.values()) for h, r in merged.items()}
        # An entry both in local/ and in a downloaded list counts in each.
        self._counts = {c: part.counts.get(c, 0) + local_counts.get(c, 0) for c in CATEGORIES}
        self.entry_count = len(self._table) + len(local) + sum(len(r) for r in self._urls.values())
        self.problems = problems
        self.files = files

    @classmethod
    def empty(cls) -> Lists:
        return cls(_Part(_Packed.build([]), {}, {}, []), {}, {}, {}, [], [])

    def categories(self, host: str) -> frozenset[str]:
        """Categories of every entry covering `host` (already normalised)."""
        # _walk and _Packed.get, inlined: this runs several times for every request, and
        # a call per suffix was a third of the time.
        t, local = self._table, self._local
        bloom, bits, buckets, hashes, masks = t.bloom, t.bloom_mask, t.buckets, t.hashes, t.masks
        crc32, bisect_left = zlib.crc32, bisect.bisect_left
        address = _is_address(host)
        b = host.encode()
        dot = 0 if address else b.find(b".")
        m = 0
        while dot >= 0:
            crc = crc32(b)
            bit = crc & bits
            if bloom[bit >> 3] >> (bit & 7) & 1:
                h = crc << 32 | crc32(b[::-1])
                top = crc >> 16
                hi = buckets[top + 1]
                i = bisect_left(hashes, h, buckets[top], hi)
                if i < hi and hashes[i] == h:
                    m |= masks[i]
            if local:
                m |= local.get(b, 0)
            if address:
                break
            b = b[dot + 1 :]
            dot = b.find(b".")
        return _names(m)

    def url_categories(self, host: str, path: str) -> frozenset[str]:
        """Categories of URL entries under a host covering `host` whose path prefixes `path`."""
        if not self._urls:
            return _names(0)
        if "%" in path:  # entries are stored decoded: `%C3%A9`, `%c3%a9` and `é` are one path
            path = unquote(path)
        m = 0
        for suffix in _walk(host):
            for prefix, pm in self._urls.get(suffix, ()):
                if path.startswith(prefix):
                    m |= pm
        return _names(m)

    def url_rule_categories(self, host: str) -> frozenset[str]:
        """Categories with a URL entry under a host covering `host`: only the path decides."""
        return _names(_or(self._url_any.get(s, 0) for s in _walk(host)))

    def stats(self) -> dict[str, int]:
        """Entries per category (every product category, zeros included)."""
        return dict(self._counts)


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
    problems += notes + part.problems
    local: dict[bytes, int] = {}  # bytes: the lookup encodes the host once for both tables
    local_urls: dict[str, dict[str, int]] = {}
    for names, mask in parse_planned([p for p in planned if p.local], local_urls, problems):
        for name in map(str.encode, names):
            local[name] = local.get(name, 0) | mask
    counts = _counts(Counter(local.values()), local_urls)
    extra = [directory / SOURCES_FILE, directory / INDEX_FILE]
    files = [p.path for p in planned] + [p for p in extra if p.is_file()]
    return Lists(part, local, local_urls, counts, problems, files)
