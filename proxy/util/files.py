"""Writing a file so that a reader, a crash or a power cut sees the old one or the new one,
never half of either."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace `path` in one step.

    An existing file keeps its permissions and, where allowed, its owner (a group-readable
    file, or one owned by the proxy's service user, must stay readable by the proxy); a new
    one gets `mode`, or 0600 (mkstemp's): it never exists world-readable, whatever the umask.
    The data and the rename are fsync'ed (the directory too, where the file system allows).
    """
    try:
        old: os.stat_result | None = path.stat()
    except FileNotFoundError:
        old = None
    # A leading dot: the policy and list loaders skip it, should they ever see it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if old is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.fchown(f.fileno(), old.st_uid, old.st_gid)
            elif mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in `directory` survive a power cut (where allowed)."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def private_file(path: Path) -> bool:
    """Make sure `path` exists readable by its owner only (0600, whatever the umask) before
    another library creates it its own way; an existing file loses any world access (a group
    the parent chose, e.g. for the dashboard's user, stays). True when permissions changed.

    SQLite gives a database's -wal and -shm files the database file's own permissions, so
    this one call covers all three."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
            return True
        return False
    os.fchmod(fd, 0o600)  # O_CREAT's mode is filtered by the umask; this is not
    os.close(fd)
    return True


Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(paths: list[Path]) -> Fingerprint:
    """(path, size, mtime) of each file, (path, -1, -1) for one that is missing: cheap enough
    to poll every second. Take it *before* reading the files, so an edit made while they are
    read shows up as a change at the next poll."""
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append((str(p), -1, -1))
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)
