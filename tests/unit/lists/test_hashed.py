"""Hashed lists: digests of hosts and host/path prefixes, matched by hashing each request's
candidates; the clear list is never kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.lists.hashed import (
    HASHED_DIR,
    hash_lines,
    host_candidates,
    load_hashed,
    path_prefixes,
)

CLEAR = [
    "# a hotline's list",
    "0.0.0.0 Abuse.Example",
    "||ring.example^",
    "www.images.example/gallery/12",
    "photos.example/a%20b/",
    "not a host at all",
]


@pytest.fixture
def lists(tmp_path: Path) -> Path:
    made = hash_lines(CLEAR)
    (tmp_path / HASHED_DIR).mkdir()
    (tmp_path / HASHED_DIR / "hotline.sha256").write_text("\n".join(made.lines) + "\n")
    return tmp_path


def test_the_tool_counts_and_keeps_nothing_in_clear() -> None:
    made = hash_lines(CLEAR)
    assert (made.hosts, made.urls, made.junk) == (2, 2, 1)
    text = "\n".join(made.lines[1:])
    for word in ("abuse", "ring", "images", "gallery", "photos", "example"):
        assert word not in text.lower()
    assert len(made.lines) == 1 + 4 + 2  # header, entries, the two hosts to inspect


@pytest.mark.parametrize(
    ("host", "path", "matched"),
    [
        ("abuse.example", None, True),
        ("deep.sub.abuse.example", None, True),  # a host entry covers sub-domains
        ("www.abuse.example", "/x", True),
        ("notabuse.example", None, False),
        ("ring.example", "/", True),
        ("images.example", None, False),  # only a path of it is listed
        ("images.example", "/", False),
        ("images.example", "/gallery/12", True),
        ("www.images.example", "/gallery/12/a.jpg?size=2", True),
        ("cdn.images.example", "/gallery/12/", True),
        ("images.example", "/gallery/123", False),  # not at a segment boundary
        ("images.example", "/gallery/1", False),
        ("images.example", "/Gallery/12", False),  # paths are case-sensitive
        ("images.example", "/gallery%2F12", True),  # percent-decoded, as UT1 urls are
        ("photos.example", "/a b/c", True),
        ("photos.example", "/a%20b/", True),
        ("photos.example", "/a b", False),  # the entry ends with "/": only inside it
    ],
)
def test_matching(lists: Path, host: str, path: str | None, matched: bool) -> None:
    hashed, problems = load_hashed(lists)
    assert problems == []
    assert hashed.matches(host, path) is matched


def test_hosts_with_path_entries_are_decrypted(lists: Path) -> None:
    hashed, _ = load_hashed(lists)
    assert hashed.needs_inspection("images.example")
    assert hashed.needs_inspection("www.photos.example")
    assert not hashed.needs_inspection("abuse.example")  # blocked whole: nothing to look at
    assert not hashed.needs_inspection("other.example")


def test_candidates() -> None:
    assert host_candidates("a.b.example.org") == ["a.b.example.org", "b.example.org", "example.org"]
    assert host_candidates("www.example.org") == ["example.org"]
    assert host_candidates("10.0.0.1") == ["10.0.0.1"]
    assert path_prefixes("/a/b/c.jpg?q=1#x") == ["/a", "/a/", "/a/b", "/a/b/", "/a/b/c.jpg"]
    assert path_prefixes("/") == []
    assert len(path_prefixes("/x" * 500)) == 32  # bounded work per request


@given(st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=4))
def test_every_sub_domain_of_a_hashed_host_matches(labels: list[str]) -> None:
    from vaccine.proxy.lists.hashed import HashedLists, digest

    hashed = HashedLists(frozenset({digest("listed.example")}))
    assert hashed.matches(".".join([*labels, "listed", "example"]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "0 digests, 0 junk lines: damaged or not a hashed list"),
        ("<html>\n<body>Sign in</body>\n</html>\n", "0 digests, 3 junk lines"),
        ("ab" * 32 + "\n" + "zz\n" * 2, "1 digests, 2 junk lines"),
    ],
)
def test_a_broken_hashed_list_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / HASHED_DIR).mkdir()
    (tmp_path / HASHED_DIR / "x.sha256").write_text(text)
    hashed, problems = load_hashed(tmp_path)
    assert not hashed
    assert [p.severity for p in problems] == ["error"]
    assert problems[0].message.startswith(message)
