"""proxy.yamlload: plain values, real line numbers, and every problem PyYAML would hide."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.policy.yamlload import MAX_NODES, YamlDoc, breadcrumb, load_yaml, load_yaml_text


def load(text: str) -> YamlDoc:
    return load_yaml_text(text, "f.yaml")


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        # YAML 1.1 would make these booleans or sexagesimal numbers; a parent means the text.
        ("off", "off"),
        ("on", "on"),
        ("yes", "yes"),
        ("no", "no"),
        ("20:30", "20:30"),
        ("07:00", "07:00"),
        ("08", "08"),
        ("1e3", "1e3"),
        ("0o17", "0o17"),
        ("1h30m", "1h30m"),
        ("true", True),
        ("False", False),
        ("7", 7),
        ("-3", -3),
        ("0x1f", 31),
        ("1.5", 1.5),
        ("null", None),
        ("~", None),
        ("", None),
        ('"true"', "true"),
        ("'7'", "7"),
        ("!!int '12'", 12),
        ("!!str 12", "12"),
    ],
)
def test_scalars_resolve_the_yaml_1_2_way(scalar: str, value: Any) -> None:
    doc = load(f"key: {scalar}\n")
    assert doc.problems == []
    assert doc.data == {"key": value}
    assert type(doc.data["key"]) is type(value)


def test_every_key_and_item_has_its_own_line() -> None:
    doc = load(
        "name: Emma\n"  # 1
        "block:\n"  # 2
        "  categories:\n"  # 3
        "    - adult\n"  # 4
        "    - games\n"  # 5
        "  domains: [a.com,\n"  # 6
        "            b.com]\n"  # 7
        "devices:\n"  # 8
        "  - user: emma\n"  # 9
    )
    assert doc.problems == []
    assert doc.lines == {
        ("name",): 1,
        ("block",): 2,
        ("block", "categories"): 3,
        ("block", "categories", 0): 4,
        ("block", "categories", 1): 5,
        ("block", "domains"): 6,
        ("block", "domains", 0): 6,
        ("block", "domains", 1): 7,
        ("devices",): 8,
        ("devices", 0): 9,
        ("devices", 0, "user"): 9,
    }
    # A path the parser never placed falls back to its nearest placed ancestor.
    assert doc.line(("block", "categories", 7)) == 3
    assert doc.line(()) is None


def test_duplicate_keys_are_problems_and_the_first_value_stays() -> None:
    doc = load("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")
    assert [str(p) for p in doc.problems] == [
        "f.yaml:4: b: duplicate key 'c' (first on line 3)",
        "f.yaml:5: duplicate key 'a' (first on line 1)",
    ]
    assert doc.data == {"a": 1, "b": {"c": 2}}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: [1,\nb: 2\n", 3, "expected ',' or ']'"),
        ("a: 1\n\tb: 2\n", 2, "YAML does not allow tabs"),
        ("a: 1\n b: 2\n", 2, "mapping values are not allowed here"),
        ('a: "unterminated\n', 2, "found unexpected end of stream"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
        ("a: \x07\n", 1, "special characters are not allowed"),
        ("a: *nowhere\n", 1, "found undefined alias"),
    ],
)
def test_syntax_errors_carry_the_parsers_line(text: str, line: int, fragment: str) -> None:
    doc = load(text)
    assert len(doc.problems) == 1
    problem = doc.problems[0]
    assert (problem.file, problem.line) == ("f.yaml", line)
    assert problem.message.startswith("YAML syntax error: ")
    assert fragment in problem.message
    assert doc.data is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1: x\n", "f.yaml:1: key 1 must be text; quote it"),
        ("a:\n  true: x\n", "f.yaml:2: a: key true must be text; quote it"),
        ("? [a, b]\n: x\n", "f.yaml:1: a key must be a plain word, not a list or a map"),
        ("~: x\n", "f.yaml:1: key ~ must be text; quote it"),
        ("a: !!binary aGk=\n", "f.yaml:1: a: unsupported YAML tag tag:yaml.org,2002:binary; "
         "write plain text instead"),
        ("a: &x [*x]\n", "f.yaml:1: a: an alias refers to itself"),
    ],
)  # fmt: skip
def test_keys_and_tags_that_cannot_mean_anything_here(text: str, message: str) -> None:
    assert [str(p) for p in load(text).problems] == [message]


def test_alias_bombs_are_refused_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    doc = load("\n".join(lines) + "\n")
    assert MAX_NODES < 10**8  # what the document would expand to
    assert [str(p) for p in doc.problems] == ["f.yaml:1: too large once aliases are expanded"]


def test_merge_keys_fill_only_what_the_map_does_not_set() -> None:
    doc = load(
        "base: &school\n"  # 1
        "  from: '20:00'\n"  # 2
        "  to: '07:00'\n"  # 3
        "bedtime:\n"  # 4
        "  <<: *school\n"  # 5
        "  from: '21:00'\n"  # 6
    )
    assert doc.problems == []
    assert doc.data["bedtime"] == {"from": "21:00", "to": "07:00"}
    assert doc.lines[("bedtime", "from")] == 6
    assert doc.lines[("bedtime", "to")] == 3


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_is_no_data_and_no_problem(text: str) -> None:
    doc = load(text)
    assert (doc.data, doc.problems) == (None, [])


def test_a_byte_order_mark_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: Emma\nsafe_search: off\r\n")
    doc = load_yaml(path, "policies/bom.yaml")
    assert (doc.data, doc.problems) == ({"name": "Emma", "safe_search": "off"}, [])
    assert doc.lines[("safe_search",)] == 2


def test_text_that_is_not_utf8_is_one_problem_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Emma\nhelp_line: Jeunes Violences Écoute\n".encode("latin-1"))
    assert [str(p) for p in load_yaml(path).problems] == [
        f"{path}:2: not UTF-8 text; save it as UTF-8"
    ]


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    doc = load_yaml(tmp_path / "missing.yaml", "missing.yaml")
    assert [p.message for p in doc.problems] == ["cannot read: No such file or directory"]


@pytest.mark.parametrize(
    ("path", "crumb"),
    [((), ""), (("a",), "a"), (("schedule", "bedtime", "from"), "schedule.bedtime.from"),
     (("devices", 2, "address"), "devices.address"), (("block", "domains", 0), "block.domains")],
)  # fmt: skip
def test_breadcrumbs_leave_out_list_indexes(path: tuple[str | int, ...], crumb: str) -> None:
    assert breadcrumb(path) == crumb


# PyYAML itself does not round-trip control characters such as NEL (U+0085): not ours to test.
_text = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)
_scalars = (
    _text
    | st.integers(-(10**6), 10**6)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


@given(st.dictionaries(_text, _values, max_size=5))
def test_whatever_pyyaml_writes_reads_back_the_same(data: dict[str, Any]) -> None:
    """Files are also written by tools (approving a site for good edits the YAML): nothing
    PyYAML writes may read back as something else under the 1.2 rules."""
    for flow in (False, True):
        doc = load(yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow))
        assert doc.problems == []
        assert _same(doc.data if data else {}, data)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
