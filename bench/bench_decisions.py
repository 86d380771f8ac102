"""Benchmark of the decision: decisions per second and µs per decision, lists loaded.

    .venv/bin/python bench/bench_decisions.py [--synthetic N] [--decisions N] [--skip-real]

Runs `decide()` — the same pure function the proxy calls per request, CONNECT and ClientHello —
for a profile like the example household's (a dozen blocked categories, domain rules, a
bedtime window), over hosts of four labels, half under a listed entry and half not, with a
path (a request) and without (a CONNECT). Two sets of lists, as in bench_lists.py: the real
test data from ../shared/data/blocklists (skipped when absent) and N synthetic domains.
Memory of the loaded lists is bench_lists.py's business; this prints the RSS after loading
for orientation.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--skip-real", action="store_true")
    args = ap.parse_args()
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
