"""Line syntaxes of published lists, and sources.yaml (proxy/listformats.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from vaccine.proxy.lists.formats import (
    JUNK_SHOWN,
    FileReport,
    domain_line,
    parse_domains,
    parse_urls,
    url_line,
)
from vaccine.proxy.lists.sources import load_sources

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lists"


@pytest.mark.parametrize(
    ("line", "entries"),
    [
        ("example.com", ["example.com"]),
        ("  example.com  ", ["example.com"]),
        ("Example.COM.", ["example.com"]),
        ("example.com # the inline comment", ["example.com"]),
        ("example.com\t# after a tab", ["example.com"]),
        ("*.example.com", ["example.com"]),
        (".example.com", ["example.com"]),
        ("bücher.de", ["xn--bcher-kva.de"]),
        ("xn--bcher-kva.de", ["xn--bcher-kva.de"]),
        ("0.0.0.0 example.com", ["example.com"]),
        ("127.0.0.1\ta.example b.example  c.example", ["a.example", "b.example", "c.example"]),
        ("::1 example.com", ["example.com"]),
        ("fe80::1%lo0 example.com", ["example.com"]),
        ("0.0.0.0 Example.com # hosts comment", ["example.com"]),
        ("||example.com^", ["example.com"]),
        ("||example.com", ["example.com"]),
        ("||example.com^$important", ["example.com"]),
        ("||example.com^$third-party,popup", ["example.com"]),
        ("203.0.113.9", ["203.0.113.9"]),
        ("2001:DB8::9", ["2001:db8::9"]),
        ("a_b.example", ["a_b.example"]),  # underscores occur in real names
    ],
)
def test_entries(line: str, entries: list[str]) -> None:
    assert domain_line(line) == (entries, "")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "# a comment",
        "! an AdBlock comment",
        "[Adblock Plus 2.0]",
        "127.0.0.1 localhost",
        "::1 ip6-localhost ip6-loopback",
        "255.255.255.255 broadcasthost",
        "0.0.0.0 0.0.0.0",
        "0.0.0.0",
        "localhost",
        "##.advert",  # a generic cosmetic rule reads as a comment
    ],
)
def test_skipped_silently(line: str) -> None:
    assert domain_line(line) == ([], "")


@pytest.mark.parametrize(
    "line",
    [
        "@@||example.com^",  # an exception: we never un-block from a list
        "example.com##.advert",  # cosmetic
        "example.com#@#.advert",
        "||example.com/ads/",  # a path rule: narrower than the domain
        "||ads.*.example^",
        "||example.com^$domain=other.example",  # narrowing option
        "/banner[0-9]+/",
        "|https://example.com/",
        "example.com$script",
    ],
)
def test_adblock_rules_we_cannot_apply_are_ignored_not_junk(line: str) -> None:
    assert domain_line(line) == ([], "ignored")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("http://example.com/page", "a URL"),
        ("https://example.com", "a URL"),
        ("example.com/page", "a path"),
        ("exa mple.com", "spaces inside"),
        ("bad!char.example", "not a valid domain"),
        ("com", "single label"),
        ("0.0.0.0 com", "single label"),
        ("ex*ample.com", "wildcard"),
        ("user@example.com", "not a domain"),
        ("example.com:8080", "not a domain"),
        ("a..b.example", "not a valid domain"),
        ("\ufffd\ufffd.example", "not a valid domain"),  # undecodable bytes
    ],
)
def test_junk(line: str, why: str) -> None:
    entries, problem = domain_line(line)
    assert entries == []
    assert why in problem


def test_a_hosts_line_keeps_its_good_names_and_reports_the_bad_one() -> None:
    entries, problem = domain_line("0.0.0.0 good.example en")
    assert entries == ["good.example"]
    assert "single label" in problem


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("example.com/some/path", ("example.com", "/some/path")),
        ("Example.com/Case/Kept", ("example.com", "/Case/Kept")),
        ("www.example.com/page", ("example.com", "/page")),  # as squidGuard reads UT1
        ("http://example.com/page", ("example.com", "/page")),
        ("example.com/Espa%c3%b1ol/", ("example.com", "/Español/")),
        ("example.com/page#fragment", ("example.com", "/page")),
        ("203.0.113.5/watch", ("203.0.113.5", "/watch")),
        ("example.com", "example.com"),  # the whole site: a domain entry
        ("example.com/", "example.com"),
        ("example.com/#top", "example.com"),
        ("example.com/page?id=3", ""),  # a query cannot be matched: skipped
        ("# comment", ""),
        ("", ""),
    ],
)
def test_url_lines(line: str, expected: object) -> None:
    assert url_line(line) == (expected, "")


@pytest.mark.parametrize("line", ["exa mple.com/page", "bad!host/page", "com/page"])
def test_url_junk(line: str) -> None:
    entry, problem = url_line(line)
    assert entry == "" and problem


def test_the_mixed_fixture() -> None:
    report = FileReport()
    entries = parse_domains(FIXTURES / "mixed.txt", report)
    assert entries == [
        "plain.example", "upper.example.org", "wild.example", "dot.example",
        "xn--bcher-kva.example", "hosts-zero.example", "one.example", "two.example",
        "six.example", "adblock.example", "adblock-important.example", "third.example",
        "203.0.113.7", "2001:db8::7",
    ]  # fmt: skip
    text = (FIXTURES / "mixed.txt").read_text().splitlines()
    junk_lines = [n for n, line in enumerate(text, 1) if "# junk" in line]
    assert [n for n, _ in report.junk] == junk_lines
    assert report.junk_count == len(junk_lines)
    assert report.ignored == 5


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbfa.example\r\nb.example\r\n",  # BOM and CRLF (Windows)
        b"a.example\rb.example\r",  # old Mac line ends
        b"a.example\nb.example",  # no final newline
        b"\n\na.example\n\n\nb.example\n\n",
    ],
)
def test_bom_and_line_ends(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "list"
    path.write_bytes(raw)
    report = FileReport()
    assert parse_domains(path, report) == ["a.example", "b.example"]
    assert report.junk_count == 0


def test_gzip_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "domains"  # no .gz suffix: UT1 mirrors are not consistent
    path.write_bytes(gzip.compress(b"a.example\nb.example\n"))
    assert parse_domains(path, FileReport()) == ["a.example", "b.example"]


def test_line_numbers_survive_chunking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaccine.proxy.lists import formats as lf

    path = tmp_path / "list"
    path.write_text("".join(f"host{i}.example\n" for i in range(1, 50)) + "bad name\n")
    real = lf.line_chunks
    monkeypatch.setattr(lf, "line_chunks", lambda p, size=7: real(p, size))
    report = FileReport()
    assert len(parse_domains(path, report)) == 49
    assert report.junk == [(50, "spaces inside an entry: 'bad name'")]


def test_junk_is_summed_up_after_the_first_few(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_text("good.example\n" + "not a domain\n" * 1000)
    report = FileReport()
    assert parse_domains(path, report) == ["good.example"]
    problems = report.problems(str(path))
    assert len(problems) == JUNK_SHOWN + 1
    assert all(p.severity == "warning" for p in problems)
    assert [p.line for p in problems[:JUNK_SHOWN]] == list(range(2, 2 + JUNK_SHOWN))
    assert problems[-1].line is None
    assert problems[-1].message == f"…and {1000 - JUNK_SHOWN} more junk lines"
    assert str(problems[0]).startswith(f"{path}:2: warning: spaces inside an entry")


def test_ignored_adblock_rules_are_one_summary_line() -> None:
    report = FileReport(ignored=3)
    (problem,) = report.problems("f")
    assert problem.message.startswith("3 AdBlock rules ignored")


def test_parse_urls_splits_domains_from_paths(tmp_path: Path) -> None:
    path = tmp_path / "urls"
    path.write_text("a.example/x\nb.example\nc.example/y?q=1\nbad host/z\n")
    report = FileReport()
    assert parse_urls(path, report) == (["b.example"], [("a.example", "/x")])
    assert report.junk_count == 1


# --- sources.yaml -----------------------------------------------------------------------------

GOOD = """\
sources:
  ut1:
    url: https://example.org/blacklists.tar.gz
    format: ut1
    into: ut1
    categories:
      adult: adult
      agressif: [violence, hate]
      sexual_education: null
  extra:
    format: hosts
    into: more/extra.hosts
    category: adult
    description: placed by hand, no url
"""


def test_sources_yaml(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD)
    sources, problems = load_sources(path)
    assert problems == []
    ut1, extra = sources["ut1"], sources["extra"]
    assert ut1.categories == {
        "adult": ("adult",),
        "agressif": ("violence", "hate"),
        "sexual_education": (),
    }
    assert (ut1.format, ut1.into, ut1.url) == (
        "ut1",
        "ut1",
        "https://example.org/blacklists.tar.gz",
    )
    assert (extra.into, extra.url, extra.category) == ("more/extra.hosts", None, ("adult",))


def test_missing_or_empty_sources_yaml_is_fine(tmp_path: Path) -> None:
    assert load_sources(tmp_path / "sources.yaml") == ({}, [])
    (tmp_path / "sources.yaml").write_text("# nothing yet\n")
    assert load_sources(tmp_path / "sources.yaml") == ({}, [])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("sources:\n  x:\n    format: hosts\n    category: adlut\n", 4,
         "sources.x.category: 'adlut' is not a category; did you mean 'adult'?"),
        ("sources:\n  x:\n    format: hosts\n    category: adult\n    ulr: http://a\n", 5,
         "sources.x.ulr: unknown key; did you mean 'url'?"),
        ("source:\n  x: {}\n", 1, "source: unknown key; did you mean 'sources'?"),
        ("sources:\n  x:\n    format: zip\n    category: adult\n", 3,
         "sources.x.format: must be one of ut1, hosts, plain, adblock"),
        ("sources:\n  x:\n    format: ut1\n", 2,
         "sources.x.categories: map each UT1 folder name to a category"),
        ("sources:\n  x:\n    format: hosts\n", 2, "sources.x.category: None is not a category"),
        ("sources:\n  x:\n    format: hosts\n    category: adult\n    into: ../etc\n", 5,
         "sources.x.into: a path inside the lists folder, not hidden, not under local/ or terms/"),
        ("sources:\n  x:\n    format: hosts\n    category: adult\n    into: local/x\n", 5,
         "sources.x.into: a path inside the lists folder, not hidden, not under local/ or terms/"),
        ("sources:\n  x:\n    format: hosts\n    category: adult\n    url: ftp://a/b\n", 5,
         "sources.x.url: must be an http://, https:// or file:// address"),
        ("sources:\n  X Y:\n    format: hosts\n", 2,
         "sources.X Y: a source name is lower-case letters, digits, '-' and '_'"),
        ("sources:\n  a:\n    format: hosts\n    category: adult\n    into: f\n"
         "  b:\n    format: hosts\n    category: adult\n    into: f\n", 9,
         "sources.b.into: same folder as source 'a'"),
        ("sources: [a, b]\n", 1, "sources: expected a map of source names"),
        ("sources:\n  x:\n    format: hosts\n   bad: indent\n", 4, "YAML syntax error"),
    ],
)  # fmt: skip
def test_sources_yaml_problems(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    sources, problems = load_sources(path)
    assert problems, "expected a problem"
    assert (problems[0].line, problems[0].message[: len(message)]) == (line, message)
    assert problems[0].severity == "error"


def test_one_more_junk_line_is_said_in_the_singular(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("good.example\n" * 100 + "not a domain\n" * (JUNK_SHOWN + 1))
    report = FileReport()
    parse_domains(path, report)
    assert report.problems(str(path))[-1].message == "…and 1 more junk line"
