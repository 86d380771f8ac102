"""Category lists: which of the product's categories a host, or a URL, falls in.

What is read in the lists folder (`blocklists/`):

- `sources.yaml` says where each downloaded list lives (`into`) and what its category names
  mean (the file documents its own keys).
- Anything else is read by name: a folder or a file named after a product category
  (`local/gambling.txt`, `local/doh/domains`) or after a UT1 category we know (`drogue/` is
  drugs, see `UT1_NAMES`) holds that category's entries; a folder named otherwise is looked
  into, three levels deep, so `--lists /path/to/extracted/ut1/blacklists` works without a
  sources.yaml. A list under a name we do not know is a warning. Skipped: hidden entries,
  `terms/` (search terms, not domains), README/LICENSE/UT1 `usage` and `expressions` files.
- A symbolic link to a folder already read (UT1's `porn -> adult`) is not read twice.

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
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from .errors import Problem, ProblemsError
from .listformats import FileReport, Source, load_sources, parse_domains, parse_urls
from .model import CATEGORIES

SOURCES_FILE = "sources.yaml"
INDEX_FILE = ".index/lists.idx"

_BIT = {c: 1 << i for i, c in enumerate(CATEGORIES)}
_MASK_BITS = len(CATEGORIES)
_MAX_DEPTH = 3

#: UT1 folder names → product categories, for folders no sources.yaml describes. The shipped
#: sources.yaml says the same and explains each choice (a test keeps the two in step);
#: () means "read nothing from it". Aliases UT1 ships as symlinks are listed too, in case a
#: copy turned them into real folders.
UT1_NAMES: dict[str, tuple[str, ...]] = {
    "adult": ("adult",), "porn": ("adult",), "mixed_adult": ("adult",),
    "agressif": ("violence", "hate"), "aggressive": ("violence", "hate"),
    "dangerous_material": ("weapons",),
    "drogue": ("drugs",),
    "gambling": ("gambling",), "arjel": ("gambling",),
    "dating": ("dating",),
    "chat": ("chat",),
    "social_networks": ("social_networks",),
    "games": ("games",),
    "educational_games": ("education",),
    "audio-video": ("video",),
    "shopping": ("shopping",),
    "bank": ("banking",),
    "phishing": ("phishing",),
    "malware": ("malware",), "cryptojacking": ("malware",), "stalkerware": ("malware",),
    "dialer": ("malware",),
    "doh": ("doh",),
    "redirector": ("proxy_bypass",), "proxy": ("proxy_bypass",),
    "strong_redirector": ("proxy_bypass",), "vpn": ("proxy_bypass",),
    "residential-proxies": ("proxy_bypass",),
    "sexual_education": ("health",),
    **dict.fromkeys((
        "ai", "associations_religieuses", "astrology", "bitcoin", "blog", "celebrity", "child",
        "cleaning", "cooking", "ddos", "download", "dynamic-dns", "examen_pix", "fakenews",
        "filehosting", "financial", "forums", "hacking", "jobsearch", "lingerie", "liste_bu",
        "manga", "marketingware", "mobile-phone", "press", "publicite", "radio", "reaffected",
        "remote-control", "sect", "shortener", "sports", "strict_redirector", "translation",
        "tricheur", "tricheur_pix", "update", "warez", "webhosting", "webmail",
    ), ()),
}  # fmt: skip

_SKIP_TOP = frozenset({"terms", SOURCES_FILE})
_NOT_A_LIST = re.compile(
    r"(?i)(readme|licen[cs]e|copying|changelog|global_usage|usage|expressions?"
    r"|very_restrictive_expression)(\..*)?|.*\.(pdf|md|html?|ya?ml|json|sig|asc|sha\d*|md5)"
)
_UT1_FILE = re.compile(r"(domains|urls)(\.\d+)?(\.gz)?")
_LIST_SUFFIXES = (".txt", ".hosts", ".list", ".gz")


def _mask(categories: Sequence[str]) -> int:
    m = 0
    for c in categories:
        m |= _BIT[c]
    return m


_SETS: dict[int, frozenset[str]] = {0: frozenset()}


def _names(mask: int) -> frozenset[str]:
    s = _SETS.get(mask)
    if s is None:  # few distinct masks exist: each set is built once
        s = _SETS[mask] = frozenset(c for c, b in _BIT.items() if mask & b)
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


# --- what the folder holds --------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    path: Path
    rel: str  # relative to the lists folder, POSIX
    mask: int
    kind: str  # "domains" | "urls"

    @property
    def local(self) -> bool:
        return self.rel.startswith("local/")


def _name_mask(name: str) -> int | None:
    """The categories a folder or file name stands for; None when it is no category name."""
    if name in _BIT:
        return _BIT[name]
    cats = UT1_NAMES.get(name)
    return None if cats is None else _mask(cats)


def _has_lists(folder: Path) -> bool:
    try:
        return any(_UT1_FILE.fullmatch(p.name) for p in folder.iterdir())
    except OSError:
        return False


class _Entry(NamedTuple):
    path: Path
    is_dir: bool
    is_file: bool


class _Planner:
    def __init__(self, root: Path, sources: dict[str, Source]) -> None:
        self.root = root
        self.by_into = {s.into: s for s in sources.values()}
        self.planned: list[_Planned] = []
        self.problems: list[Problem] = []
        st = os.stat(root)
        self.seen = {(st.st_dev, st.st_ino)}

    def warn(self, path: Path, message: str) -> None:
        self.problems.append(Problem(str(path), None, message, severity="warning"))

    def entries(self, folder: Path) -> list[_Entry]:
        """Visible entries, real ones before links, each file or folder once (aliases dropped).

        The reload watcher calls this every second: the type and inode come with the folder
        listing, and only links cost a stat."""
        try:
            with os.scandir(folder) as it:
                found = sorted(((e.is_symlink(), e.name), e) for e in it if e.name[0] != ".")
            dev = os.stat(folder).st_dev
        except OSError as err:
            self.warn(folder, f"cannot read the folder: {err.strerror}")
            return []
        out = []
        for (link, _), entry in found:
            try:
                st = os.stat(entry.path) if link else None
            except OSError:
                self.warn(Path(entry.path), "a broken link; ignored")
                continue
            key = (st.st_dev, st.st_ino) if st else (dev, entry.inode())
            if key not in self.seen:
                self.seen.add(key)
                out.append(_Entry(Path(entry.path), entry.is_dir(), entry.is_file()))
        return out

    def add(self, path: Path, mask: int, kind: str) -> None:
        self.planned.append(_Planned(path, path.relative_to(self.root).as_posix(), mask, kind))

    def collection(self, folder: Path, depth: int) -> None:
        for entry in self.entries(folder):
            path = entry.path
            if depth == 0 and path.name in _SKIP_TOP:
                continue
            src = self.by_into.get(path.relative_to(self.root).as_posix())
            if src is not None:
                self.source(entry, src)
            elif entry.is_dir:
                mask = _name_mask(path.name)
                if mask:
                    self.category_folder(path, mask)
                elif mask is None and _has_lists(path):
                    self.warn(path, f"'{path.name}' is not a category name; folder ignored")
                elif mask is None and depth < _MAX_DEPTH:
                    self.collection(path, depth + 1)
            elif entry.is_file and not _NOT_A_LIST.fullmatch(path.name):
                mask = _name_mask(path.name.split(".", 1)[0])
                if mask is None:
                    self.warn(path, "not named after a category (e.g. adult.txt); ignored")
                elif mask:
                    self.add(path, mask, "domains")

    def category_folder(self, folder: Path, mask: int) -> None:
        for path, _, is_file in self.entries(folder):
            if not is_file:
                continue
            m = _UT1_FILE.fullmatch(path.name)
            if m:
                self.add(path, mask, m.group(1))
            elif path.name.endswith(_LIST_SUFFIXES) and not _NOT_A_LIST.fullmatch(path.name):
                self.add(path, mask, "domains")

    def source(self, entry: _Entry, src: Source) -> None:
        path = entry.path
        if src.format != "ut1":
            if entry.is_file:
                self.add(path, _mask(src.category), "domains")
            else:
                self.warn(path, f"source '{src.name}' is a {src.format} file, not a folder")
            return
        if not entry.is_dir:
            self.warn(path, f"source '{src.name}' should be a folder of UT1 categories")
            return
        for sub, is_dir, _ in self.entries(path):
            if not is_dir:
                continue
            if sub.name in src.categories:
                mask = _mask(src.categories[sub.name])
                if mask:
                    self.category_folder(sub, mask)
            elif _has_lists(sub):
                self.warn(
                    sub,
                    f"UT1 category '{sub.name}' is not in sources.yaml "
                    f"(sources.{src.name}.categories); ignored",
                )


_SOURCES_MEMO: dict[str, tuple[tuple[int, int], dict[str, Source], list[Problem]]] = {}


def _sources(directory: Path) -> tuple[dict[str, Source], list[Problem]]:
    """sources.yaml, re-parsed only when it changed (the reload watcher asks every second)."""
    path = directory / SOURCES_FILE
    try:
        st = path.stat()
    except OSError:
        return {}, []
    key, stamp = str(path.resolve()), (st.st_size, st.st_mtime_ns)
    memo = _SOURCES_MEMO.get(key)
    if memo is None or memo[0] != stamp:
        memo = _SOURCES_MEMO[key] = (stamp, *load_sources(path))
    return memo[1], memo[2]


def _plan(directory: Path, sources: dict[str, Source]) -> tuple[list[_Planned], list[Problem]]:
    planner = _Planner(directory, sources)
    planner.collection(directory, 0)
    return planner.planned, planner.problems


def list_files(directory: Path) -> list[Path]:
    """Every file `load_lists` would read: cheap enough to poll for changes."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    sources, problems = _sources(directory)
    planned, _ = _plan(directory, {} if problems else sources)
    extra = [directory / SOURCES_FILE, directory / INDEX_FILE]
    return [p.path for p in planned] + [p for p in extra if p.is_file()]


# --- reading and compiling --------------------------------------------------------------------


@dataclass
class _Part:
    """The entries of the compiled part (everything but local/)."""

    table: _Packed
    urls: dict[str, dict[str, int]]
    counts: dict[str, int]
    problems: list[Problem]


def _parse(
    planned: list[_Planned], urls: dict[str, dict[str, int]], problems: list[Problem]
) -> Iterator[tuple[list[str], int]]:
    """(domains, mask) per file; URL entries go into `urls`, junk into `problems`."""
    for p in planned:
        report = FileReport()
        try:
            if p.kind == "domains":
                names = parse_domains(p.path, report)
            else:
                names, entries = parse_urls(p.path, report)
                for host, path in entries:
                    rules = urls.setdefault(host, {})
                    rules[path] = rules.get(path, 0) | p.mask
        except (OSError, EOFError, zlib.error) as e:
            problems.append(
                Problem(str(p.path), None, f"cannot read ({e}); not applied", severity="warning")
            )
            continue
        problems += report.problems(str(p.path))
        yield names, p.mask


def _counts(masks: Counter[int], urls: dict[str, dict[str, int]]) -> dict[str, int]:
    for rules in urls.values():
        masks.update(rules.values())
    return {c: sum(n for m, n in masks.items() if m & bit) for c, bit in _BIT.items()}


def _build(planned: list[_Planned]) -> _Part:
    urls: dict[str, dict[str, int]] = {}
    problems: list[Problem] = []
    keys: list[int] = []
    for names, mask in _parse(planned, urls, problems):
        keys += _keys(names, mask)
    table = _Packed.build(keys)
    del keys
    return _Part(table, urls, _counts(Counter(table.masks), urls), problems)


def _fingerprint(planned: list[_Planned]) -> str:
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
    sources = _checked_sources(directory)
    planned = [p for p in _plan(directory, sources)[0] if not p.local]
    fingerprint = _fingerprint(planned)  # before reading: a change while parsing shows up
    part = _build(planned)
    path = _write_index(directory, fingerprint, part)
    _MEMO[os.path.realpath(directory)] = (fingerprint, part, [])
    entries = len(part.table) + sum(len(r) for r in part.urls.values())
    return Compiled(path, len(planned), entries, time.perf_counter() - start)


def _checked_sources(directory: Path) -> dict[str, Source]:
    if not directory.is_dir():
        raise ProblemsError([Problem(str(directory), None, "no such lists folder")])
    sources, problems = _sources(directory)
    if problems:
        raise ProblemsError(problems)
    return sources


# The compiled part of the last load of each folder: a policy edit reloads the household, and
# the big lists, unchanged, need not be parsed (or even mapped) again.
_MEMO: dict[str, tuple[str, _Part, list[Problem]]] = {}


def _compiled_part(directory: Path, planned: list[_Planned]) -> tuple[_Part, list[Problem]]:
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
    sources = _checked_sources(directory)
    planned, problems = _plan(directory, sources)
    part, notes = _compiled_part(directory, [p for p in planned if not p.local])
    problems += notes + part.problems
    local: dict[bytes, int] = {}  # bytes: the lookup encodes the host once for both tables
    local_urls: dict[str, dict[str, int]] = {}
    for names, mask in _parse([p for p in planned if p.local], local_urls, problems):
        for name in map(str.encode, names):
            local[name] = local.get(name, 0) | mask
    counts = _counts(Counter(local.values()), local_urls)
    extra = [directory / SOURCES_FILE, directory / INDEX_FILE]
    files = [p.path for p in planned] + [p for p in extra if p.is_file()]
    return Lists(part, local, local_urls, counts, problems, files)
