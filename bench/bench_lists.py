"""Benchmark of the category lists: load time, memory and lookup cost, parsed vs compiled.

    .venv/bin/python bench/bench_lists.py [--synthetic N] [--lookups N] [--skip-real]

Two sets of lists:

(a) the real test data in ../shared/data/blocklists (a UT1 sample and Sinfonietta's hosts
    file, unpacked to a temporary folder with the shipped sources.yaml and local/); skipped
    with a message when absent;
(b) N synthetic domains (default 1,000,000) in one UT1-style `adult/domains` file.

Each load runs in a fresh child process, so the memory figures are that load's alone:
"parse" reads every list, "compiled" maps the index `vaccine lists compile` wrote, and
"dict" is the obvious alternative design (a Python dict from name to category mask, same
suffix walk), for comparison. RSS is the process's resident memory after loading and doing
the lookups, minus before; "heap" is what tracemalloc saw allocated by the load (a separate
run: tracing slows the load several times). Lookups: hosts of four labels, half of them
sub-domains of a listed entry, half unlisted.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

from vaccine.proxy.lists import index as lists
from vaccine.proxy.lists import layout

ROOT = Path(__file__).resolve().parent.parent

SHARED = ROOT / ".." / "shared" / "data" / "blocklists"


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hosts_for(directory: Path, n: int, seed: int = 1) -> list[str]:
    """n four-label hosts: half under a listed entry (from the lists' own files), half not."""
    rng = random.Random(seed)
    listed: list[str] = []
    for path in layout.list_files(directory):
        if path.name.startswith("domains") or path.name.endswith(("hosts", ".txt")):
            for line in path.read_text(errors="replace").splitlines():
                name = line.split()[-1] if line and line[0] not in "#!" else ""
                if name.count(".") >= 1 and not name[-1].isdigit():
                    listed.append(name)
            if len(listed) > 200_000:
                break
    out = []
    for i in range(n):
        if i % 2 and listed:
            entry = rng.choice(listed)
            labels = entry.split(".")
            out.append(".".join([*["w", "x", "y"][: max(0, 4 - len(labels))], *labels]))
        else:
            out.append(f"{_word(rng)}.{_word(rng)}.{_word(rng)}.{rng.choice(TLDS)}")
    return out


TLDS = ["com", "net", "org", "de", "fr", "xyz", "info", "co.uk"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))


# --- the child: one load, one way -------------------------------------------------------------


def child(mode: str, directory: Path, hosts_file: Path, traced: bool) -> dict[str, float]:
    hosts = hosts_file.read_text().split()
    if traced:
        tracemalloc.start()
    before = rss_kib()
    start = time.perf_counter()
    if mode == "dict":
        table = dict_baseline(directory)

        def categories(host: str) -> frozenset[str]:
            m = 0
            for s in lists._walk(host):  # the same walk as Lists.categories
                m |= table.get(s, 0)
            return lists._names(m)

        lookup = categories
    else:
        if mode == "parse":  # as if there were no index
            lists._read_index = lambda directory, fingerprint: None  # type: ignore[assignment]
        loaded = lists.load_lists(directory)
        lookup = loaded.categories
        stale = any("out of date" in p.message for p in loaded.problems)
        assert stale == (mode == "parse"), "the index should be current"
    seconds = time.perf_counter() - start
    heap = tracemalloc.get_traced_memory()[0] if traced else 0
    if traced:
        tracemalloc.stop()
    best = float("inf")
    for _ in range(5):  # the best of five passes: the machine is shared and noisy
        t = time.perf_counter()
        for h in hosts:
            lookup(h)
        best = min(best, time.perf_counter() - t)
    hits = sum(1 for h in hosts if lookup(h))
    return {
        "seconds": seconds,
        "rss_mib": (rss_kib() - before) / 1024,
        "heap_mib": heap / 2**20,
        "us": best / len(hosts) * 1e6,
        "hits": hits / len(hosts),
    }


def dict_baseline(directory: Path) -> dict[str, int]:
    """The same entries in a plain dict (what MITMPROXY-NOTES measured as a set)."""
    from vaccine.proxy.lists.formats import FileReport, parse_domains

    table: dict[str, int] = {}
    for planned in layout.plan(directory, layout.read_sources(directory)[0])[0]:
        if planned.kind == "domains":
            for name in parse_domains(planned.path, FileReport()):
                table[name] = table.get(name, 0) | planned.mask
    return table


def run_child(mode: str, directory: Path, hosts_file: Path, traced: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(directory), str(hosts_file)]
        + (["--traced"] if traced else []),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


# --- the sets of lists ------------------------------------------------------------------------


def real_lists(tmp: Path) -> Path | None:
    if not SHARED.is_dir():
        print(f"(a) skipped: no shared test data at {SHARED.resolve()}")
        return None
    root, unpacked = tmp / "real", tmp / "unpacked"
    root.mkdir()
    for name in ("ut1-blacklists-sample.tar.gz", "sinfonietta-pornography-hosts.tar.gz"):
        with tarfile.open(SHARED / name) as tar:
            tar.extractall(unpacked, filter="data")
    shutil.move(unpacked / "blacklists", root / "ut1")
    (root / "sinfonietta").mkdir()
    shutil.move(unpacked / "sinfonietta-hostfiles/pornography-hosts", root / "sinfonietta")
    shutil.copy(ROOT / "blocklists/sources.yaml", root)
    shutil.copytree(ROOT / "blocklists/local", root / "local")
    return root


def synthetic_lists(tmp: Path, n: int) -> Path:
    rng = random.Random(7)
    root = tmp / "synthetic"
    (root / "adult").mkdir(parents=True)
    with open(root / "adult/domains", "w") as f:
        for i in range(n):
            f.write(f"{_word(rng)}{i}.{rng.choice(TLDS)}\n")
    return root


def measure(title: str, directory: Path, lookups: int) -> list[list[object]]:
    hosts_file = directory.parent / f"{directory.name}-hosts.txt"
    hosts_file.write_text("\n".join(hosts_for(directory, lookups)))
    t = time.perf_counter()
    compiled = lists.compile_index(directory)
    compile_s = time.perf_counter() - t
    index_mib = compiled.path.stat().st_size / 2**20
    rows: list[list[object]] = []
    for mode in ("parse", "compiled", "dict"):
        r = run_child(mode, directory, hosts_file, traced=False)
        heap = run_child(mode, directory, hosts_file, traced=True)["heap_mib"]
        rows.append(
            [title, mode, f"{compiled.entries:,}", f"{r['seconds']:.2f}", f"{r['rss_mib']:.0f}",
             f"{heap:.0f}", f"{r['us']:.2f}", f"{r['hits']:.0%}"]
        )  # fmt: skip
    rows.append(
        [title, "compile", "", f"{compile_s:.2f}", "", f"(index {index_mib:.0f} MiB)", "", ""]
    )
    return rows


def table(header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for i, r in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if j > 1 else c.ljust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--lookups", type=int, default=100_000, metavar="N")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("MODE", "DIR", "HOSTS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, directory, hosts = args.child
        print(json.dumps(child(mode, Path(directory), Path(hosts), args.traced)))
        return 0
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-lists-") as tmp:
        real = None if args.skip_real else real_lists(Path(tmp))
        if real is not None:
            rows += measure("(a) real", real, args.lookups)
        synth = synthetic_lists(Path(tmp), args.synthetic)
        rows += measure(f"(b) {args.synthetic:,} synthetic", synth, args.lookups)
    print()
    table(["lists", "load", "entries", "load s", "RSS MiB", "heap MiB", "µs/lookup", "hits"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
