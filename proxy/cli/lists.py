"""`vaccine lists update | compile | stats`: fetch the lists, build the fast index, count.

`update` brings every source of sources.yaml that has a `url` up to date (proxy/lists/fetch.py:
a conditional request, a checked temporary copy, one swap), showing progress, then compiles
the index when anything changed. A source that fails keeps the copy in use. One update runs
at a time per lists folder (a lock), and a running proxy waits for its index.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.lists.index import load_lists
from vaccine.proxy.lists.progress import Progress
from vaccine.proxy.paths import default_policies_dir
from vaccine.proxy.policy.model import CATEGORIES
from vaccine.proxy.util.words import plural


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
    up.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a source that shrank by more than half (refused otherwise)",
    )
    up.add_argument(
        "--progress-interval",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="when not on a terminal, a progress line this often (default 5)",
    )
    sub.add_parser("compile", parents=[common], help="build the fast index of the lists")
    st = sub.add_parser("stats", parents=[common], help="entries per category")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    hs = sub.add_parser(
        "hash", parents=[common], help="turn a clear list into a hashed list (SHA-256)"
    )
    hs.add_argument("file", metavar="FILE", type=Path, help="hosts, domains or host/path lines")
    hs.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        type=Path,
        help="where to write it, e.g. blocklists/hashed/NAME.sha256 (default: stdout)",
    )


def main(args: argparse.Namespace) -> int:
    directory = lists_dir(args)
    if args.action == "update":
        from vaccine.proxy.lists.update import update

        progress = Progress(interval=args.progress_interval)
        return update(
            directory,
            args.sources,
            args.timeout,
            compile_after=not args.no_compile,
            allow_shrink=args.allow_shrink,
            progress=progress,
        )
    if args.action == "compile":
        return compile_(directory)
    if args.action == "hash":
        return hash_(args.file, args.output)
    return stats(directory, args.json)


def hash_(source: Path, output: Path | None) -> int:
    """The hashed list of a clear one; the clear one is read, never copied anywhere."""
    import sys

    from vaccine.proxy.lists.hashed import SUFFIX, hash_lines
    from vaccine.proxy.util.files import write_atomically

    try:
        with open(source, encoding="utf-8-sig", errors="replace") as f:
            made = hash_lines(f)
    except OSError as e:
        raise VaccineError(f"{source}: cannot be read ({e.strerror})") from None
    if made.hosts + made.urls == 0:
        raise VaccineError(f"{source}: no host or URL in it ({made.junk} junk lines)")
    text = "\n".join(made.lines) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        if not output.name.endswith(SUFFIX):
            raise VaccineError(f"{output}: a hashed list's name ends in {SUFFIX}")
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(output, text.encode(), mode=0o644)
        except OSError as e:
            raise VaccineError(f"{output}: cannot be written ({e.strerror})") from None
    print(
        f"hashed {made.hosts:,} hosts and {made.urls:,} URL prefixes"
        + (f" into {output}" if output else "")
        + (f"; {made.junk} junk lines skipped" if made.junk else ""),
        file=sys.stderr,
    )
    return 0


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
    from vaccine.proxy.lists.update import compile_lists

    compile_lists(directory, Progress())
    return 0


def stats(directory: Path, as_json: bool) -> int:
    from vaccine.proxy.lists.hashed import load_hashed

    lists = load_lists(directory)
    hashed = len(load_hashed(directory)[0])
    counts = lists.stats()
    warnings = sum(p.severity == "warning" for p in lists.problems)
    if as_json:
        out = {
            "directory": str(directory),
            "categories": counts,
            "entries": lists.entry_count,
            "hashed": hashed,
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
    if hashed:
        print(f"\n{hashed:,} digests in hashed lists of known abuse material ({directory}/hashed)")
    print(f"\n{plural(len(lists.files), 'file')} in {directory}")
    if warnings:
        print(f"{plural(warnings, 'warning')}: run `vaccine check` to see them")
    return 0
