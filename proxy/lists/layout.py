"""The lists folder: which files hold which categories, and the entries each file holds.

What is read in the lists folder (`blocklists/`):

- `sources.yaml` says where each downloaded list lives (`into`) and what its category names
  mean (the file documents its own keys).
- Anything else is read by name: a folder or a file named after a product category
  (`local/gambling.txt`, `local/doh/domains`) or after a UT1 category we know (`drogue/` is
  drugs, see `UT1_NAMES`) holds that category's entries; a folder named otherwise is looked
  into, three levels deep, so `--lists /path/to/extracted/ut1/blacklists` works without a
  sources.yaml. A list under a name we do not know is a warning. Skipped: hidden entries,
  `terms/` (search terms, not domains), `hashed/` (digests, proxy/lists/hashed.py),
  README/LICENSE/UT1 `usage` and `expressions` files.
- A symbolic link to a folder already read (UT1's `porn -> adult`) is not read twice.

A file's categories are a bitmask (`CATEGORY_BITS`) from here on: the index stores nothing else.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from vaccine.proxy.errors import Problem, ProblemsError
from vaccine.proxy.lists.formats import FileReport, parse_domains, parse_urls
from vaccine.proxy.lists.sources import Source, load_sources
from vaccine.proxy.policy.model import CATEGORIES
from vaccine.proxy.util.words import plural

SOURCES_FILE = "sources.yaml"
INDEX_FILE = ".index/lists.idx"
LOCAL_INDEX_FILE = ".index/local.idx"  # local/, compiled on load when it changed
#: Present while `vaccine lists update` swaps lists in and compiles them: a running proxy
#: waits for the compiled index instead of parsing half-updated lists (hidden: not a list).
UPDATING_FILE = ".updating"
#: A marker older than this was left by an update that died; it is ignored.
UPDATING_STALE_SECONDS = 30 * 60


def update_in_progress(directory: Path) -> bool:
    """An update is at work: the marker is fresh and the process that wrote it still runs
    (a killed update must not keep the proxy from reloading)."""
    marker = directory / UPDATING_FILE
    try:
        age = time.time() - marker.stat().st_mtime
        pid = int(marker.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    if age >= UPDATING_STALE_SECONDS:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    return True


CATEGORY_BITS = {c: 1 << i for i, c in enumerate(CATEGORIES)}
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

_SKIP_TOP = frozenset({"terms", "hashed", SOURCES_FILE})  # hashed/: proxy/lists/hashed.py
_NOT_A_LIST = re.compile(
    r"(?i)(readme|licen[cs]e|copying|changelog|global_usage|usage|expressions?"
    r"|very_restrictive_expression)(\..*)?|.*\.(pdf|md|html?|ya?ml|json|sig|asc|sha\d*|md5)"
)
_UT1_FILE = re.compile(r"(domains|urls)(\.\d+)?(\.gz)?")
_LIST_SUFFIXES = (".txt", ".hosts", ".list", ".gz")


def _mask(categories: Sequence[str]) -> int:
    m = 0
    for c in categories:
        m |= CATEGORY_BITS[c]
    return m


@dataclass(frozen=True)
class Planned:
    path: Path
    rel: str  # relative to the lists folder, POSIX
    mask: int
    kind: str  # "domains" | "urls"

    @property
    def local(self) -> bool:
        return self.rel.startswith("local/")


def _name_mask(name: str) -> int | None:
    """The categories a folder or file name stands for; None when it is no category name."""
    if name in CATEGORY_BITS:
        return CATEGORY_BITS[name]
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
        self.planned: list[Planned] = []
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
        self.planned.append(Planned(path, path.relative_to(self.root).as_posix(), mask, kind))

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


def read_sources(directory: Path) -> tuple[dict[str, Source], list[Problem]]:
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


def plan(directory: Path, sources: dict[str, Source]) -> tuple[list[Planned], list[Problem]]:
    planner = _Planner(directory, sources)
    planner.collection(directory, 0)
    return planner.planned, planner.problems


def list_files(directory: Path) -> list[Path]:
    """Every file `load_lists` would read: cheap enough to poll for changes."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    sources, problems = read_sources(directory)
    planned, _ = plan(directory, {} if problems else sources)
    extra = [directory / SOURCES_FILE, directory / INDEX_FILE]
    return [p.path for p in planned] + [p for p in extra if p.is_file()]


def parse_planned(
    planned: list[Planned], urls: dict[str, dict[str, int]], problems: list[Problem]
) -> Iterator[tuple[list[str], int]]:
    """(domains, mask) per file; URL entries go into `urls`, junk into `problems`.

    A file that cannot be read, holds no entry, or is mostly junk is broken: an error, so the
    household does not load and a category never silently shrinks (at start-up the proxy
    refuses to start; while running, the last good lists stay in force). Junk *lines* in a
    good file are warnings."""
    for p in planned:
        report = FileReport()
        try:
            if p.kind == "domains":
                names = parse_domains(p.path, report)
                entries: list[tuple[str, str]] = []
            else:
                names, entries = parse_urls(p.path, report)
        except (OSError, EOFError, zlib.error, UnicodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            problems.append(Problem(str(p.path), None, f"cannot be read ({reason})"))
            continue
        broken = broken_reason(len(names) + len(entries), report.junk_count)
        if broken:
            problems.append(Problem(str(p.path), None, broken))
            continue
        for host, path in entries:
            rules = urls.setdefault(host, {})
            rules[path] = rules.get(path, 0) | p.mask
        problems += report.problems(str(p.path))
        yield names, p.mask


def broken_reason(entries: int, junk: int) -> str:
    """Why a list file with these counts is broken, or "" when it is good."""
    if entries == 0:
        return f"no entries ({plural(junk, 'junk line')}): not a list; the category is not emptied"
    if junk > entries:
        return (
            f"mostly junk ({plural(junk, 'junk line')}, {plural(entries, 'entry', 'entries')}): "
            "damaged or not a list; "
            "the category is not shrunk"
        )
    return ""


def checked_sources(directory: Path) -> dict[str, Source]:
    if not directory.is_dir():
        raise ProblemsError([Problem(str(directory), None, "no such lists folder")])
    sources, problems = read_sources(directory)
    if problems:
        raise ProblemsError(problems)
    return sources
