"""The list lookup in C (proxy/lists/cwalk.c) gives packed.py's Python walk's answers, takes
only tables it can read safely, and is what an install builds."""

from __future__ import annotations

import array
import functools
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaccine.proxy.hosts import host_suffixes
from vaccine.proxy.lists import index as lists
from vaccine.proxy.lists import packed
from vaccine.proxy.lists.index import load_lists
from vaccine.proxy.policy.model import CATEGORIES

from .test_index import write

walk = packed.cwalk


def test_the_install_built_the_c_walk() -> None:
    """install.sh builds it (a C compiler is on every machine this runs on): a build that
    silently lost it would make every new host ~2 µs slower."""
    assert walk is not None
    folder = Path(tempfile.mkdtemp())
    found = load_lists(write(folder, {"adult.txt": "example.com\n"}))
    assert isinstance(found._lookup, functools.partial)
    assert found._lookup.func is walk.lookup
    assert found.categories("www.example.com") == {"adult"}


def _both(folder: Path) -> tuple[lists.Lists, lists.Lists]:
    """The folder's lists walked in C and in Python."""
    c = load_lists(folder)
    py = load_lists(folder)
    py._walk = None
    big_local = py._local if py._small is None else None
    py._lookup = functools.partial(packed.lookup, py._table, py._small or {})
    if big_local is not None:
        py._lookup = functools.partial(packed.lookup2, py._table, big_local)
    assert c._lookup.func is walk.lookup  # type: ignore[attr-defined]
    assert c._walk is not None
    return c, py


def _same(c: lists.Lists, py: lists.Lists, host: str) -> None:
    """The C walks give the Python walks' answers: the lookup's mask, and the one walk's
    categories, URL-entry categories and suffixes (the same str values)."""
    assert c._lookup(host) == py._lookup(host), host
    assert c.walk(host) == py.walk(host), host
    assert c.walk(host) == (c.categories(host), c.url_rule_categories(host), host_suffixes(host))


LABEL = st.text(alphabet="abcxyz019-_", min_size=1, max_size=6)
NAME = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
ADDRESS = st.sampled_from(["10.1.2.3", "10.1.2.4", "2001:db8::7", "::1", "1.2.3", "0x7f.1"])


@pytest.mark.parametrize("small", [True, False], ids=["local-as-dict", "local-as-table"])
@settings(max_examples=40, deadline=None)
@given(
    entries=st.dictionaries(st.one_of(NAME, ADDRESS), st.sampled_from(CATEGORIES), max_size=20),
    urls=st.dictionaries(st.one_of(NAME, ADDRESS), st.sampled_from(CATEGORIES), max_size=6),
    hosts=st.lists(st.one_of(NAME, ADDRESS), max_size=20),
    data=st.data(),
)
def test_c_and_python_give_the_same_categories(
    entries: dict[str, str],
    urls: dict[str, str],
    hosts: list[str],
    data: st.DataObject,
    small: bool,
) -> None:
    files: dict[str, str | bytes] = {}
    for i, (entry, category) in enumerate(entries.items()):
        key = f"{'local/' if i % 2 else ''}{category}.txt"  # both tables
        files[key] = str(files.get(key, "")) + entry + "\n"
    for i, (entry, category) in enumerate(urls.items()):  # URL entries, in both parts too
        key = f"{'local/' if i % 2 else ''}{category}/urls"
        files[key] = str(files.get(key, "")) + entry + "/some/path\n"
    with tempfile.TemporaryDirectory() as tmp:
        old = lists.SMALL
        lists.SMALL = 65_536 if small else 0
        try:
            c, py = _both(write(Path(tmp), files))
        finally:
            lists.SMALL = old
    prefixes = data.draw(st.lists(LABEL, max_size=2))
    names = [*entries, *urls]
    for host in [*hosts, *names, *(".".join([*prefixes, e]) for e in names)]:
        _same(c, py, host)


def test_c_and_python_agree_over_a_big_random_table(tmp_path: Path) -> None:
    """Thousands of entries (every bucket of the directory in use, Bloom hits and misses)."""
    rng = random.Random(7)
    words = ["".join(rng.choices("abcdefghij0123", k=rng.randint(1, 8))) for _ in range(6000)]
    tlds = ["com", "org", "net", "io"]
    names = [f"{w}.{rng.choice(tlds)}" for w in words]
    files: dict[str, str | bytes] = {}
    for i, n in enumerate(names):
        key = f"{CATEGORIES[i % len(CATEGORIES)]}.txt"
        files[key] = str(files.get(key, "")) + n + "\n"
    files["local/games.txt"] = "".join(f"{n}\n" for n in names[::50])
    files["adult/urls"] = "".join(f"{n}/x\n" for n in names[::7])
    files["local/drugs/urls"] = "".join(f"{n}/y\n" for n in names[::11])
    c, py = _both(write(tmp_path, files))
    probes = [f"{rng.choice(['', 'www.', 'a.b.'])}{n}" for n in names]
    probes += [f"{w}x.{rng.choice(tlds)}" for w in words[:2000]]  # misses
    hits = 0
    for host in probes:
        _same(c, py, host)
        hits += c._lookup(host) != 0
    assert hits >= len(names)  # the table was not empty to both


def test_any_text_as_host_is_answered_alike() -> None:
    """Whatever string arrives (the decision normalises first; this is the walk's own
    promise): the same answer, or the same error for what UTF-8 cannot carry."""
    folder = Path(tempfile.mkdtemp())
    c, py = _both(
        write(folder, {"adult.txt": "example.com\nbücher.de\n", "adult/urls": "x.bücher.de/p\n"})
    )
    for host in ["", ".", "..", "a..example.com", "example.com.", ".example.com", "bücher.de",
                 "x.bücher.de", "com", "1", ":", "a:b.example.com", "9.example.com1"]:  # fmt: skip
        _same(c, py, host)
    for fn in (c._lookup, py._lookup, c.walk, py.walk):
        with pytest.raises(UnicodeEncodeError):
            fn("\ud800.example.com")


def _table(n: int = 3) -> packed.Packed:
    runs = [array.array("Q", sorted(packed.entry_key(f"e{i}.com".encode(), 0) for i in range(n)))]
    return packed.Packed.build(runs, [1])


@pytest.mark.parametrize(
    "spoil",
    [
        "buckets_order",
        "buckets_beyond",
        "mask_outside_palette",
        "hashes_width",
        "wide_palette",
        "no_bloom",
        "bucket_count",
    ],
)
def test_a_table_it_cannot_read_safely_is_refused(spoil: str) -> None:
    """A damaged index file must not make C read outside its buffers: the table is refused
    when built, and the lists walk in Python instead."""
    t = _table()
    hashes, masks, palette = t.hashes, t.masks, t.palette
    buckets, bloom = array.array("I", t.buckets), t.bloom
    if spoil == "buckets_order":
        buckets[100] = buckets[101] + 1
    elif spoil == "buckets_beyond":
        buckets[-1] = len(hashes) + 1
    elif spoil == "mask_outside_palette":
        masks = array.array("B", [len(palette)] * len(hashes))
    elif spoil == "hashes_width":
        hashes = array.array("I", [0] * len(hashes))
    elif spoil == "wide_palette":
        palette = (1 << 70,)
    elif spoil == "no_bloom":
        bloom = bytearray()
    elif spoil == "bucket_count":
        buckets = buckets[:-1]
    with pytest.raises((ValueError, OverflowError)):
        walk.Table(hashes, masks, palette, buckets, bloom)
    damaged = packed.Packed(hashes, masks, palette, buckets, bloom)
    fallback, whole = packed.walkers(damaged, None, None, None)
    assert fallback.func is packed.lookup  # type: ignore[attr-defined]
    assert whole is None


def test_a_table_is_built_once() -> None:
    t = _table()
    c = walk.Table(t.hashes, t.masks, t.palette, t.buckets, t.bloom)
    with pytest.raises(TypeError):
        c.__init__(t.hashes, t.masks, t.palette, t.buckets, t.bloom)


def test_pure_lookup_walks_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """VACCINE_PURE_LOOKUP=1 (for a bench, or to rule the C walk out): Python's walk."""
    monkeypatch.setattr(packed, "PURE", True)
    t = _table()
    one, whole = packed.walkers(t, None, None, None)
    assert one.func is packed.lookup and whole is None  # type: ignore[attr-defined]
    assert packed.walkers(t, t, None, None)[0].func is packed.lookup2  # type: ignore[attr-defined]
    assert one("www.e1.com") == 1
