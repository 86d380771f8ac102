"""The category index at the real scale: a synthetic archive of UT1's shape (~5 M entries).

    .venv/bin/python bench/bench_index.py [--adult 4600000] [--keep DIR]

UT1's full archive cannot be fetched here, so one of the same shape is made: adult/domains.0-2
(UT1 splits its 4.6 M adult names into 50 MiB chunks), adult/urls, malware, phishing, the
redirector list twice (strong_redirector is the same file upstream), and the smaller
categories at the sample's sizes. Then, each in a fresh process:

1. `vaccine lists compile` of that folder: wall and CPU seconds, peak memory (goal: <= 60 s on
   one core, <= 500 MiB);
2. the index file's size (goal: <= 64 MiB for 5 M entries) and bytes per entry;
3. mapping it: `load_lists` of the folder with a current index (goal: <= 0.1 s);
4. a category lookup of a cold host, half of them listed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TLDS = ["com", "net", "org", "de", "fr", "xyz", "info", "co.uk", "ru", "io", "com.br"]
SMALL = {  # the sample's sizes (blacklists of UT1, 2026-08)
    "agressif": 360, "chat": 268, "dating": 6504, "mixed_adult": 149, "social_networks": 715,
    "vpn": 6039, "sexual_education": 15, "gambling": 24_000, "drogue": 900, "games": 2800,
    "dangerous_material": 120, "doh": 300,
}  # fmt: skip


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 12)))


def _name(rng: random.Random, i: int) -> str:
    r = rng.random()
    base = f"{_word(rng)}{i}.{rng.choice(TLDS)}"
    if r < 0.25:
        return f"www.{base}"
    if r < 0.35:
        return f"{_word(rng)}.{base}"
    return base


def synthesise(root: Path, adult: int) -> int:
    """A UT1-shaped `ut1/` folder and sources.yaml under `root`; the number of entries."""
    rng = random.Random(5)
    ut1 = root / "ut1"
    total = 0

    def write(rel: str, n: int, start: int = 0) -> None:
        nonlocal total
        path = ut1 / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            f.writelines(f"{_name(rng, start + i)}\n" for i in range(n))
        total += n

    third = adult // 3
    for k in range(3):
        write(f"adult/domains.{k}", third if k < 2 else adult - 2 * third, k * third)
    write("malware/domains", 218_441, adult)
    write("phishing/domains", 27_270, adult + 300_000)
    write("redirector/domains", 132_323, adult + 400_000)
    (ut1 / "strong_redirector").mkdir()
    shutil.copy(ut1 / "redirector/domains", ut1 / "strong_redirector/domains")
    total += 132_323
    for k, (cat, n) in enumerate(SMALL.items()):
        write(f"{cat}/domains", n, adult + 600_000 + k * 30_000)
    for cat, n in (("adult", 1090), ("malware", 19_226), ("phishing", 19_460)):
        with open(ut1 / cat / "urls", "w") as f:
            f.writelines(f"{_name(rng, i)}/{_word(rng)}/{_word(rng)}.html\n" for i in range(n))
        total += n
    shutil.copy(ROOT / "blocklists/sources.yaml", root / "sources.yaml")
    shutil.copytree(ROOT / "blocklists/local", root / "local")
    return total


CHILD = textwrap.dedent("""
    import json, os, resource, sys, time
    from pathlib import Path
    what, directory = sys.argv[1], Path(sys.argv[2])
    from vaccine.proxy.lists import index
    def peak_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    base = peak_mib()
    t, c = time.perf_counter(), time.process_time()
    if what == "compile":
        out = index.compile_index(directory)
        result = {"entries": out.entries, "path": str(out.path)}
    else:
        lists = index.load_lists(directory)
        assert not any("out of date" in p.message for p in lists.problems), "index not current"
        result = {"entries": lists.entry_count}
    result |= {"wall": time.perf_counter() - t, "cpu": time.process_time() - c,
               "peak": peak_mib(), "base": base}
    if what == "load":
        hosts = Path(sys.argv[3]).read_text().split()
        t = time.perf_counter()
        hits = sum(1 for h in hosts if lists.categories(h))
        result |= {"us": (time.perf_counter() - t) / len(hosts) * 1e6, "hits": hits / len(hosts)}
    print(json.dumps(result))
""")


def child(*args: str) -> dict[str, float]:
    # One core, as on a small router: the compile must not rely on the second.
    cmd = ["taskset", "-c", "0", sys.executable, "-c", CHILD, *args]
    if not shutil.which("taskset"):
        cmd = cmd[3:]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def lookups(root: Path, n: int = 200_000) -> Path:
    rng = random.Random(9)
    listed = (root / "ut1/adult/domains.1").read_text().split()[:50_000]
    hosts = []
    for i in range(n):
        if i % 2:
            hosts.append(f"cdn.{rng.choice(listed)}")
        else:
            hosts.append(f"{_word(rng)}.{_word(rng)}.{rng.choice(TLDS)}")
    path = root.parent / "hosts.txt"
    path.write_text("\n".join(hosts))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--adult", type=int, default=4_600_370, help="adult entries (UT1: 4,600,370)")
    ap.add_argument("--keep", type=Path, help="make the archive here and keep it")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vaccine-bench-index-"))
    root = args.keep or tmp / "lists"
    try:
        t = time.perf_counter()
        if not (root / "ut1").is_dir():
            root.mkdir(parents=True, exist_ok=True)
            total = synthesise(root, args.adult)
            print(f"synthesised {total:,} entries in {time.perf_counter() - t:.0f} s")
        hosts = lookups(root)
        comp = child("compile", str(root))
        size = Path(comp["path"]).stat().st_size
        loads = [child("load", str(root), str(hosts)) for _ in range(3)]
        load = min(loads, key=lambda r: r["wall"])
        n = comp["entries"]
        rows = [
            ("compile, wall (one core)", f"{comp['wall']:.1f} s", "<= 60 s"),
            ("compile, CPU", f"{comp['cpu']:.1f} s", ""),
            ("compile, peak memory", f"{comp['peak']:.0f} MiB", "<= 500 MiB"),
            ("index file", f"{size / 2**20:.1f} MiB ({size / n:.1f} bytes/entry)", "<= 64 MiB"),
            ("entries", f"{n:,}", ""),
            ("map: load_lists with the index current (best of 3)", f"{load['wall']:.3f} s",
             "<= 0.1 s"),
            ("lookup, cold host (half listed)", f"{load['us']:.2f} µs ({load['hits']:.0%} hits)",
             ""),
        ]  # fmt: skip
        w = max(len(r[0]) for r in rows)
        v = max(len(r[1]) for r in rows)
        print(f"\n{'what':<{w}}  {'measured':<{v}}  goal")
        print(f"{'-' * w}  {'-' * v}  ----")
        for a, b, c in rows:
            print(f"{a:<{w}}  {b:<{v}}  {c}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    os.sync()


if __name__ == "__main__":
    main()
