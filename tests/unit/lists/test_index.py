"""The lists folder, the index and the lookups (proxy/lists.py)."""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vaccine.proxy.errors import ProblemsError
from vaccine.proxy.hosts import host_suffixes, suffixes
from vaccine.proxy.lists import index as lists
from vaccine.proxy.lists.index import Lists, compile_index, load_lists
from vaccine.proxy.lists.layout import INDEX_FILE, LOCAL_INDEX_FILE, UT1_NAMES, list_files
from vaccine.proxy.policy.model import CATEGORIES

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO / ".." / "shared" / "data" / "blocklists"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def messages(ls: Lists) -> list[str]:
    return [str(p) for p in ls.problems]


# --- matching ---------------------------------------------------------------------------------


@pytest.fixture
def simple(tmp_path: Path) -> Lists:
    return load_lists(
        write(
            tmp_path,
            {
                "local/adult.txt": "example.com\n",
                "local/gambling.txt": "bet.example\nexample.com\n",
                "malware.txt": "evil.example.org\n203.0.113.7\n2001:db8::7\n",
            },
        )
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", {"adult", "gambling"}),
        ("www.example.com", {"adult", "gambling"}),
        ("a.b.c.example.com", {"adult", "gambling"}),
        ("notexample.com", set()),
        ("example.com.evil", set()),
        ("com", set()),
        ("bet.example", {"gambling"}),
        ("x.bet.example", {"gambling"}),
        ("example", set()),
        ("evil.example.org", {"malware"}),
        ("a.evil.example.org", {"malware"}),
        ("example.org", set()),
        ("203.0.113.7", {"malware"}),
        ("203.0.113.8", set()),
        ("2001:db8::7", {"malware"}),
        ("localhost", set()),
    ],
)
def test_an_entry_covers_itself_and_its_subdomains(
    simple: Lists, host: str, expected: set[str]
) -> None:
    assert simple.categories(host) == frozenset(expected)


def test_stats_and_counts(simple: Lists) -> None:
    stats = simple.stats()
    assert list(stats) == list(CATEGORIES)
    assert (stats["adult"], stats["gambling"], stats["malware"], stats["video"]) == (1, 2, 3, 0)
    assert simple.entry_count == 5  # example.com and bet.example (local), 3 compiled
    assert simple.problems == []


def test_empty() -> None:
    empty = Lists.empty()
    assert empty.categories("example.com") == frozenset()
    assert empty.url_categories("example.com", "/") == frozenset()
    assert empty.url_rule_categories("example.com") == frozenset()
    assert (empty.entry_count, empty.problems, empty.files) == (0, [], [])
    assert set(empty.stats().values()) == {0}


ENTRY = st.lists(
    st.text(alphabet="abcxyz019-", min_size=1, max_size=5).filter(lambda s: s[0] != "-"),
    min_size=1,
    max_size=3,
)
TLD = st.sampled_from(["com", "org", "example"])


@settings(max_examples=60, deadline=None)
@given(
    entries=st.dictionaries(
        st.tuples(ENTRY, TLD).map(lambda t: ".".join([*t[0], t[1]])),
        st.sampled_from(CATEGORIES),
        min_size=1,
        max_size=12,
    ),
    prefixes=st.lists(st.text(alphabet="abxy", min_size=1, max_size=3), max_size=3),
    glue=st.sampled_from(["", "not", "a"]),
)
def test_lookups_agree_with_the_definition(
    entries: dict[str, str], prefixes: list[str], glue: str
) -> None:
    """A host gets exactly the categories of the entries equal to it or a parent domain of it:
    a sub-domain of an entry always gets its category, `notexample.com` never gets
    `example.com`'s."""
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, str | bytes] = {}
        for entry, category in entries.items():
            key = f"{'local/' if len(entry) % 2 else ''}{category}.txt"  # both tables
            files[key] = str(files.get(key, "")) + entry + "\n"
        found = load_lists(write(Path(tmp), files))
    for entry in entries:
        host = ".".join([*prefixes, glue + entry]) if prefixes or glue else entry
        expected = {c for e, c in entries.items() if e in set(suffixes(host))}
        assert found.categories(host) == frozenset(expected), host
        if not glue:
            assert entries[entry] in found.categories(host)


def test_a_big_local_folder_is_searched_like_the_downloaded_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """local/ is a dict when small, a packed table beside the big one when not: one answer."""
    folder = write(
        tmp_path,
        {
            "adult.txt": "adult.example\nboth.example\n",
            "local/games.txt": "games.example\nboth.example\nsub.adult.example\n10.1.2.3\n",
        },
    )
    hosts = ["www.games.example", "both.example", "x.sub.adult.example", "adult.example",
             "10.1.2.3", "10.1.2.4", "other.example", "example"]  # fmt: skip
    small = load_lists(folder)
    expected = {h: small.categories(h) for h in hosts}
    assert expected["x.sub.adult.example"] == {"adult", "games"}
    assert expected["10.1.2.3"] == {"games"} and not expected["10.1.2.4"]
    monkeypatch.setattr(lists, "SMALL", 0)
    big = Lists(*_parts(folder))
    assert {h: big.categories(h) for h in hosts} == expected


def _parts(folder: Path) -> tuple[Any, Any, list[Any], list[Path]]:
    found = load_lists(folder)  # the parts it keeps for the folder, reused as they are
    big, local = (
        lists._MEMO[(os.path.realpath(folder), f)][1] for f in (INDEX_FILE, LOCAL_INDEX_FILE)
    )
    return big, local, [], found.files


# --- URL entries ------------------------------------------------------------------------------


@pytest.fixture
def with_urls(tmp_path: Path) -> Lists:
    return load_lists(
        write(
            tmp_path,
            {
                "adult/urls": "quora.example/Adult-Topic\nimg.example/nsfw/\n"
                "wiki.example/Espa%C3%B1ol/Sexo\n",
                "proxy_bypass/urls": "tools.example/proxy\nquora.example/Adult-Topic/x\n",
                "local/drugs/urls": "shop.example/weed\n",
            },
        )
    )


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("quora.example", "/Adult-Topic", {"adult"}),
        ("quora.example", "/Adult-Topic/answer/1", {"adult"}),
        ("quora.example", "/Adult-Topic/x", {"adult", "proxy_bypass"}),
        ("www.quora.example", "/Adult-Topic", {"adult"}),  # the entry's host covers sub-domains
        ("quora.example", "/adult-topic", set()),  # paths compare case-sensitively
        ("quora.example", "/Other", set()),
        ("quora.example", "/", set()),
        ("img.example", "/nsfw/a.jpg", {"adult"}),
        ("img.example", "/nsfw", set()),
        ("wiki.example", "/Espa%C3%B1ol/Sexo", {"adult"}),
        ("wiki.example", "/Espa%c3%b1ol/Sexo", {"adult"}),  # either hex case
        ("wiki.example", "/Español/Sexo", {"adult"}),
        ("shop.example", "/weed/seeds", {"drugs"}),  # local URL entries too
        ("notquora.example", "/Adult-Topic", set()),
    ],
)
def test_url_categories(with_urls: Lists, host: str, path: str, expected: set[str]) -> None:
    assert with_urls.url_categories(host, path) == frozenset(expected)


def test_url_rule_categories_say_when_only_the_path_decides(with_urls: Lists) -> None:
    assert with_urls.url_rule_categories("quora.example") == {"adult", "proxy_bypass"}
    assert with_urls.url_rule_categories("m.quora.example") == {"adult", "proxy_bypass"}
    assert with_urls.url_rule_categories("shop.example") == {"drugs"}
    assert with_urls.url_rule_categories("other.example") == frozenset()


@pytest.mark.parametrize(
    "host", ["quora.example", "a.b.m.quora.example", "shop.example", "example", "10.0.0.1", "::1"]
)
def test_url_rules_over_a_walk_already_made_are_the_same(with_urls: Lists, host: str) -> None:
    walked = with_urls.url_rule_categories(host, host_suffixes(host))
    assert walked == with_urls.url_rule_categories(host)
    assert with_urls.categories("quora.example") == frozenset()  # a URL entry is not a domain


# --- what the folder holds --------------------------------------------------------------------

UT1_SOURCES = """\
sources:
  ut1:
    url: https://example.org/blacklists.tar.gz
    format: ut1
    into: ut1
    categories:
      adult: adult
      agressif: [violence, hate]
      gambling: gambling
      sexual_education: null
"""


def ut1_tree(root: Path) -> Path:
    write(
        root,
        {
            "adult/domains.0": "a0.example\nshared.example\n",
            "adult/domains.1": "a1.example\n",
            "adult/urls": "site.example/adult\n",
            "adult/expressions": "(porn|sex)\n",  # a regex: never read as entries
            "adult/usage": "black\nadult\n",
            "agressif/domains": "angry.example\nshared.example\n",
            "gambling/domains.gz": gzip.compress(b"bet.example\n"),
            "sexual_education/domains": "sexed.example\n",
            "newcat/domains": "new.example\n",
            "global_usage": "NAME: adult\n",
            "README": "",
            "LICENSE.pdf": b"%PDF",
        },
    )
    (root / "porn").symlink_to("adult")  # UT1's alias links
    (root / "violence").symlink_to("agressif")
    (root / "aggressive").symlink_to("agressif")
    return root


def test_ut1_folder_described_by_sources_yaml(tmp_path: Path) -> None:
    ut1_tree(tmp_path / "ut1")
    (tmp_path / "sources.yaml").write_text(UT1_SOURCES)
    found = load_lists(tmp_path)
    assert found.categories("a0.example") == {"adult"}
    assert found.categories("a1.example") == {"adult"}  # split files
    assert found.categories("x.angry.example") == {"violence", "hate"}  # one name, two ours
    assert found.categories("shared.example") == {"adult", "violence", "hate"}
    assert found.categories("bet.example") == {"gambling"}  # gzip
    assert found.categories("sexed.example") == frozenset()  # mapped to null
    assert found.categories("new.example") == frozenset()
    assert found.url_categories("site.example", "/adult/page") == {"adult"}
    stats = found.stats()
    # porn -> adult, violence/aggressive -> agressif are read once, not twice.
    assert (stats["adult"], stats["violence"], stats["gambling"]) == (4, 2, 1)
    assert messages(found) == [
        f"{tmp_path}/ut1/newcat: warning: UT1 category 'newcat' is not in sources.yaml "
        "(sources.ut1.categories); ignored"
    ]


def test_an_undescribed_ut1_folder_loads_by_its_names(tmp_path: Path) -> None:
    root = ut1_tree(tmp_path / "blacklists")
    found = load_lists(root)  # as `--lists /path/to/ut1/blacklists`
    assert found.categories("a0.example") == {"adult"}
    assert found.categories("angry.example") == {"violence", "hate"}
    assert found.categories("sexed.example") == {"health"}  # the built-in UT1 meaning
    assert found.stats()["adult"] == 4
    assert messages(found) == [
        f"{root}/newcat: warning: 'newcat' is not a category name; folder ignored"
    ]
    nested = load_lists(tmp_path)  # one level up: looked into
    assert nested.stats() == found.stats()


def test_local_and_loose_lists(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "local/doh.txt": "dns.example\n",
            "local/video/domains": "tube.example\n",
            "local/video/extra.txt": "clips.example\n",
            "local/README.md": "how to edit these\n",
            "local/mystery.txt": "what.example\n",
            "gambling.hosts": "0.0.0.0 casino.example\n",
            "terms/adult.txt": "search words, not domains\n",
            ".hidden/adult.txt": "hidden.example\n",
            "downloads/more/games/domains": "play.example\n",
        },
    )
    found = load_lists(tmp_path)
    assert found.categories("dns.example") == {"doh"}
    assert found.categories("tube.example") == {"video"}
    assert found.categories("clips.example") == {"video"}
    assert found.categories("casino.example") == {"gambling"}
    assert found.categories("play.example") == {"games"}
    assert found.categories("hidden.example") == frozenset()
    assert found.categories("what.example") == frozenset()
    assert messages(found) == [
        f"{tmp_path}/local/mystery.txt: warning: not named after a category (e.g. adult.txt); "
        "ignored"
    ]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in found.files) == [
        "downloads/more/games/domains",
        "gambling.hosts",
        "local/doh.txt",
        "local/video/domains",
        "local/video/extra.txt",
    ]


def test_links(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere", {"my-gambling.txt": "bet.example\n"})
    root = write(tmp_path / "lists", {"local/adult.txt": "x.example\n"})
    (root / "local/gambling.txt").symlink_to(outside / "my-gambling.txt")  # followed
    (root / "local/porn.txt").symlink_to("adult.txt")  # an alias: read once
    (root / "local/games.txt").symlink_to("missing.txt")
    found = load_lists(root)
    assert found.categories("bet.example") == {"gambling"}
    assert found.stats()["adult"] == 1
    assert messages(found) == [f"{root}/local/games.txt: warning: a broken link; ignored"]


def test_a_single_file_source(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "sources.yaml": "sources:\n  porn:\n    format: hosts\n"
            "    into: sinfonietta/pornography-hosts\n    category: adult\n",
            "sinfonietta/pornography-hosts": "0.0.0.0 www.porn.example\n",
            "sinfonietta/LICENSE": "MIT\n",
        },
    )
    found = load_lists(tmp_path)
    assert found.categories("www.porn.example") == {"adult"}
    assert found.problems == []
    assert set(list_files(tmp_path)) == set(found.files)
    assert tmp_path / "sources.yaml" in found.files


def test_a_source_not_downloaded_yet_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(UT1_SOURCES)
    found = load_lists(tmp_path)
    assert (found.entry_count, found.problems) == (0, [])


def test_junk_lines_in_a_good_file_are_warnings(tmp_path: Path) -> None:
    good = "".join(f"good{i}.example\n" for i in range(600))
    write(tmp_path, {"adult.txt": good + "two words\n" * 500})
    found = load_lists(tmp_path)
    assert found.categories("good1.example") == {"adult"}
    assert len(found.problems) == 6 and {p.severity for p in found.problems} == {"warning"}
    assert messages(found)[-1] == f"{tmp_path}/adult.txt: warning: …and 495 more junk lines"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("good.example\n" + "two words\n" * 500, "mostly junk"),
        (bytes(range(256)) * 40, "no entries"),  # a binary file where the list was
        (b"", "no entries"),
        ("# only comments\n", "no entries"),
        (b"\x1f\x8bnot really gzip", "cannot be read"),
    ],
    ids=["mostly-junk", "binary", "empty", "comments", "bad-gzip"],
)
def test_a_broken_file_is_an_error_and_applies_nothing(
    tmp_path: Path, content: str | bytes, why: str
) -> None:
    write(tmp_path, {"adult.txt": content, "games.txt": "play.example\n"})
    found = load_lists(tmp_path)
    assert found.categories("play.example") == {"games"}
    (problem,) = [p for p in found.problems if p.severity == "error"]
    assert problem.file == f"{tmp_path}/adult.txt" and why in problem.message


def test_a_missing_folder_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError, match="no such lists folder"):
        load_lists(tmp_path / "nope")
    assert list_files(tmp_path / "nope") == []


def test_an_invalid_sources_yaml_is_fatal(tmp_path: Path) -> None:
    write(tmp_path, {"sources.yaml": "sources:\n  x:\n    format: hosts\n    category: adlut\n"})
    with pytest.raises(ProblemsError) as e:
        load_lists(tmp_path)
    assert str(e.value.problems[0]) == (
        f"{tmp_path}/sources.yaml:4: sources.x.category: 'adlut' is not a category; "
        "did you mean 'adult'?"
    )
    assert tmp_path / "sources.yaml" in list_files(tmp_path)  # still watched, to see a fix


# --- the compiled index -----------------------------------------------------------------------


def big_tree(root: Path) -> Path:
    ut1_tree(root / "ut1")
    write(
        root,
        {
            "sources.yaml": UT1_SOURCES,
            "local/games.txt": "play.example\n",
            "malware/domains": "".join(f"m{i}.bad.example\n" for i in range(3000)) + "junk line\n",
        },
    )
    return root


def fresh_load(directory: Path) -> Lists:
    lists._MEMO.clear()  # as a new process would
    return load_lists(directory)


HOSTS = ["a0.example", "x.angry.example", "bet.example", "play.example", "m7.bad.example",
         "www.m2999.bad.example", "m3000.bad.example", "nothing.example"]  # fmt: skip


def no_parsing(monkeypatch: pytest.MonkeyPatch, *, local: bool = False) -> list[int]:
    """Make any parse of the big lists fail (and of local/ too, unless `local`); the result
    counts the parses of local/ allowed."""
    real, parses = lists._build, []

    def guarded(planned: list[Any], progress: object = None) -> object:
        if not (local and all(p.local for p in planned)):
            raise AssertionError("parsed although the index is current")
        parses.append(len(planned))
        return real(planned)

    monkeypatch.setattr(lists, "_build", guarded)
    return parses


def same(a: Lists, b: Lists) -> None:
    assert [a.categories(h) for h in HOSTS] == [b.categories(h) for h in HOSTS]
    assert a.url_categories("site.example", "/adult/x") == b.url_categories(
        "site.example", "/adult/x"
    )

    def files(x: Lists) -> list[Path]:
        return [f for f in x.files if f.name != Path(INDEX_FILE).name]

    assert (a.stats(), a.entry_count, a.problems, files(a)) == (
        b.stats(), b.entry_count, b.problems, files(b),
    )  # fmt: skip


def test_compile_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = big_tree(tmp_path)
    parsed = fresh_load(root)
    result = compile_index(root)
    assert (result.path, result.files) == (root / INDEX_FILE, 6)
    assert result.entries == parsed.entry_count - 1  # local/ has an index of its own

    no_parsing(monkeypatch)  # local/ was compiled by the first load, so it is mapped too
    mapped = fresh_load(root)
    monkeypatch.undo()
    same(mapped, parsed)
    assert any("junk line" in m for m in messages(mapped))  # junk kept in the index


def test_local_edits_do_not_make_the_index_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    (root / "local/games.txt").write_text("play.example\nmore-play.example\n")
    parses = no_parsing(monkeypatch, local=True)
    found = fresh_load(root)
    assert parses == [1]  # local/ compiled again, the big lists mapped
    assert found.categories("more-play.example") == {"games"}
    assert found.categories("a0.example") == {"adult"}


def test_a_stale_index_is_not_used(tmp_path: Path) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    with open(root / "malware/domains", "a") as f:
        f.write("late.bad.example\n")
    found = fresh_load(root)
    assert found.categories("late.bad.example") == {"malware"}
    assert (
        f"{root}/{INDEX_FILE}: warning: out of date, lists parsed instead (slower); "
        "run `vaccine lists compile`"
    ) in messages(found)


def test_a_changed_mapping_makes_the_index_stale(tmp_path: Path) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    (root / "sources.yaml").write_text(UT1_SOURCES.replace("gambling: gambling", "gambling: games"))
    assert fresh_load(root).categories("bet.example") == {"games"}


@pytest.mark.parametrize(
    "garbage", [b"", b"DVLISTS\n", b"DVLISTS\n\x05\0\0\0\0\0\0\0{bad", b"x" * 99]
)
def test_a_damaged_index_is_not_used(tmp_path: Path, garbage: bytes) -> None:
    root = big_tree(tmp_path)
    expected = fresh_load(root)
    write(root, {INDEX_FILE: garbage})
    found = fresh_load(root)
    assert found.categories("a0.example") == {"adult"}
    assert found.stats() == expected.stats()


def test_a_truncated_index_is_not_used(tmp_path: Path) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    index = root / INDEX_FILE
    index.write_bytes(index.read_bytes()[:-8])
    assert any("out of date" in m for m in messages(fresh_load(root)))


def test_an_index_of_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"local/games.txt": "play.example\n"})
    assert compile_index(tmp_path).entries == 0
    found = fresh_load(tmp_path)
    assert found.categories("play.example") == {"games"}
    assert found.problems == []


def test_the_index_follows_the_folder_when_it_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_tree(tmp_path / "before")
    compile_index(root)
    moved = root.rename(tmp_path / "after")
    no_parsing(monkeypatch, local=True)
    found = fresh_load(moved)
    assert found.categories("m1.bad.example") == {"malware"}
    junk = [p for p in found.problems if "junk line" in p.message]
    assert [p.file for p in junk] == [str(moved / "malware/domains")]


def test_an_unchanged_folder_is_not_parsed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_tree(tmp_path)
    first = fresh_load(root)
    no_parsing(monkeypatch, local=True)
    second = load_lists(root)  # a policy edit reloads the household: the lists did not change
    same(first, second)


def test_list_files_is_what_a_load_reads(tmp_path: Path) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    found = fresh_load(root)
    assert list_files(root) == found.files
    assert root / INDEX_FILE in found.files
    assert root / "ut1/adult/usage" not in found.files
    assert root / "ut1/porn/domains.0" not in found.files  # an alias
    assert root / "ut1/adult/domains.0" in found.files


# --- what ships -------------------------------------------------------------------------------


def test_the_shipped_lists_load_cleanly() -> None:
    found = load_lists(REPO / "blocklists")
    assert found.problems == []
    assert found.categories("mozilla.cloudflare-dns.com") == {"doh"}
    assert found.categories("1.1.1.1") == {"doh"}
    assert found.categories("www.youtube.com") == {"video"}
    assert found.categories("en.wikipedia.org") == {"education"}
    assert "social_networks" in found.categories("www.tiktok.com")
    assert found.categories("mail.google.com") == frozenset()  # search means search hosts
    empty = [c for c, n in found.stats().items() if not n]
    assert "adult" not in empty and "proxy_bypass" not in empty


def test_the_shipped_ut1_mapping_is_the_built_in_one() -> None:
    shipped = yaml.safe_load((REPO / "blocklists/sources.yaml").read_text())["sources"]["ut1"]
    mapping = {
        name: tuple([v] if isinstance(v, str) else v or [])
        for name, v in shipped["categories"].items()
    }
    aliases = {"porn", "aggressive", "proxy"}  # UT1's symlinks: read through their targets
    assert mapping == {k: v for k, v in UT1_NAMES.items() if k not in aliases}
    pairs = [("porn", "adult"), ("aggressive", "agressif"), ("proxy", "redirector")]
    assert all(UT1_NAMES[alias] == UT1_NAMES[real] for alias, real in pairs)


# --- the real lists (../shared/data) ----------------------------------------------------------

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared test data at {SHARED}")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"no shared test data at {SHARED}")
    root = tmp_path_factory.mktemp("real")
    unpacked = tmp_path_factory.mktemp("unpacked")
    for name in ("ut1-blacklists-sample.tar.gz", "sinfonietta-pornography-hosts.tar.gz"):
        with tarfile.open(SHARED / name) as tar:
            tar.extractall(unpacked, filter="data")
    shutil.move(unpacked / "blacklists", root / "ut1")
    (root / "sinfonietta").mkdir()
    shutil.move(unpacked / "sinfonietta-hostfiles/pornography-hosts", root / "sinfonietta")
    shutil.copy(REPO / "blocklists/sources.yaml", root)
    shutil.copytree(REPO / "blocklists/local", root / "local")
    return root


@pytest.mark.shared_data
@needs_shared
@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0-1-x.009418154.xyz", {"malware"}),  # malware/domains, first line
        ("www.007angels.com", {"adult"}),  # Sinfonietta
        ("mindrunway.ru", {"adult"}),  # a line with a trailing blank
        ("ehentai.to", {"adult"}),  # written `Ehentai.to`
        ("14words.com", {"violence", "hate"}),  # agressif
        ("deviantart.com", {"adult"}),  # mixed_adult
        ("kinseyconfidential.org", {"health"}),  # sexual_education
        ("1.1.1.1", {"doh"}),
        ("0--proxy.info", {"proxy_bypass"}),  # redirector
        ("01usevpn.website", {"proxy_bypass"}),  # vpn
        ("discord.com", {"chat", "social_networks"}),
        ("ameetecarms.com", {"weapons"}),  # dangerous_material
        ("notdiscord.com", set()),
    ],
)
def test_real_lists(real: Path, host: str, expected: set[str]) -> None:
    assert load_lists(real).categories(host) >= frozenset(expected)
    if not expected:
        assert load_lists(real).categories(host) == frozenset()


@pytest.mark.shared_data
@needs_shared
def test_real_lists_problems_urls_and_aliases(real: Path) -> None:
    found = load_lists(real)
    assert [p.message for p in found.problems] == [
        "a single label would cover a whole top-level domain: 'en'"
    ]
    assert found.problems[0].line == 60925
    quora = "adultcontent.quora.com"
    assert found.url_categories(quora, "/How-do-couples-clean-up-semen-after-sex") == {"adult"}
    assert "adult" in found.url_rule_categories(quora)
    assert found.stats()["adult"] > 61_000
    # UT1's alias links (porn -> adult, proxy -> redirector…) add nothing.
    for alias in ("porn", "drugs", "violence", "aggressive", "proxy"):
        assert (real / "ut1" / alias).is_symlink()
    copy = real.parent / "no-aliases"
    shutil.copytree(real, copy, symlinks=True, dirs_exist_ok=True)
    for alias in ("porn", "drugs", "violence", "aggressive", "proxy"):
        os.unlink(copy / "ut1" / alias)
    assert load_lists(copy).stats() == found.stats()


@pytest.mark.shared_data
@needs_shared
def test_real_lists_compiled_and_undescribed(real: Path) -> None:
    parsed = fresh_load(real)
    compile_index(real)
    mapped = fresh_load(real)
    (real / INDEX_FILE).unlink()
    assert mapped.stats() == parsed.stats()
    sample = (real / "ut1/phishing/domains").read_text().split()[::997]
    sample += [f"www.{h}" for h in sample] + [f"not{h}" for h in sample]
    assert [mapped.categories(h) for h in sample] == [parsed.categories(h) for h in sample]
    # The bare UT1 folder, without sources.yaml, means the same thanks to UT1_NAMES.
    bare = load_lists(real / "ut1")
    ut1_only = {c: n for c, n in bare.stats().items()}
    assert ut1_only["phishing"] == parsed.stats()["phishing"]
    assert ut1_only["malware"] == parsed.stats()["malware"]


def test_local_is_compiled_once_and_then_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_tree(tmp_path)
    compile_index(root)
    first = fresh_load(root)
    assert (root / LOCAL_INDEX_FILE).is_file()
    no_parsing(monkeypatch)  # a new process: neither part is parsed
    again = fresh_load(root)
    same(again, first)
    assert again.categories("play.example") == {"games"}


def test_a_read_only_folder_still_loads_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = big_tree(tmp_path)

    def refuse(*args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(lists, "_write_index", refuse)
    assert fresh_load(root).categories("play.example") == {"games"}


def test_the_index_takes_about_ten_bytes_an_entry(tmp_path: Path) -> None:
    n = 60_000
    names = "".join(f"n{i}.example\n" for i in range(n))
    write(tmp_path, {"adult/domains": names, "games/domains": "g.example\nn5.example\n"})
    result = compile_index(tmp_path)
    assert result.entries == n + 1  # n5.example is in both: one entry, both categories
    # 8 (hash) + 1 (palette index) + 10 bits of Bloom filter, plus a 256 KiB directory
    overhead = 4 * 65537 + 4096
    assert result.path.stat().st_size <= n * (9 + 10 / 8) + overhead
    found = fresh_load(tmp_path)
    assert found.categories("www.n5.example") == {"adult", "games"}
    assert found.categories("n59999.example") == {"adult"}
    assert found.categories("n60000.example") == frozenset()
    assert found.stats()["adult"] == n and found.stats()["games"] == 2


def test_a_damaged_url_section_is_not_used(tmp_path: Path) -> None:
    root = big_tree(tmp_path)
    expected = fresh_load(root)
    compile_index(root)
    index = root / INDEX_FILE
    data = bytearray(index.read_bytes())
    data[-3:] = b"\xff\xff\xff"  # inside the marshalled URL entries
    index.write_bytes(bytes(data))
    found = fresh_load(root)
    assert found.url_categories("site.example", "/adult/x") == expected.url_categories(
        "site.example", "/adult/x"
    )
