"""Add a site to a profile's `allow.domains` (or a schedule window's `allow`), changing nothing
else in its YAML file.

A parent's file is theirs: its comments, key order, quoting, indentation and line breaks
must survive an "always" approval. A YAML round-trip cannot promise that: ruamel.yaml keeps
comments but re-flows a flow list written over several lines (the shipped emma.yaml has one),
and PyYAML keeps nothing. So the edit is made in the text itself: PyYAML's composer says
exactly where `allow`, `domains` and the last list item start and end, and the new entry is
inserted there in the list's own style (`[a, b]` stays flow, `- a` lines get one more line at
the same indentation). Every other byte of the file is left as it was.

Three checks guard the edit: the new text must parse to the old data plus the one domain
(anything else and nothing is written), the file is replaced atomically (temp file +
`os.replace`, same mode), and the household must still load with the site allowed for that
profile (`check_policies`), or the original file is put back. A layout the editor does not
handle (anchors, a flow-style `allow: {...}`, several documents) is refused with a message
saying what to add by hand.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.util.files import write_atomically

_NULL = "tag:yaml.org,2002:null"
_PLAIN = re.compile(r"[a-z0-9][a-z0-9._-]*")


class PolicyEditError(VaccineError):
    """The profile file cannot take the site automatically; the message says why."""


def add_allowed_domain(
    profile_file: Path,
    domain: str,
    *,
    inherited: Sequence[str] = (),
    validate: bool = True,
    window: str | None = None,
) -> bool:
    """Add `domain` to the profile's own `allow.domains` (with `window`: to that schedule
    window's `allow`, which the file itself must define); False when it is already there.

    `inherited` is the list the profile gets from the profile it extends: a list in a child
    file replaces the inherited one, so a newly created `domains:` starts with those entries.
    Raises PolicyEditError (nothing is left changed) or OSError.
    """
    domain = _normalise(domain)
    target = profile_file.resolve()  # a symlinked profile: replace the file, not the link
    original = target.read_bytes()
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyEditError(f"{profile_file}: not UTF-8 text; add {domain} by hand") from None
    new_text = with_allowed_domain(text, domain, inherited, file=str(profile_file), window=window)
    if new_text is None:
        return False
    write_atomically(target, new_text.encode("utf-8"))
    if validate:
        try:
            problem = _household_problem(profile_file, domain, window)
        except BaseException:
            write_atomically(target, original)
            raise
        if problem:
            write_atomically(target, original)
            raise PolicyEditError(
                f"adding {domain} to {profile_file} would break the policies, so the file was "
                f"left as it was:\n{problem}"
            )
    return True


def with_allowed_domain(
    text: str,
    domain: str,
    inherited: Sequence[str] = (),
    *,
    file: str = "the profile",
    window: str | None = None,
) -> str | None:
    """`text` with `domain` added to `allow.domains`, or to `schedule.<window>.allow` (None:
    already there). Pure."""
    domain = _normalise(domain)
    path = ("schedule", window, "allow") if window else ("allow", "domains")
    try:
        if any(isinstance(t, yaml.AnchorToken | yaml.AliasToken) for t in yaml.scan(text)):
            message = f"{file} uses YAML anchors; add {domain} to {'.'.join(path)} by hand"
            raise PolicyEditError(message)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise PolicyEditError(f"{file} is not valid YAML ({_first_line(e)})") from None
    edit = _Edit(text, domain, inherited, file, path)
    new_text = edit.apply(root)
    if new_text is not None:
        _verify(text, new_text, domain, inherited, file, path)
    return new_text


class _Edit:
    def __init__(
        self,
        text: str,
        domain: str,
        inherited: Sequence[str],
        file: str,
        path: tuple[str, ...] = ("allow", "domains"),
    ) -> None:
        self.text = text
        self.domain = domain
        self.file = file
        self.path = path
        self.dotted = ".".join(path)
        self.nl = "\r\n" if "\r\n" in text else "\n"
        inherited = [_normalise(d) for d in inherited]
        self.fresh = list(dict.fromkeys([*inherited, domain]))
        #: the file has no list of its own and the inherited one already allows the domain
        self.inherited_has = domain in inherited

    def refuse(self, why: str) -> PolicyEditError:
        return PolicyEditError(f"{self.file}: {why}; add {self.domain} to {self.dotted} by hand")

    def apply(self, root: Node | None) -> str | None:
        *parents, leaf = self.path
        real = root is not None and not _is_null(root)
        if real and (not isinstance(root, MappingNode) or root.flow_style):
            raise self.refuse("the file is not a map of keys")
        node: Node | None = root
        for depth, name in enumerate(parents):
            key, value = _get(node, name) if isinstance(node, MappingNode) else (None, None)
            where = ".".join(parents[: depth + 1])
            if key is None or value is None or _is_null(value):
                if len(parents) == 1:  # allow: — created when missing
                    return None if self.inherited_has else self._create_allow(root, key, value)
                raise self.refuse(f"{where} is not written in this file")
            if not isinstance(value, MappingNode) or value.flow_style or not value.value:
                raise self.refuse(f"{where} is not written as a block of keys")
            node = value
        assert isinstance(node, MappingNode)
        allow = node
        domains_key, domains = _get(allow, leaf)
        if domains_key is None or domains is None or _is_null(domains):
            return None if self.inherited_has else self._create_domains(allow, domains_key, domains)
        if not isinstance(domains, SequenceNode):
            raise self.refuse(f"{self.dotted} is not a list")
        present = {_normalise(n.value) for n in domains.value if isinstance(n, ScalarNode)}
        if self.domain in present:
            return None
        entry = _scalar(self.domain)
        if domains.flow_style:
            if not domains.value:  # `[]` or `[ ]`
                at = self.text.index("[", domains.start_mark.index) + 1
                return self._insert(at, entry)
            return self._insert(domains.value[-1].end_mark.index, f", {entry}")
        last = domains.value[-1]
        dash = self.text.rfind("-", 0, last.start_mark.index)
        line_start = self.text.rfind("\n", 0, dash) + 1
        indent = self.text[line_start:dash]
        if dash < 0 or indent.strip(" "):
            raise self.refuse(f"{self.dotted} is written in a way this editor does not know")
        return self._insert(line_end(self.text, content_end(last)), f"{self.nl}{indent}- {entry}")

    def _create_allow(self, root: Node | None, key: Node | None, allow: Node | None) -> str:
        """No `allow:` (append it at the end), or `allow:` with nothing under it."""
        indent = _child_indent(root) if isinstance(root, MappingNode) else 2
        if key is None or allow is None:
            return self._append_allow(indent)
        # `allow:` with nothing (or `~`) after it: the domains go on a new line below it.
        start = self._after_colon(key)
        text = self.text[:start] + self.text[allow.end_mark.index :]
        cut = line_end(text, start)
        body = f"{self.nl}{' ' * (key.start_mark.column + indent)}domains: {self._flow()}"
        return text[:cut] + body + text[cut:]

    def _create_domains(self, allow: MappingNode, key: Node | None, domains: Node | None) -> str:
        """`allow:` without `domains:` (add the line), or with `domains:` and nothing after."""
        if key is None or domains is None:
            at = line_end(self.text, content_end(allow))
            indent = " " * allow.value[0][0].start_mark.column
            return self._insert(at, f"{self.nl}{indent}{self.path[-1]}: {self._flow()}")
        start = self._after_colon(key)
        return self.text[:start] + f" {self._flow()}" + self.text[domains.end_mark.index :]

    def _append_allow(self, indent: int) -> str:
        text = self.text
        if text and not text.endswith("\n"):
            text += self.nl
        gap = self.nl if text.strip() and not text.endswith(self.nl * 2) else ""
        pad = " " * indent
        return f"{text}{gap}allow:{self.nl}{pad}domains: {self._flow()}{self.nl}"

    def _flow(self) -> str:
        return "[" + ", ".join(_scalar(d) for d in self.fresh) + "]"

    def _insert(self, at: int, piece: str) -> str:
        return self.text[:at] + piece + self.text[at:]

    def _after_colon(self, key: Node) -> int:
        return self.text.index(":", key.end_mark.index) + 1


def _get(mapping: MappingNode, name: str) -> tuple[Node | None, Node | None]:
    found: tuple[Node | None, Node | None] = (None, None)
    for key, value in mapping.value:
        if isinstance(key, ScalarNode) and key.value == name:
            found = (key, value)  # the last one wins, as for the loader (which reports it)
    return found


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def content_end(node: Node) -> int:
    """Where a node's own text ends: a block collection's end mark lies past any comments and
    blank lines after it, so follow its last child instead."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return content_end(node.value[-1][1])
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return content_end(node.value[-1])
    return int(node.end_mark.index)


def line_end(text: str, index: int) -> int:
    """The index of the line break ending the line that holds `index` (or the text's end)."""
    end = text.find("\n", index)
    if end < 0:
        return len(text)
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def _child_indent(root: MappingNode) -> int:
    """The indentation the file already uses for nested keys (2 if it has none yet)."""
    for _, value in root.value:
        if isinstance(value, MappingNode) and not value.flow_style and value.value:
            return int(value.value[0][0].start_mark.column) or 2
    return 2


def _normalise(entry: str) -> str:
    text = str(entry).strip()
    try:
        return normalise_host(text.removeprefix("*").removeprefix("."))
    except BadHost:
        return text


def _scalar(domain: str) -> str:
    """A domain as YAML text: plain when it reads back as itself, else double-quoted."""
    if _PLAIN.fullmatch(domain) and yaml.safe_load(domain) == domain:
        return domain
    return json.dumps(domain)


def _verify(
    old: str,
    new: str,
    domain: str,
    inherited: Sequence[str],
    file: str,
    path: tuple[str, ...] = ("allow", "domains"),
) -> None:
    """The new text must mean the old data plus the domain, and nothing else."""
    before: Any = yaml.safe_load(old)
    after: Any = yaml.safe_load(new)
    expected = copy.deepcopy(before) if isinstance(before, dict) else {}
    *parents, leaf = path
    allow = expected
    for name in parents:
        if not isinstance(allow.get(name), dict):
            allow[name] = {}
        allow = allow[name]
    if isinstance(allow.get(leaf), list):
        allow[leaf].append(domain)
    else:
        allow[leaf] = list(dict.fromkeys([*(_normalise(d) for d in inherited), domain]))
    if after != expected:
        raise PolicyEditError(f"{file}: could not add {domain} safely; add it by hand")


def _household_problem(profile_file: Path, domain: str, window: str | None = None) -> str:
    """'' when the household still loads and the profile now allows `domain` (in `window`)."""
    from vaccine.proxy.policy.load import check_policies

    policies, problems = check_policies(profile_file.parent)
    if policies is None:
        return "\n".join(str(p) for p in problems if p.severity == "error")
    profile = policies.profiles.get(profile_file.stem)
    if window is not None:
        allowed = [w.allow for w in (profile.schedule if profile else ()) if w.name == window]
        if not allowed or domain not in allowed[0]:
            where = f"schedule.{window}.allow"
            return f"{profile_file}: the profile does not list {domain} in {where} after the edit"
        return ""
    if profile is None or domain not in profile.allow_domains:
        return f"{profile_file}: the profile does not list {domain} in allow.domains after the edit"
    return ""


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
