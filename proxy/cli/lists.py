"""`vaccine lists update | compile | stats`: fetch the lists, build the fast index, count.

`update` downloads every source of sources.yaml that has a `url` into a temporary folder
inside the lists folder, checks that it holds entries (a captive portal's HTML page must not
replace a list), then swaps it in: a file with one rename, a UT1 folder by pointing the
`into` symlink at the new copy in one rename, so the proxy's reload never reads half a list.
A source that fails keeps its previous copy. Then it compiles the index.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.lists.formats import FileReport, parse_domains
from vaccine.proxy.lists.index import SOURCES_FILE, compile_index, load_lists
from vaccine.proxy.lists.layout import UPDATING_FILE
from vaccine.proxy.lists.sources import Source
from vaccine.proxy.paths import default_policies_dir
from vaccine.proxy.policy.model import CATEGORIES
from vaccine.proxy.util.words import plural

#: Refuse downloads (and archives once extracted) larger than this: a full UT1 is ~1 GiB.
MAX_BYTES = 4 << 30


def register(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--lists",
        metavar="DIR",
        type=Path,
        default=None,
        help="the lists folder (default: `blocklists:` in settings.yaml, else ./blocklists)",
    )
    # Accepted after the action too (`vaccine lists stats --policies DIR`); SUPPRESS keeps
    # the value given before the action when this one is not.
    common.add_argument("--policies", metavar="DIR", type=Path, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = sub.add_parser("update", parents=[common], help="download the lists named in sources.yaml")
    up.add_argument("sources", nargs="*", metavar="SOURCE", help="only these (default: all)")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds per network read")
    up.add_argument("--no-compile", action="store_true", help="do not rebuild the index")
    sub.add_parser("compile", parents=[common], help="build the fast index of the lists")
    st = sub.add_parser("stats", parents=[common], help="entries per category")
    st.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace) -> int:
    directory = lists_dir(args)
    if args.action == "update":
        return update(directory, args.sources, args.timeout, not args.no_compile)
    if args.action == "compile":
        return compile_(directory)
    return stats(directory, args.json)


def lists_dir(args: argparse.Namespace) -> Path:
    """--lists, else `blocklists:` of the household's settings, else ./blocklists."""
    if args.lists is not None:
        return Path(args.lists)
    policies = getattr(args, "policies", None) or default_policies_dir()
    try:
        from vaccine.proxy.policy import load as policy

        loader = getattr(policy, "load_settings", None)
        if loader is not None:  # settings.yaml alone: a broken profile must not matter here
            return Path(loader(policies)[0].blocklists)
        return Path(policy.load_policies(policies).settings.blocklists)
    except (ImportError, VaccineError, OSError):
        return Path("blocklists")


def compile_(directory: Path) -> int:
    try:
        result = compile_index(directory)
    except OSError as e:
        raise VaccineError(f"cannot write the index in {directory}: {e.strerror or e}") from e
    print(
        f"compiled {plural(result.entries, 'entry', 'entries')} from "
        f"{plural(result.files, 'file')} into {result.path} "
        f"in {result.seconds:.1f} s"
    )
    return 0


def stats(directory: Path, as_json: bool) -> int:
    lists = load_lists(directory)
    counts = lists.stats()
    warnings = sum(p.severity == "warning" for p in lists.problems)
    if as_json:
        out = {
            "directory": str(directory),
            "categories": counts,
            "entries": lists.entry_count,
            "files": len(lists.files),
            "warnings": warnings,
        }
        print(json.dumps(out, indent=2))
        return 0
    width = max(len(c) for c in CATEGORIES)
    print(f"{'category':<{width}}  {'entries':>10}")
    for category in CATEGORIES:
        print(f"{category:<{width}}  {counts[category]:>10,}")
    print(f"{'(distinct)':<{width}}  {lists.entry_count:>10,}")
    print(f"\n{plural(len(lists.files), 'file')} in {directory}")
    if warnings:
        print(f"{plural(warnings, 'warning')}: run `vaccine check` to see them")
    return 0


# --- update -----------------------------------------------------------------------------------


class UpdateFailed(Exception):
    """One source could not be updated; the others go on."""


def update(directory: Path, only: list[str], timeout: float, compile_after: bool) -> int:
    if not directory.is_dir():
        raise VaccineError(f"{directory}: no such lists folder")
    sources = _sources(directory)
    unknown = sorted(set(only) - set(sources))
    if unknown:
        raise VaccineError(f"no source named {', '.join(unknown)} in {directory / SOURCES_FILE}")
    todo = [s for s in sources.values() if s.url and (not only or s.name in only)]
    if not todo:
        print(f"nothing to download: no source in {directory / SOURCES_FILE} has a url")
        return 0
    failed = 0
    marker = directory / UPDATING_FILE
    marker.write_text(f"{os.getpid()}\n")  # a running proxy waits for the compiled index
    try:
        for src in todo:
            start = time.monotonic()
            try:
                what = fetch(src, directory, timeout)
            except (UpdateFailed, OSError, tarfile.TarError, EOFError, ValueError) as e:
                failed += 1
                print(f"{src.name}: failed ({_reason(e)}); keeping the previous copy", flush=True)
                continue
            print(f"{src.name}: updated, {what} ({time.monotonic() - start:.1f} s)", flush=True)
        if compile_after and failed < len(todo):
            compile_(directory)
    finally:
        marker.unlink(missing_ok=True)
    return 1 if failed else 0


def _sources(directory: Path) -> dict[str, Source]:
    from vaccine.proxy.lists.sources import load_sources

    sources, problems = load_sources(directory / SOURCES_FILE)
    if problems:
        raise ProblemsError(problems)
    return sources


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    if isinstance(e, tarfile.ReadError):
        return "not a .tar.gz archive"
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def fetch(src: Source, directory: Path, timeout: float) -> str:
    """Download one source and swap it in; returns a short description of what arrived."""
    assert src.url is not None
    target = directory / src.into
    target.parent.mkdir(parents=True, exist_ok=True)
    # Inside the lists folder (hidden, so the loader skips it): renames stay on one filesystem.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".update-") as tmp:
        download = Path(tmp) / "download"
        size = _download(src.url, download, timeout)
        if src.format == "ut1":
            tree = Path(tmp) / "tree"
            files = _extract(download, tree)
            root = _single_folder(tree)
            _check_ut1(root, src)
            _swap_folder(root, target)
            return f"{plural(files, 'file')}, {size / 2**20:.1f} MiB downloaded"
        with open(download, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        if gz and not src.into.endswith(".gz"):
            plain = Path(tmp) / "plain"
            with gzip.open(download) as fin, open(plain, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            download = plain
        report = FileReport()
        entries = len(parse_domains(download, report))
        if not entries:
            junk = plural(report.junk_count, "junk line")
            raise UpdateFailed(f"no entries in the download ({junk})")
        os.replace(download, target)
        return plural(entries, "entry", "entries")


def _download(url: str, dest: Path, timeout: float) -> int:
    from vaccine.proxy.cli.main import version

    req = urllib.request.Request(url, headers={"User-Agent": f"digital-vaccine/{version()}"})
    size = 0
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as f:
        while block := resp.read(1 << 20):
            size += len(block)
            if size > MAX_BYTES:
                raise UpdateFailed(f"larger than {MAX_BYTES >> 30} GiB")
            f.write(block)
    return size


def _extract(archive: Path, dest: Path) -> int:
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        if sum(m.size for m in members) > MAX_BYTES:
            raise UpdateFailed(f"the archive unpacks to more than {MAX_BYTES >> 30} GiB")
        # "data": no absolute paths, no escaping links, no devices; UT1's in-tree alias links
        # (porn -> adult) are kept.
        tar.extractall(dest, filter="data")
    return sum(m.isfile() for m in members)


def _single_folder(tree: Path) -> Path:
    """UT1 archives hold one top folder (`blacklists/`): the categories are inside it."""
    entries = [p for p in tree.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return tree


def _check_ut1(root: Path, src: Source) -> None:
    found = [p for p in root.iterdir() if p.is_dir() and any(p.glob("domains*"))]
    if not found:
        raise UpdateFailed("the archive holds no <category>/domains files")
    if not any(p.name in src.categories for p in found):
        raise UpdateFailed("none of the archive's folders is in sources.yaml `categories`")


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
    # Readers open files through the link, so a load that planned the old copy reads the new.
    for stale in target.parent.glob(f".{target.name}.*"):
        if stale != version and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
