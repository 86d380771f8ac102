"""A made-up household's decision log: for the benchmark, dashboard snapshots and trying
`vaccine report` without a proxy. Deterministic for a given seed; written through `LogWriter`,
so the per-day tables come from the same triggers as in real use.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from vaccine.proxy.store.records import Record, minute_key
from vaccine.proxy.store.writer import LogWriter

#: (site, categories, weight): a child's usual sites, most visited first
SITES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("youtube.com", ("video", "social_networks"), 30),
    ("googlevideo.com", ("video",), 25),
    ("google.com", ("search",), 15),
    ("roblox.com", ("games",), 12),
    ("khanacademy.org", ("education",), 10),
    ("wikipedia.org", ("education",), 8),
    ("instagram.com", ("social_networks",), 8),
    ("discord.com", ("chat",), 6),
    ("minecraft.net", ("games",), 5),
    ("netflix.com", ("video",), 5),
    ("scratch.mit.edu", ("education",), 4),
    ("amazon.com", ("shopping",), 3),
    ("gstatic.com", (), 10),
    ("cloudflare.com", (), 4),
)
#: (site, category, rule): what gets blocked now and then
BLOCKED: tuple[tuple[str, str, str], ...] = (
    ("tiktok.com", "social_networks", "block.domains"),
    ("pornhub.com", "adult", "block.categories"),
    ("bet365.com", "gambling", "block.categories"),
    ("nordvpn.com", "proxy_bypass", "block.categories"),
    ("fortnite.com", "games", "schedule"),
)


def demo_records(
    profiles: Sequence[str], first_day: date, days: int, *, seed: int = 0, per_minute: int = 8
) -> Iterator[Record]:
    """A few sessions a day per profile; in each active minute, `per_minute` decisions."""
    rng = random.Random(seed)
    sites = [s for s, _, _ in SITES]
    weights = [w for _, _, w in SITES]
    cats = {s: c for s, c, _ in SITES}
    for d in range(days):
        day = first_day + timedelta(days=d)
        for profile in profiles:
            for _ in range(rng.randint(1, 4)):
                hour, minute = rng.randint(7, 20), rng.randint(0, 59)
                start = datetime(day.year, day.month, day.day, hour, minute)
                for m in range(rng.randint(10, 90)):
                    when = start + timedelta(minutes=m)
                    if when.date() != day:
                        break
                    key = minute_key(when)
                    for site in rng.choices(sites, weights, k=per_minute):
                        yield _record(rng, key, profile, site, cats[site])


def _record(
    rng: random.Random, minute: str, profile: str, site: str, cats: tuple[str, ...]
) -> Record:
    r = rng.random()
    if r < 0.03:
        site, category, rule = rng.choice(BLOCKED)
        return Record(minute, profile, site, category, "blocked", rule)
    category, others = (cats[0], cats[1:]) if cats else ("", ())
    if site == "google.com" and r < 0.5:
        return Record(minute, profile, site, category, "rewritten", "default", others)
    action = "passed-through" if r > 0.7 else "allowed"
    return Record(minute, profile, site, category, action, "default", others)


def seed(
    path: Path,
    profiles: Sequence[str],
    first_day: date,
    days: int,
    *,
    seed: int = 0,
    per_minute: int = 8,
    requests: int = 2,
) -> int:
    """Write a demo log at `path`; return the number of records. Adds `requests` pending
    access requests per profile (written directly: the ask-a-parent writer is not here yet).
    """
    n = 0
    with LogWriter(path, max_pending=1_000_000) as writer:
        for rec in demo_records(profiles, first_day, days, seed=seed, per_minute=per_minute):
            writer.submit(rec)
            n += 1
            if n % 200_000 == 0:
                writer.flush()
    conn = sqlite3.connect(path)
    try:
        last = first_day + timedelta(days=days - 1)
        with conn:
            for i, profile in enumerate(profiles):
                for j in range(requests):
                    site, category, _ = BLOCKED[(i + j) % len(BLOCKED)]
                    created = f"{last}T19:{j:02d}:00"
                    conn.execute(
                        "INSERT INTO access_requests (profile, domain, category, message, created)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (profile, site, category, "please, it's for school", created),
                    )
    finally:
        conn.close()
    return n
