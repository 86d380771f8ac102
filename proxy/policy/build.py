"""The policy model built from a profile's merged, validated YAML values.

Kept apart from the loading (vaccine.proxy.policy.load), which reads the files, follows the
`extends` chains and reports every problem; this only turns what passed into `model` objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

from vaccine.proxy.policy import model

DeviceKind = Literal["user", "address", "port", "mode"]


def build_profile(profile_id: str, path: Path, m: dict[str, Any]) -> model.Profile:
    """The immutable profile from its merged, validated values (`extends` already applied)."""
    block = tuple(dict.fromkeys(m["block"]["domains"]))
    allow = tuple(dict.fromkeys(m["allow"]["domains"]))
    return model.Profile(
        id=profile_id,
        name=m.get("name") or profile_id,
        source=path.absolute(),
        devices=tuple(_device(d) for d in m["devices"]),
        block_categories=frozenset(m["block"]["categories"]),
        block_domains=block,
        allow_domains=allow,
        domain_rules=model.DomainRules.build(allow, block),
        safe_search=m["safe_search"] == "strict",
        schedule=tuple(_window(name, w) for name, w in m["schedule"].items()),
        limits=dict(m["limits"]),
        search_terms=frozenset(m["search_terms"]),
        parents_see=m["parents_see"],
        inspect=m["inspect"],
        ca_installed=m["ca_installed"],
        tunnels=m["tunnels"],
        extends=m.get("extends") or None,
    )


def _device(d: dict[str, Any]) -> model.Device:
    ((kind, value),) = d.items()
    field_name = "network" if kind == "address" else kind  # Device's field for each kind
    return model.Device(cast(DeviceKind, kind), **{field_name: value})


def _window(name: str, w: dict[str, Any]) -> model.Window:
    everything = w["block"] == "everything"
    return model.Window(
        name=name,
        days=frozenset(w["days"]),
        start=w["from"],
        end=w["to"],
        block_everything=everything,
        categories=frozenset() if everything else frozenset(w["block"]),
        allow=tuple(dict.fromkeys(w["allow"])),
    )
