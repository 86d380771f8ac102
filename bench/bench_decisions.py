"""Benchmark of the decision: decisions per second and µs per decision, lists loaded.

    .venv/bin/python bench/bench_decisions.py [--synthetic N] [--decisions N] [--skip-real]

Runs `decide()` — the same pure function the proxy calls per request, CONNECT and ClientHello —
for a profile like the example household's (a dozen blocked categories, domain rules, a
bedtime window), over hosts of four labels, half under a listed entry and half not, with a
path (a request) and without (a CONNECT). Two sets of lists, as in bench_lists.py: the real
test data from ../shared/data/blocklists (skipped when absent) and N synthetic domains.
Memory of the loaded lists is bench_lists.py's business; this prints the RSS after loading
for orientation.

    .venv/bin/python bench/bench_decisions.py --lists DIR [--decisions N]

decides with the shipped example household's `emma` (policies/: safe search on, bedtime,
limits) over the lists in DIR (e.g. the 5 M-entry archive `bench_index.py --keep DIR` makes),
through `Household.decide` as the proxy does: each host cold (never seen: every cache misses),
then the same again within the minute (remembered), beside the floor measured in the same run
— a bare walk of the host's suffixes over a Python set of the same domains.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lists import hosts_for, real_lists, rss_kib, synthetic_lists, table  # noqa: E402

from vaccine.proxy.decision import Facts, decide
from vaccine.proxy.lists import index as lists
from vaccine.proxy.policy.model import DomainRules, Profile, Window

BLOCKED = frozenset(
    {
        "adult", "gambling", "dating", "violence", "drugs", "weapons", "hate", "self_harm",
        "phishing", "malware", "proxy_bypass", "doh", "social_networks", "chat",
    }
)  # fmt: skip
ALLOW = ("khanacademy.org", "scratch.mit.edu")
BLOCK = ("tiktok.com",)
PROFILE = Profile(
    id="emma",
    name="Emma",
    source=Path("emma.yaml"),
    block_categories=BLOCKED,
    allow_domains=ALLOW,
    block_domains=BLOCK,
    domain_rules=DomainRules.build(ALLOW, BLOCK),
    schedule=(
        Window("bedtime", frozenset({6, 0, 1, 2, 3}), dtime(19, 30), dtime(7), True, frozenset()),
    ),
    limits={"games": 60},
)
NOON = datetime(2026, 11, 23, 12, 0)  # outside bedtime: every rule after 2 is exercised


def run(title: str, directory: Path, n: int) -> list[list[object]]:
    before = rss_kib()
    t = time.perf_counter()
    index = lists.load_lists(directory)
    load_s = time.perf_counter() - t
    rss = (rss_kib() - before) / 1024
    hosts = hosts_for(directory, n)
    rows = []
    for label, path in (("CONNECT (host only)", None), ("request (host + path)", "/a/b?c=d")):
        facts = [Facts((h,), path) for h in hosts]
        blocked = 0
        t = time.perf_counter()
        for f in facts:
            blocked += decide(f, PROFILE, index, NOON).blocked
        dt = time.perf_counter() - t
        rows.append(
            [title, f"{index.entry_count:,}", f"{load_s:.2f}", f"{rss:.0f}", label,
             f"{len(facts) / dt:,.0f}", f"{dt / len(facts) * 1e6:.2f}",
             f"{blocked / len(facts):.0%}"]
        )  # fmt: skip
    return rows


def household_run(directory: Path, n: int) -> None:
    import shutil

    from vaccine.proxy.household import load_household
    from vaccine.proxy.lists.layout import list_files

    with tempfile.TemporaryDirectory() as tmp:
        policies = Path(tmp) / "policies"
        shutil.copytree(Path(__file__).resolve().parent.parent / "policies", policies)
        home = load_household(policies, directory)
    emma = home.policies.profiles["emma"]
    hosts = hosts_for(directory, n, seed=3)
    domains: set[str] = set()
    for path in list_files(directory):
        if path.name.startswith("domains") or path.suffix == ".txt":
            domains.update(path.read_text(errors="replace").split())
    facts = [Facts((h,), stage="handshake") for h in hosts]
    requests = [Facts((h,), "/index.html") for h in hosts]

    def floor() -> float:
        t = time.perf_counter()
        hit = 0
        for h in hosts:
            dot = h.find(".")
            while dot >= 0:
                if h in domains:
                    hit += 1
                    break
                h = h[dot + 1 :]
                dot = h.find(".")
        return (time.perf_counter() - t) / len(hosts) * 1e6

    def timed(batch: list[Facts]) -> float:
        now = NOON
        t = time.perf_counter()
        for f in batch:
            home.decide(f, emma, now)
        return (time.perf_counter() - t) / len(batch) * 1e6

    rows = []
    for label, batch in (("handshake (host only)", facts), ("request (host + path)", requests)):
        home.memo._entries.clear()
        f = floor()
        cold = timed(batch)  # every host new
        warm = timed(batch)  # the same within the minute (the memo holds 16,384: the last ones)
        last = batch[-10_000:]
        timed(last)
        warm = timed(last)
        rows.append([label, f"{home.lists.entry_count:,}", f"{f:.2f}", f"{cold:.2f}",
                     f"{cold / f:.1f}", f"{warm:.2f}", f"{warm / f:.1f}"])  # fmt: skip
    table(["decision (emma, shipped lists + yours)", "entries", "floor µs", "cold µs",
           "cold/floor", "seen this minute µs", "seen/floor"], rows)  # fmt: skip
    print("  goals: cold <= 10 µs, seen this minute <= 2 µs (median of the same machine, ±30 %)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--lists", type=Path, help="decide over this lists folder, as the proxy does")
    args = ap.parse_args()
    if args.lists:
        household_run(args.lists, args.decisions)
        return 0
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_real and (real := real_lists(Path(tmp))) is not None:
            rows += run("real (UT1 sample + Sinfonietta)", real, args.decisions)
        rows += run(f"synthetic {args.synthetic:,}", synthetic_lists(Path(tmp), args.synthetic),
                    args.decisions)  # fmt: skip
    table(
        ["lists", "entries", "load s", "RSS MiB", "decision", "decisions/s", "µs each", "blocked"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
