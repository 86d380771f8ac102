"""The policy model: what the YAML files mean once loaded and validated.

Everything here is immutable. A reload builds a whole new `PolicySet` and swaps it in one
assignment, so a request never sees half of an old policy and half of a new one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal

from vaccine.proxy.hosts import suffixes

#: The product's category vocabulary (PRODUCT.md, "Blocklists").
CATEGORIES: tuple[str, ...] = (
    "adult", "gambling", "dating", "violence", "drugs", "weapons", "hate", "self_harm",
    "phishing", "malware", "proxy_bypass", "doh", "social_networks", "games", "video", "chat",
    "shopping", "education", "banking", "health", "search",
)  # fmt: skip

#: Categories whose hosts are attempts to get around the filter; never passed through silently.
BYPASS_CATEGORIES = frozenset({"proxy_bypass", "doh"})

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Device:
    """One way of recognising a profile's traffic (`devices:` entry)."""

    kind: Literal["user", "address", "port", "mode"]
    user: str = ""
    network: Network | None = None
    port: int = 0
    mode: str = ""


@dataclass(frozen=True)
class Window:
    """A schedule window: `days` are 0=Monday … 6=Sunday; the window starts on those days."""

    name: str
    days: frozenset[int]
    start: time
    end: time  # end <= start means the window crosses midnight into the next day
    block_everything: bool
    categories: frozenset[str]
    allow: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainRules:
    """A profile's `allow.domains` and `block.domains`, ready for most-specific matching."""

    rules: Mapping[str, Literal["allow", "block"]] = field(default_factory=dict)

    @classmethod
    def build(cls, allow: tuple[str, ...], block: tuple[str, ...]) -> DomainRules:
        rules: dict[str, Literal["allow", "block"]] = {d: "allow" for d in allow}
        for d in block:  # a domain in both lists is a tie, and a tie blocks
            rules[d] = "block"
        return cls(rules)

    def match(self, host: str) -> tuple[Literal["allow", "block"], str] | None:
        """The most specific entry covering `host` (an entry covers its sub-domains)."""
        return self.match_suffixes(tuple(suffixes(host)))

    def match_suffixes(
        self, suffixes: tuple[str, ...]
    ) -> tuple[Literal["allow", "block"], str] | None:
        """`match` over the host's suffixes already walked (proxy.hosts.host_suffixes)."""
        rules = self.rules
        if rules.keys().isdisjoint(suffixes):  # most hosts: one call, no loop
            return None
        for suffix in suffixes:
            verdict = rules.get(suffix)
            if verdict is not None:
                return verdict, suffix
        return None


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    source: Path
    devices: tuple[Device, ...] = ()
    block_categories: frozenset[str] = frozenset()
    block_domains: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()
    domain_rules: DomainRules = field(default_factory=DomainRules)
    safe_search: bool = False
    schedule: tuple[Window, ...] = ()
    limits: Mapping[str, int] = field(default_factory=dict)  # category → minutes a day
    search_terms: frozenset[str] = frozenset()
    parents_see: Literal["domains", "categories"] = "domains"
    inspect: Literal["needed", "everything"] = "needed"
    ca_installed: bool = True
    #: connections that carry neither TLS nor HTTP: refused, or relayed to an allowed host
    tunnels: Literal["refuse", "allow"] = "refuse"
    #: the profile this one `extends` (None: a root)
    extends: str | None = None


@dataclass(frozen=True)
class DnsSettings:
    """`settings.yaml`'s `dns:`: how lookups are answered in DNS mode."""

    #: (address, port) allowed lookups are sent to; None: the system's resolver
    upstream: tuple[str, int] | None = None
    block_answer: Literal["proxy", "refuse", "nxdomain"] = "proxy"
    #: the proxy's own addresses as devices reach it; empty: where each lookup was sent
    proxy_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """`settings.yaml`; paths are already resolved against the household directory."""

    listen: str = "0.0.0.0:8080"
    modes: tuple[str, ...] = ()
    confdir: str = ""
    database: Path = Path("var/vaccine.db")
    blocklists: Path = Path("blocklists")
    unknown_devices: str = "guest"
    proxy_auth: Path | None = None
    retention_days: int = 30
    language: str = "en"
    help_line: str = ""
    #: the national line for reporting child-abuse material (hashed-list matches)
    reporting_line: str = ""
    #: language code → the help line shown with pages in that language
    help_lines: Mapping[str, str] = field(default_factory=dict)
    never_decrypt: frozenset[str] = frozenset({"banking", "health"})
    dns: DnsSettings = field(default_factory=DnsSettings)
    #: `lists:` — fetch the sources at start when only the starter lists are there
    fetch_on_start: bool = True
    #: `lists.refresh` in minutes; 0: never (only `vaccine lists update`)
    refresh_minutes: int = 24 * 60

    def help_line_in(self, language: str) -> str:
        """The help line for pages in `language`: its own line, else `help_line`."""
        return self.help_lines.get(language) or self.help_line


@dataclass(frozen=True)
class PolicySet:
    directory: Path
    settings: Settings
    profiles: Mapping[str, Profile]

    def profile(self, profile_id: str) -> Profile:
        return self.profiles[profile_id]

    @property
    def bases(self) -> frozenset[str]:
        """Profiles that are only a base: others extend them, they name no devices and are not
        the profile of unknown devices (the shipped `defaults`). No traffic is ever theirs, so
        where children are listed (reports, the dashboard) they are left out."""
        extended = {p.extends for p in self.profiles.values() if p.extends}
        return frozenset(
            pid
            for pid in extended
            if pid in self.profiles
            and not self.profiles[pid].devices
            and pid != self.settings.unknown_devices
        )

    @property
    def children(self) -> list[str]:
        """The ids of the profiles traffic can use (every one but the bases), sorted."""
        bases = self.bases
        return sorted(pid for pid in self.profiles if pid not in bases)
