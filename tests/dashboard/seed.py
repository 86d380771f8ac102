"""A household's week in the decision log, written the way the proxy writes it.

Records are built by `record_for` from the shipped profiles (so Leo's `parents_see: categories`
drops his sites, as in real use) and written by `LogWriter`; requests are added by
`proxy.store.requests.add_request`, the function the block page's form calls. Deterministic:
a fixed seed and a fixed "now" (Sunday 8 March 2026, 19:05).

Run it to make a database to look at, ending now: `python -m tests.dashboard.seed OUT.db`.
"""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

from vaccine.proxy.decision import Decision
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store import LogWriter, Record, record_for
from vaccine.proxy.store.records import no_ca_record
from vaccine.proxy.store.requests import add_request, answer

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 8, 19, 5)

Site = tuple[str, frozenset[str]]


def _site(host: str, *categories: str) -> Site:
    return host, frozenset(categories)


USUAL: dict[str, list[tuple[Site, int]]] = {
    "emma": [
        (_site("youtube.com", "video"), 30),
        (_site("roblox.com", "games"), 15),
        (_site("khanacademy.org", "education"), 12),
        (_site("scratch.mit.edu", "education"), 8),
        (_site("wikipedia.org", "education"), 6),
        (_site("netflix.com", "video"), 6),
        (_site("gstatic.com"), 10),
    ],
    "leo": [
        (_site("youtube.com", "video"), 25),
        (_site("instagram.com", "social_networks"), 20),
        (_site("discord.com", "chat"), 12),
        (_site("minecraft.net", "games"), 12),
        (_site("steampowered.com", "games"), 6),
        (_site("wikipedia.org", "education"), 6),
    ],
    "guest": [(_site("netflix.com", "video"), 5), (_site("bbc.co.uk"), 3)],
}

#: (days ago, hh:mm, profile, host, categories, rule, times)
BLOCKED: list[tuple[int, str, str, str, tuple[str, ...], str, int]] = [
    (4, "17:10", "emma", "tiktok.com", (), "block.domains", 3),
    (2, "16:02", "emma", "pornhub.com", ("adult",), "block.categories", 1),
    (0, "18:31", "emma", "pornhub.com", ("adult",), "block.categories", 2),
    (0, "18:33", "emma", "google.com", ("adult",), "search_terms", 1),
    (0, "18:40", "emma", "tiktok.com", (), "block.domains", 2),
    (1, "08:15", "emma", "cloudflare-dns.com", ("doh",), "block.categories", 2),
    (2, "21:40", "leo", "google.com", ("self_harm",), "search_terms", 1),
    (1, "17:20", "leo", "nordvpn.com", ("proxy_bypass",), "block.categories", 2),
    (1, "17:25", "leo", "93.184.216.34", (), "ip_literal", 6),
    (3, "22:30", "leo", "instagram.com", ("social_networks",), "schedule", 4),
]


#: Emma today, ending now: video to her limit, games, then homework (the live view's hour)
TODAY = [(245, 90, _site("youtube.com", "video")), (155, 45, _site("roblox.com", "games")),
         (45, 45, _site("khanacademy.org", "education"))]  # fmt: skip


def sessions(
    profile: str, day: date, now: datetime, rng: random.Random
) -> list[tuple[datetime, int, Site | None]]:
    """(start, minutes, the one site or None for a mix) of each stretch online on `day`."""
    at = datetime.combine(day, datetime.min.time())
    today = now.date()
    if profile == "emma" and day == today:
        return [(now - timedelta(minutes=ago), n, site) for ago, n, site in TODAY]
    if profile == "leo" and day >= today - timedelta(days=1):
        # Leo's phone stopped using the proxy yesterday afternoon (the "quiet" alert)
        return [] if day == today else [(at.replace(hour=16), 60, None)]
    if profile == "guest":  # a visitor, yesterday
        return [(at.replace(hour=13), 20, None)] if day == today - timedelta(days=1) else []
    return [(at.replace(hour=rng.randint(15, 19), minute=rng.randint(0, 59)),
             rng.randint(20, 70), None) for _ in range(rng.randint(1, 3))]  # fmt: skip


def records(profiles: dict[str, Profile], now: datetime, seed: int) -> Iterator[Record | None]:
    rng = random.Random(seed)
    today = now.date()
    for i in range(7):
        day = today - timedelta(days=6 - i)
        for pid in ("emma", "leo", "guest"):
            profile = profiles[pid]
            sites, weights = zip(*USUAL[pid], strict=True)
            for start, length, only in sessions(pid, day, now, rng):
                for m in range(length):
                    when = start + timedelta(minutes=m)
                    if when >= now or when.date() != day:
                        break
                    picks = [only] if only else rng.choices(sites, weights, k=3)
                    for host, cats in picks:
                        outcome = "passed-through" if rng.random() < 0.4 else "allowed"
                        decision = Decision("allow", "default", "", host, cats)
                        yield record_for(profile, decision, outcome, when)
                    if rng.random() < 0.3:
                        search = Decision(
                            "allow", "safe_search", "", "google.com", frozenset({"search"})
                        )
                        yield record_for(profile, search, "rewritten", when)
    for ago, hhmm, pid, host, cats, rule, times in BLOCKED:
        day = today - timedelta(days=ago)
        when = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time())
        decision = Decision("block", rule, "", host, frozenset(cats))
        for _ in range(times):
            yield record_for(profiles[pid], decision, "blocked", when)
    # Leo's new laptop, yesterday: the certificate is not installed on it (the overview's
    # warning); counted like the proxy counts it, without a site
    for _ in range(5):
        yield no_ca_record("leo", datetime.combine(today - timedelta(days=1), time(16, 10)))


def household(folder: Path) -> Path:
    """A copy of the shipped policies in `folder`; returns the policies directory."""
    policies = folder / "policies"
    shutil.copytree(ROOT / "policies", policies)
    return policies


def seed_log(db_path: Path, policies_dir: Path, now: datetime = NOW, seed: int = 7) -> None:
    profiles = dict(load_policies(policies_dir).profiles)
    with LogWriter(db_path, flush_interval=3600, clock=lambda: now) as writer:
        for rec in records(profiles, now, seed):
            assert rec is not None
            writer.submit(rec)
    # (profile, site, category, the child's message, minutes ago); the escape is one no
    # form would let through, to show the dashboard prints it harmlessly anyway
    asks = [
        ("emma", "tiktok.com", "social_networks", "It's for a school project", 24),
        ("emma", "discord.com", "chat", "Can I talk to Zoe? \x1b[31mplease", 7),
        ("leo", "twitch.tv", "video", "", 95),
        ("emma", "coolmathgames.com", "games", "", 185),
    ]
    for pid, site, category, message, ago in asks:
        add_request(db_path, pid, site, category, message, now - timedelta(minutes=ago))
    # answered 3 hours ago, for an hour
    answer(db_path, 4, approve=True, until=now - timedelta(minutes=120),
           now=now - timedelta(minutes=180))  # fmt: skip


def empty_log(db_path: Path) -> None:
    """A log the proxy created and never wrote to (the first-run screen)."""
    with LogWriter(db_path):
        pass


if __name__ == "__main__":  # python -m tests.dashboard.seed OUT.db [POLICIES]: a week to now
    out = Path(sys.argv[1])
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "policies"
    now = datetime.now().replace(second=0, microsecond=0)
    seed_log(out, folder, now)
    print(f"wrote {out}: the week up to {now:%Y-%m-%d %H:%M}")
