"""docs/policy-reference.md documents every key of the schema, as the schema declares it.

The key list comes from proxy.schema itself, so adding a key without documenting it, or
changing a default or a type without updating the page, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from vaccine.proxy.policy import model
from vaccine.proxy.policy.schema import PROFILE, SETTINGS, Key, describe, iter_keys

DOC = Path(__file__).resolve().parents[3] / "docs" / "policy-reference.md"
TEXT = DOC.read_text(encoding="utf-8")


def sections(part: str) -> dict[str, str]:
    """`### \\`key\\`` heading → its text, within one `## ` part of the page."""
    start = TEXT.index(f"\n## {part}\n")
    end = TEXT.find("\n## ", start + 1)
    body = TEXT[start : end if end > 0 else None]
    found = re.split(r"^### `([^`]+)`\n", body, flags=re.M)
    return dict(zip(found[1::2], found[2::2], strict=True))


PARTS = {"settings.yaml": SETTINGS, "Profiles": PROFILE}
KEYS = [(part, name, key) for part, root in PARTS.items() for name, key in iter_keys(root)]


def yaml_flow(value: Any) -> str:
    """A default the way the page writes it: `[banking, health]`, `true`, `""`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    return '""' if value == "" else str(value)


@pytest.mark.parametrize(("part", "name", "key"), KEYS, ids=[f"{p}:{n}" for p, n, _ in KEYS])
def test_every_schema_key_is_documented_with_its_type_and_default(
    part: str, name: str, key: Key
) -> None:
    text = sections(part).get(name)
    assert text is not None, f"{DOC.name}: no '### `{name}`' section under '## {part}'"
    assert f"**Type:** {describe(key)} ·" in text, f"{name}: type should read {describe(key)}"
    if key.default is not None:
        assert f"**Default:** `{yaml_flow(key.default)}`" in text, f"{name}: default"
    assert "**Example:**" in text
    if not key.inherit:
        assert "*not inherited*" in text


@pytest.mark.parametrize("part", PARTS)
def test_the_page_documents_no_key_the_schema_lacks(part: str) -> None:
    assert set(sections(part)) == {name for p, name, _ in KEYS if p == part}


def test_every_category_is_listed() -> None:
    listed = re.findall(r"^\| `([a-z_]+)` \|", TEXT, flags=re.M)
    assert listed == list(model.CATEGORIES)
