"""sources.yaml: where each downloaded list comes from and what its category names mean to us.

Every problem found is an error, reported as `FILE:LINE: key.path: message` with a "did you
mean" where a close name exists: the file is ours to fix, and a half-understood source would
read the wrong folders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaccine.proxy.errors import Problem
from vaccine.proxy.policy.model import CATEGORIES
from vaccine.proxy.util.words import did_you_mean

FORMATS = ("ut1", "hosts", "plain", "adblock")
_SOURCE_KEYS = ("url", "format", "into", "categories", "category", "description", "license")
_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class Source:
    """One entry of `sources:`; `categories`/`category` already mapped to product names."""

    name: str
    format: str
    into: str  # POSIX path relative to the lists folder
    url: str | None = None
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ut1: their → ours
    category: tuple[str, ...] = ()  # single-file formats


def load_sources(path: Path) -> tuple[dict[str, Source], list[Problem]]:
    """Parse and validate sources.yaml; every problem is an error (the file is ours to fix)."""
    import yaml

    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as e:
        return {}, [Problem(name, None, f"cannot read: {e}")]
    try:
        # libyaml when PyYAML has it (UT1's sources.yaml: 0.6 ms against 7.6, on every
        # start); a file it refuses is read again by the Python parser, whose words the
        # problem then carries, as everywhere else.
        data, lines = _parsed(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        try:
            data, lines = _parsed(text, yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            return {}, [Problem(name, line, f"YAML syntax error: {getattr(e, 'problem', e)}")]
    checker = _SourcesChecker(name, lines)
    return checker.check(data), checker.problems


def _parsed(text: str, loader_class: Any) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The document and the line of every mapping key, from one parse (safe_load's types)."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, _key_lines(node)


def _key_lines(node: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """The line of every mapping key, by key path (PyYAML's loader forgets them)."""
    import yaml

    out: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                p = (*path, str(k.value))
                out[p] = k.start_mark.line + 1
                out.update(_key_lines(v, p))
    return out


class _SourcesChecker:
    def __init__(self, file: str, lines: dict[tuple[str, ...], int]):
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, path: tuple[str, ...], message: str) -> None:
        line = None
        p = path
        while p and line is None:
            line, p = self.lines.get(p), p[:-1]
        crumb = ".".join(path)
        self.problems.append(Problem(self.file, line, f"{crumb}: {message}" if crumb else message))

    def check(self, data: Any) -> dict[str, Source]:
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.problem((), "expected a map with a `sources:` key")
            return {}
        for key in data:
            if key != "sources":
                self.problem((str(key),), f"unknown key{did_you_mean(str(key), ('sources',))}")
        raw = data.get("sources") or {}
        if not isinstance(raw, dict):
            self.problem(("sources",), "expected a map of source names")
            return {}
        out: dict[str, Source] = {}
        intos: dict[str, str] = {}
        for sname, spec in raw.items():
            src = self.source(str(sname), spec)
            if src is None:
                continue
            if src.into in intos:
                self.problem(
                    ("sources", src.name, "into"), f"same folder as source '{intos[src.into]}'"
                )
                continue
            intos[src.into] = src.name
            out[src.name] = src
        return out

    def source(self, name: str, spec: Any) -> Source | None:
        at = ("sources", name)
        if not _SOURCE_NAME.fullmatch(name):
            self.problem(at, "a source name is lower-case letters, digits, '-' and '_'")
            return None
        if not isinstance(spec, dict):
            self.problem(at, "expected a map (url, format, into, categories…)")
            return None
        bad = len(self.problems)
        for key in spec:
            if key not in _SOURCE_KEYS:
                self.problem((*at, str(key)), f"unknown key{did_you_mean(str(key), _SOURCE_KEYS)}")
        fmt = spec.get("format")
        if fmt not in FORMATS:
            self.problem((*at, "format"), f"must be one of {', '.join(FORMATS)}")
        url = spec.get("url")
        if url is not None and not (
            isinstance(url, str) and url.split("://", 1)[0] in ("http", "https", "file")
        ):
            self.problem((*at, "url"), "must be an http://, https:// or file:// address")
        into = self.into(at, spec.get("into", name))
        categories: dict[str, tuple[str, ...]] = {}
        category: tuple[str, ...] = ()
        if fmt == "ut1":
            if "category" in spec:
                self.problem((*at, "category"), "a ut1 source maps names with `categories:`")
            raw = spec.get("categories")
            if not isinstance(raw, dict) or not raw:
                self.problem((*at, "categories"), "map each UT1 folder name to a category")
            else:
                for theirs, ours in raw.items():
                    categories[str(theirs)] = self.targets((*at, "categories", str(theirs)), ours)
        elif fmt in FORMATS:
            if "categories" in spec:
                self.problem((*at, "categories"), f"a {fmt} source has one `category:`")
            category = self.targets((*at, "category"), spec.get("category"), required=True)
        if len(self.problems) > bad or into is None:
            return None
        return Source(name, str(fmt), into, url, categories, category)

    def into(self, at: tuple[str, ...], value: Any) -> str | None:
        parts = str(value).replace("\\", "/").strip("/").split("/") if value else []
        if (
            not isinstance(value, str)
            or not parts
            or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
            or parts[0] in ("local", "terms", "sources.yaml")
        ):
            self.problem(
                (*at, "into"),
                "a path inside the lists folder, not hidden, not under local/ or terms/",
            )
            return None
        return "/".join(parts)

    def targets(self, at: tuple[str, ...], value: Any, required: bool = False) -> tuple[str, ...]:
        """A category, a list of them, or null (ignored); each must be a product category."""
        if value is None and not required:
            return ()
        items = value if isinstance(value, list) else [value]
        out = []
        for v in items:
            if not isinstance(v, str) or v not in CATEGORIES:
                hint = did_you_mean(str(v), CATEGORIES) if isinstance(v, str) else ""
                self.problem(at, f"{v!r} is not a category{hint}")
            else:
                out.append(v)
        return tuple(out)
