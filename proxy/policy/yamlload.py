"""Read a YAML file into plain values, remembering the line every key and item came from.

PyYAML's own loader loses line numbers, silently keeps the last of two duplicate keys and
follows YAML 1.1, where `off`, `no` and `yes` are booleans and an unquoted `20:30` is the
integer 1230. A parent writing `from: 20:30` or `safe_search: off` means text, so scalars are
resolved the YAML 1.2 way: only `true`/`false` are booleans, only plain decimal (or 0x)
numbers are numbers, and everything else stays text for the schema to interpret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vaccine.proxy.errors import Problem

#: A place inside a document: map keys and list indexes from the root.
KeyPath = tuple[str | int, ...]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALARS = (_STR, _INT, _FLOAT, _BOOL, _NULL)

#: Alias expansion can turn a few lines into billions of nodes ("billion laughs").
MAX_NODES = 200_000


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars instead of YAML 1.1's."""

    yaml_implicit_resolvers: dict[Any, Any] = {}


for _tag, _pattern, _first in (
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    # Only spellings YAML 1.1 also reads as numbers, so text PyYAML writes unquoted (`0o17`,
    # `1e3`) is never read back as a number.
    (_INT, r"[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+", "-+0123456789"),
    (_FLOAT, r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?", "-+0123456789."),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    (_MERGE, r"<<", "<"),
):
    _Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


@dataclass
class YamlDoc:
    """One parsed file: its plain value, where each part came from, and what was wrong."""

    file: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor the parser placed."""
        while True:
            line = self.lines.get(path)
            if line is not None or not path:
                return line
            path = path[:-1]


def breadcrumb(path: KeyPath) -> str:
    """`("schedule", "bedtime", "from")` → `schedule.bedtime.from`; list indexes are left out
    because the line number already says which item, and parents do not count from zero."""
    return ".".join(p for p in path if isinstance(p, str))


def load_yaml(path: Path, display: str | None = None) -> YamlDoc:
    """Parse the file at `path`; `display` is the name used in problems (default: the path)."""
    name = display if display is not None else str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        return YamlDoc(name, problems=[Problem(name, None, f"cannot read: {e.strerror or e}")])
    try:
        text = raw.decode("utf-8-sig")  # a BOM from Windows editors is harmless
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return YamlDoc(name, problems=[Problem(name, line, "not UTF-8 text; save it as UTF-8")])
    return load_yaml_text(text, name)


def load_yaml_text(text: str, file: str) -> YamlDoc:
    doc = YamlDoc(file)
    text = text.removeprefix("\ufeff")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        doc.problems.append(_syntax_problem(file, e))
        return doc
    except yaml.reader.ReaderError as e:
        line = text[: e.position].count("\n") + 1
        doc.problems.append(Problem(file, line, f"YAML syntax error: {e.reason}"))
        return doc
    except yaml.YAMLError as e:  # any other parser complaint, without a position
        doc.problems.append(Problem(file, None, f"YAML syntax error: {e}"))
        return doc
    if root is None:  # an empty file, or only comments
        return doc
    builder = _Builder(doc)
    try:
        doc.data = builder.value(root, ())
    except _TooBig:
        doc.data = None
        doc.problems.append(
            Problem(file, root.start_mark.line + 1, "too large once aliases are expanded")
        )
    return doc


def _syntax_problem(file: str, e: yaml.MarkedYAMLError) -> Problem:
    mark = e.problem_mark or e.context_mark
    message = e.problem or e.context or "not valid YAML"
    if "'\\t'" in message:
        message += " (indent with spaces: YAML does not allow tabs)"
    elif e.context and e.problem and e.context_mark and mark and e.context_mark.line != mark.line:
        message += f" ({e.context} on line {e.context_mark.line + 1})"
    return Problem(file, mark.line + 1 if mark else None, f"YAML syntax error: {message}")


class _TooBig(Exception):
    pass


class _Builder:
    def __init__(self, doc: YamlDoc):
        self.doc = doc
        self.count = 0
        self.active: set[int] = set()  # nodes being built: an alias back into one is a loop

    def problem(self, node: Node, path: KeyPath, message: str) -> None:
        crumb = breadcrumb(path)
        text = f"{crumb}: {message}" if crumb else message
        self.doc.problems.append(Problem(self.doc.file, node.start_mark.line + 1, text, crumb))

    def value(self, node: Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig
        if id(node) in self.active:
            self.problem(node, path, "an alias refers to itself")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, ScalarNode):
                return self.scalar(node, path)
            if isinstance(node, SequenceNode):
                return self.sequence(node, path)
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return None
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        v = node.value
        tag = node.tag
        try:
            if tag == _STR:
                return v
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return v.lower() in ("true", "yes", "on")  # explicit !!bool may be YAML 1.1
            if tag == _INT:
                return int(v, 0)
            if tag == _FLOAT:
                return float(v)
        except ValueError:
            self.problem(node, path, f"{v!r} is not a valid {tag.rsplit(':', 1)[-1]}")
            return None
        self.problem(node, path, f"unsupported YAML tag {tag}; write plain text instead")
        return None

    def sequence(self, node: SequenceNode, path: KeyPath) -> list[Any]:
        if node.tag != _SEQ:
            self.problem(node, path, f"unsupported YAML tag {node.tag}")
        out = []
        for i, item in enumerate(node.value):
            self.doc.lines[(*path, i)] = item.start_mark.line + 1
            out.append(self.value(item, (*path, i)))
        return out

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        if node.tag != _MAP:
            self.problem(node, path, f"unsupported YAML tag {node.tag}")
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALARS:
                self.problem(key_node, path, "a key must be a plain word, not a list or a map")
                continue
            if key_node.tag != _STR:
                self.problem(key_node, path, f"key {key_node.value} must be text; quote it")
                continue
            key = key_node.value
            if key in first_line:
                self.problem(
                    key_node, path, f"duplicate key '{key}' (first on line {first_line[key]})"
                )
                continue  # the first one stays, as a reader of the file would expect
            first_line[key] = line
            self.doc.lines[(*path, key)] = line
            out[key] = self.value(value_node, (*path, key))
        for merged in merges:  # `<<: *anchor` fills only the keys the map does not set itself
            for source in _merge_sources(merged):
                if source is None:
                    self.problem(merged, path, "'<<' must refer to a map or a list of maps")
                    continue
                taken = set(out)
                own_lines, self.doc.lines = self.doc.lines, {}
                try:
                    value = self.value(source, path)
                finally:
                    merged_lines, self.doc.lines = self.doc.lines, own_lines
                if not isinstance(value, dict):
                    continue
                fresh = {k for k in value if k not in taken}
                for k in fresh:
                    out[k] = value[k]
                for p, line in merged_lines.items():
                    if len(p) > len(path) and p[len(path)] in fresh:
                        self.doc.lines[p] = line
        return out


def _merge_sources(node: Node) -> Iterator[MappingNode | None]:
    if isinstance(node, MappingNode):
        yield node
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield item if isinstance(item, MappingNode) else None
    else:
        yield None
