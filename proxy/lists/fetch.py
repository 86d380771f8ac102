"""Fetching one source: a conditional request, a temporary copy, checks, then one swap.

- The request carries the `ETag` / `Last-Modified` of the copy in use (kept beside it in
  `.state/<source>.json`): an unchanged source answers 304 and nothing is downloaded.
- The download goes to a hidden temporary folder next to its target (same filesystem, so the
  swap is a rename), is checked, and only then replaces the copy in use: a file with
  `os.replace`, a UT1 folder by pointing its symlink at the new copy. The folder is fsync'ed.
- Refused, keeping the copy in use: a download cut short (fewer bytes than announced), an
  archive that does not unpack, one without category folders, a list that is mostly junk or
  empty, and one that shrank to less than half of the copy in use (in total, or any mapped
  UT1 category folder): a site's error page or a half-published archive must never empty a
  category.
- Every failure is one line a person can act on (`FetchFailed`, or `reason()` of an error),
  never a raw errno.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import http.client
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vaccine.proxy.lists.formats import count_entries
from vaccine.proxy.lists.sources import Source
from vaccine.proxy.util.files import fsync_directory, write_atomically
from vaccine.proxy.util.words import plural

#: Refuse downloads (and archives once extracted) larger than this: a full UT1 is ~1 GiB.
MAX_BYTES = 4 << 30
STATE_DIR = ".state"
_UT1_FILE = re.compile(r"(domains|urls)(\.\d+)?(\.gz)?")

#: (bytes so far, bytes announced or None)
OnBytes = Callable[[int, int | None], None]


class FetchFailed(Exception):
    """One source could not be updated, for the reason given; the others go on."""


@dataclass
class State:
    """What is known of the copy in use, beside it in `.state/<source>.json`."""

    etag: str = ""
    last_modified: str = ""
    entries: int = 0
    folders: dict[str, int] = field(default_factory=dict)  # ut1: entries per category folder
    checked: float = 0.0  # wall-clock time of the last update that reached the source

    @classmethod
    def read(cls, directory: Path, name: str) -> State | None:
        try:
            data = json.loads(state_path(directory, name).read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except (OSError, ValueError, TypeError):
            return None

    def write(self, directory: Path, name: str) -> None:
        path = state_path(directory, name)
        path.parent.mkdir(exist_ok=True)
        write_atomically(path, json.dumps(asdict(self), indent=1).encode())


def state_path(directory: Path, name: str) -> Path:
    return directory / STATE_DIR / f"{name}.json"


@dataclass(frozen=True)
class Outcome:
    changed: bool
    summary: str


def fetch(
    src: Source,
    directory: Path,
    timeout: float,
    on_bytes: OnBytes | None = None,
    *,
    allow_shrink: bool = False,
) -> Outcome:
    """Bring one source up to date; raises FetchFailed (or an OSError/urllib error, see
    `reason`) and then leaves the copy in use untouched."""
    assert src.url is not None
    target = directory / src.into
    target.parent.mkdir(parents=True, exist_ok=True)
    have = os.path.lexists(target)
    state = State.read(directory, src.name) if have else None
    headers = {"User-Agent": _user_agent()}
    if state is not None:
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".update-") as tmp:
        download = Path(tmp) / "download"
        got = _download(src.url, headers, download, timeout, on_bytes)
        if got is None:  # 304
            assert state is not None
            state.checked = time.time()
            state.write(directory, src.name)
            return Outcome(False, "unchanged since the last update (nothing downloaded)")
        size, etag, modified = got
        previous = state or (_count_copy(target, src) if have else None)
        new = State(etag, modified, checked=time.time())
        if src.format == "ut1":
            tree = Path(tmp) / "tree"
            files = _extract(download, tree)
            root = _single_folder(tree)
            new.folders = _check_ut1(root, src)
            new.entries = sum(new.folders.values())
            _refuse_shrink(previous, new, allow_shrink)
            _swap_folder(root, target)
            what = (
                f"{plural(files, 'file')}, {plural(new.entries, 'entry', 'entries')}, "
                f"{size / 2**20:.1f} MiB downloaded"
            )
        else:
            download = _gunzipped(download, src, Path(tmp) / "plain")
            new.entries = _check_file(download, "download")
            _refuse_shrink(previous, new, allow_shrink)
            os.replace(download, target)
            fsync_directory(target.parent)
            what = f"{plural(new.entries, 'entry', 'entries')}, {size / 2**20:.1f} MiB downloaded"
    new.write(directory, src.name)
    return Outcome(True, what)


def _user_agent() -> str:
    from vaccine.proxy.cli.main import version

    return f"digital-vaccine/{version()}"


def _download(
    url: str, headers: dict[str, str], dest: Path, timeout: float, on_bytes: OnBytes | None
) -> tuple[int, str, str] | None:
    """(size, ETag, Last-Modified) of what was written to `dest`; None when unchanged."""
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 304:
            e.close()
            return None
        raise
    with resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > MAX_BYTES:
            raise FetchFailed(f"larger than {MAX_BYTES >> 30} GiB")
        size = 0
        with open(dest, "wb") as f:
            while block := resp.read(1 << 20):
                size += len(block)
                if size > MAX_BYTES:
                    raise FetchFailed(f"larger than {MAX_BYTES >> 30} GiB")
                f.write(block)
                if on_bytes is not None:
                    on_bytes(size, total)
            f.flush()
            os.fsync(f.fileno())
        if total is not None and size < total:
            raise FetchFailed(
                f"the download was cut short ({size / 2**20:.1f} of {total / 2**20:.1f} MiB)"
            )
        return size, resp.headers.get("ETag", ""), resp.headers.get("Last-Modified", "")


def _gunzipped(download: Path, src: Source, plain: Path) -> Path:
    with open(download, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if not gz or src.into.endswith(".gz"):
        return download
    try:
        with gzip.open(download) as fin, open(plain, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
    except (EOFError, OSError, zlib.error) as e:
        if isinstance(e, OSError) and e.errno is not None:
            raise
        raise FetchFailed("a damaged .gz file (cut short?)") from None
    return plain


def _check_file(path: Path, shown: str, kind: str = "domains") -> int:
    """Entries of a list about to be used; refuses an empty or mostly-junk one."""
    entries, junk = count_entries(path, kind)
    if entries == 0:
        raise FetchFailed(f"no entries in the {shown} ({junk} junk lines): not a list")
    if junk > entries:
        raise FetchFailed(
            f"the {shown} is mostly junk ({plural(junk, 'junk line')}, "
            f"{plural(entries, 'entry', 'entries')}): "
            "damaged or not a list"
        )
    return entries


def _refuse_shrink(previous: State | None, new: State, allow: bool) -> None:
    if previous is None or allow:
        return
    shrunk = [
        f"{name} {before:,} → {new.folders.get(name, 0):,}"
        for name, before in sorted(previous.folders.items())
        if new.folders.get(name, 0) * 2 < before
    ]
    if new.entries * 2 < previous.entries:
        shrunk.insert(0, f"{previous.entries:,} → {new.entries:,} entries")
    if shrunk:
        raise FetchFailed(
            f"shrank by more than half ({'; '.join(shrunk)}): refused "
            "(`vaccine lists update --allow-shrink` accepts it)"
        )


def _count_copy(target: Path, src: Source) -> State:
    """The copy in use, counted, when no state was kept beside it (placed by hand)."""
    with contextlib.suppress(FetchFailed, OSError):
        if src.format == "ut1":
            folders = _ut1_counts(target, src)
            return State(entries=sum(folders.values()), folders=folders)
        return State(entries=count_entries(target)[0])
    return State()


def _extract(archive: Path, dest: Path) -> int:
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()  # reads the whole archive: a cut one fails here
            if sum(m.size for m in members) > MAX_BYTES:
                raise FetchFailed(f"the archive unpacks to more than {MAX_BYTES >> 30} GiB")
            # "data": no absolute paths, no escaping links, no devices; UT1's in-tree alias
            # links (porn -> adult) are kept.
            tar.extractall(dest, filter="data")
    except tarfile.ReadError:
        raise FetchFailed("not a .tar.gz archive, or a damaged one") from None
    except (EOFError, zlib.error, tarfile.TarError) as e:
        raise FetchFailed(f"a damaged archive (cut short?): {type(e).__name__}") from None
    return sum(m.isfile() for m in members)


def _single_folder(tree: Path) -> Path:
    """UT1 archives hold one top folder (`blacklists/`): the categories are inside it."""
    entries = [p for p in tree.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return tree


def _ut1_counts(root: Path, src: Source, check: bool = False) -> dict[str, int]:
    """Entries per mapped category folder (aliases, i.e. links, not counted twice)."""
    counts: dict[str, int] = {}
    for folder in sorted(root.iterdir()):
        if folder.is_symlink() or not folder.is_dir() or not src.categories.get(folder.name):
            continue
        n = 0
        for f in sorted(folder.iterdir()):
            m = _UT1_FILE.fullmatch(f.name)
            if m and f.is_file():
                shown = f"archive's {folder.name}/{f.name}"
                if check:
                    n += _check_file(f, shown, m.group(1))
                else:
                    n += count_entries(f, m.group(1))[0]
        counts[folder.name] = n
    return counts


def _check_ut1(root: Path, src: Source) -> dict[str, int]:
    found = [p for p in root.iterdir() if p.is_dir() and any(p.glob("domains*"))]
    if not found:
        raise FetchFailed("the archive holds no <category>/domains files")
    if not any(p.name in src.categories for p in found):
        raise FetchFailed("none of the archive's folders is in sources.yaml `categories`")
    return _ut1_counts(root, src, check=True)


def _swap_folder(new: Path, target: Path) -> None:
    """Make `target` a symlink to a fresh hidden copy, replacing the old link atomically."""
    stamp = time.time_ns()  # two updates in one second must not collide
    version = target.with_name(f".{target.name}.{stamp}")
    os.rename(new, version)
    link = target.with_name(f".{target.name}.link")
    link.unlink(missing_ok=True)
    os.symlink(version.name, link)  # relative: the lists folder can move
    if target.is_dir() and not target.is_symlink():  # a folder unpacked by hand: moved aside once
        os.rename(target, target.with_name(f".{target.name}.old.{stamp}"))
    os.replace(link, target)
    fsync_directory(target.parent)
    # Readers open files through the link, so a load that planned the old copy reads the new.
    for stale in target.parent.glob(f".{target.name}.*"):
        if stale != version and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def reason(e: BaseException, url: str | None = None, where: Path | None = None) -> str:
    """One line a person can act on, for any error an update may meet."""
    host = urllib.parse.urlsplit(url).hostname if url else None
    site = host or "the list's site"
    if isinstance(e, FetchFailed):
        return str(e)
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason} from {site}"
    if isinstance(e, urllib.error.URLError):
        e = e.reason if isinstance(e.reason, BaseException) else OSError(str(e.reason))
    if isinstance(e, socket.gaierror):
        return f"cannot find {site} (offline, or no DNS)"
    if isinstance(e, ConnectionRefusedError):
        return f"{site} refused the connection (offline, or the site is down)"
    if isinstance(e, TimeoutError | socket.timeout):
        return f"no answer from {site} in time (offline, or the site is slow)"
    if isinstance(e, ConnectionError | http.client.HTTPException):
        return f"the connection to {site} broke off ({type(e).__name__})"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full{_free(where)}; nothing was replaced"
    if isinstance(e, PermissionError):
        return f"not allowed to write{f' in {where}' if where else ''} (permissions)"
    if isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return f"no route to {site} (offline)"
    if isinstance(e, OSError):
        return f"{e.strerror or type(e).__name__}".rstrip(".")
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _free(where: Path | None) -> str:
    if where is None:
        return ""
    try:
        st = os.statvfs(where)
    except OSError:
        return f" in {where}"
    return f" ({st.f_bavail * st.f_frsize / 2**20:.1f} MiB free in {where})"
