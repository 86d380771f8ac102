"""Add one entry to a profile's `devices:` list, changing nothing else in its YAML file.

Like the "always" approvals (policy.edit), the edit is made in the text: PyYAML's composer
says where `devices:` and its last item end, and one line is inserted there at the list's own
indentation (`- address: 192.168.1.50   # tablet`). Every other byte, comments included, is
kept. The new text must parse to the old data plus that one entry, the file is replaced
atomically, and the household must still load with the device in that profile, or the
original file is put back. Layouts the editor does not handle (a non-empty flow list,
anchors) are refused with a message saying what to add by hand.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from vaccine.proxy.errors import VaccineError
from vaccine.proxy.policy.edit import content_end, line_end
from vaccine.proxy.util.files import write_atomically

_NULL = "tag:yaml.org,2002:null"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*")
KINDS = ("address", "user", "port", "mode")


class DeviceEditError(VaccineError):
    """The profile file cannot take the device automatically; the message says why."""


def add_device(profile_file: Path, kind: str, value: str | int, note: str = "") -> bool:
    """Add `- kind: value  # note` to the profile's `devices:`; False when it is there already.

    Raises DeviceEditError (nothing is left changed) or OSError.
    """
    target = profile_file.resolve()
    original = target.read_bytes()
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise DeviceEditError(f"{profile_file}: not UTF-8 text; add the device by hand") from None
    new_text = with_device(text, kind, value, note, file=str(profile_file))
    if new_text is None:
        return False
    write_atomically(target, new_text.encode("utf-8"))
    try:
        problem = _household_problem(profile_file)
    except BaseException:
        write_atomically(target, original)
        raise
    if problem:
        write_atomically(target, original)
        raise DeviceEditError(
            f"adding the device to {profile_file} would break the policies, so the file was "
            f"left as it was:\n{problem}"
        )
    return True


def with_device(
    text: str, kind: str, value: str | int, note: str = "", *, file: str = "the profile"
) -> str | None:
    """`text` with the entry added under `devices:` (None: already there). Pure."""
    if kind not in KINDS:
        raise DeviceEditError(f"unknown device kind {kind!r} (one of {', '.join(KINDS)})")
    entry = f"{kind}: {_scalar(value)}"
    if note:
        entry += f"   # {' '.join(note.split())}"
    try:
        if any(isinstance(t, yaml.AnchorToken | yaml.AliasToken) for t in yaml.scan(text)):
            raise DeviceEditError(f"{file} uses YAML anchors; add `- {entry}` under devices:")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DeviceEditError(f"{file} is not valid YAML ({first})") from None
    nl = "\r\n" if "\r\n" in text else "\n"
    refuse = f"; add `- {entry}` under devices: by hand"
    key, devices = None, None
    if root is not None and not (isinstance(root, ScalarNode) and root.tag == _NULL):
        if not isinstance(root, MappingNode) or root.flow_style:
            raise DeviceEditError(f"{file}: the file is not a map of keys{refuse}")
        for k, v in root.value:
            if isinstance(k, ScalarNode) and k.value == "devices":
                key, devices = k, v
    if key is None or devices is None:
        body = text if not text or text.endswith("\n") else text + nl
        gap = nl if body.strip() and not body.endswith(nl * 2) else ""
        new = f"{body}{gap}devices:{nl}  - {entry}{nl}"
    elif isinstance(devices, ScalarNode) and devices.tag == _NULL:
        start = text.index(":", key.end_mark.index) + 1
        rest = text[devices.end_mark.index :]
        head = text[:start]
        end = line_end(head + rest, start)
        joined = head + rest
        indent = " " * (key.start_mark.column + 2)
        new = joined[:end] + f"{nl}{indent}- {entry}" + joined[end:]
    elif not isinstance(devices, SequenceNode):
        raise DeviceEditError(f"{file}: devices is not a list{refuse}")
    else:
        if _present(devices, kind, value):
            return None
        if devices.flow_style:
            if devices.value:
                raise DeviceEditError(f"{file}: devices is written as [ … ]{refuse}")
            start = text.index("[", devices.start_mark.index)
            end = text.index("]", start) + 1
            indent = " " * (key.start_mark.column + 2)
            new = text[:start].rstrip(" ") + f"{nl}{indent}- {entry}" + text[end:]
        else:
            last = devices.value[-1]
            dash = text.rfind("-", 0, last.start_mark.index)
            line_start = text.rfind("\n", 0, dash) + 1
            indent = text[line_start:dash]
            if dash < 0 or indent.strip(" "):
                raise DeviceEditError(f"{file}: devices is written in an unusual way{refuse}")
            at = line_end(text, content_end(last))
            new = text[:at] + f"{nl}{indent}- {entry}" + text[at:]
    _verify(text, new, kind, value, file)
    return new


def _present(devices: SequenceNode, kind: str, value: str | int) -> bool:
    for item in devices.value:
        if isinstance(item, MappingNode):
            for k, v in item.value:
                if (
                    isinstance(k, ScalarNode)
                    and k.value == kind
                    and isinstance(v, ScalarNode)
                    and v.value == str(value)
                ):
                    return True
    return False


def _scalar(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value and ": " not in value:
        return value
    return json.dumps(value)


def _verify(old: str, new: str, kind: str, value: str | int, file: str) -> None:
    before: Any = yaml.safe_load(old)
    after: Any = yaml.safe_load(new)
    expected = copy.deepcopy(before) if isinstance(before, dict) else {}
    devices = expected.get("devices")
    if not isinstance(devices, list):
        devices = expected["devices"] = []
    devices.append({kind: value})
    if after != expected:
        raise DeviceEditError(f"{file}: could not add the device safely; add it by hand")


def _household_problem(profile_file: Path) -> str:
    from vaccine.proxy.policy.load import check_policies

    policies, problems = check_policies(profile_file.parent)
    errors = [str(p) for p in problems if p.severity == "error"]
    if policies is None or errors:
        return "\n".join(errors) or f"{profile_file.parent}: the policies no longer load"
    from vaccine.proxy.policy.identify import Identifier

    # Two profiles claiming one address is only a warning for the loader; here it is a mistake.
    return "\n".join(str(p) for p in Identifier(policies).problems)
