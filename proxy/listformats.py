"""Reading the list formats people publish, one line at a time.

The syntax is detected per line, not per file, because published lists mix them (a hosts file
with a few bare names, an AdBlock list with plain domains). A line is one of:

- a plain domain `example.com`, or a wildcard `*.example.com` / `.example.com`: the same entry,
  since an entry always covers its sub-domains (so `*.example.com` also covers
  `example.com` itself — stricter, never looser);
- a hosts line `0.0.0.0 a.example b.example` (any address; `localhost`-style names ignored);
- an AdBlock network rule `||example.com^`, optionally with options that do not narrow it
  (`$important`, `$third-party`, …: for a child the whole domain is blocked). Every other
  AdBlock rule — exceptions `@@`, cosmetic `##`, path and regex rules, narrowing options —
  is *ignored* and counted, never applied: we cannot honour it at the domain level;
- a comment (`#`, `!`, AdBlock's `[Adblock Plus 2.0]` header), a blank line, or an inline
  `# comment` after an entry;
- junk: anything else (spaces inside a name, invalid characters, a URL in a domains file, a
  single label such as `com`, which would cover a whole top-level domain). Junk is counted
  and reported, never fatal.

UT1 `urls` files hold `host/path` entries. Their paths are percent-decoded (the lookup decodes
the request path the same way), a `#fragment` is dropped (browsers never send it), a leading
`www.` is dropped from the host (as squidGuard, UT1's intended reader, does). Entries with a
`?query` are skipped: the proxy matches paths only, and cutting the query would turn
`site/watch?v=x` into a rule for every video on the site.
"""

from __future__ import annotations

import gzip
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from .errors import Problem
from .hosts import BadHost, normalise_host
from .model import CATEGORIES

#: Junk lines reported one by one per file before the rest are summed up in one line.
JUNK_SHOWN = 5

# Nearly every line of a real list is already a clean, lower-case name or a dotted quad: this
# regex lets those skip normalise_host. A name's last label must start with a letter, and an
# octet has no leading zero, so no other spelling of an address (`0x7f.1`, `010.0.0.1`, which
# need normalising) takes this path.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CLEAN = re.compile(rf"(?:[a-z0-9_-]+\.)+[a-z][a-z0-9-]*|(?:{_OCTET}\.){{3}}{_OCTET}").fullmatch

# Names hosts files map to themselves; they are the machine, not a site to block.
_LOCAL_NAMES = frozenset(
    {
        "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
        "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
        "ip6-allhosts", "0.0.0.0",
    }
)  # fmt: skip

# AdBlock options that do not narrow a `||domain^` rule below "the whole domain".
_BROAD_OPTIONS = frozenset(
    {"important", "all", "document", "doc", "third-party", "3p", "first-party", "1p", "popup"}
)
_COSMETIC = re.compile(r"#[@?$%]?#").search
_HOSTS_ADDRESS = re.compile(r"[0-9a-fA-F.:%a-z]+").fullmatch


@dataclass
class FileReport:
    """What one file held besides entries: junk (first few kept verbatim) and ignored rules."""

    junk_count: int = 0
    junk: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    ignored: int = 0  # AdBlock rules understood but not applicable

    def add_junk(self, lineno: int, message: str) -> None:
        self.junk_count += 1
        if len(self.junk) < JUNK_SHOWN:
            self.junk.append((lineno, message))

    def problems(self, name: str) -> list[Problem]:
        out = [Problem(name, n, msg, severity="warning") for n, msg in self.junk]
        more = self.junk_count - len(self.junk)
        if more:
            out.append(Problem(name, None, f"…and {more} more junk lines", severity="warning"))
        if self.ignored:
            out.append(
                Problem(
                    name,
                    None,
                    f"{self.ignored} AdBlock rules ignored (only `||domain^` rules apply: "
                    "exceptions, cosmetic, path and regex rules are not used)",
                    severity="warning",
                )
            )
        return out


def open_text(path: Path) -> IO[str]:
    """A list file as text: gzip detected by content, BOM dropped, bad bytes become junk."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def line_chunks(path: Path, size: int = 1 << 20) -> Iterator[tuple[int, list[str]]]:
    """(number of the first line, lines) in chunks: a 50 MiB list never sits in memory whole."""
    lineno = 1
    with open_text(path) as f:
        rest = ""
        while True:
            block = f.read(size)
            if not block:
                break
            lines = (rest + block).split("\n")
            rest = lines.pop()
            yield lineno, lines
            lineno += len(lines)
        if rest:
            yield lineno, [rest]


def parse_domains(path: Path, report: FileReport) -> list[str]:
    """Every normalised domain entry of a domains-type file (plain, hosts, AdBlock, wildcard)."""
    out: list[str] = []
    append = out.append
    for first, lines in line_chunks(path):
        for i, line in enumerate(lines):
            if _CLEAN(line) is not None:
                append(line)
            elif line:
                names, junk = domain_line(line)
                out += names
                if junk == "ignored":
                    report.ignored += 1
                elif junk:
                    report.add_junk(first + i, junk)
    return out


def parse_urls(path: Path, report: FileReport) -> tuple[list[str], list[tuple[str, str]]]:
    """(domain entries, (host, path) entries) of a UT1 `urls` file."""
    domains: list[str] = []
    urls: list[tuple[str, str]] = []
    for first, lines in line_chunks(path):
        for i, line in enumerate(lines):
            entry, junk = url_line(line)
            if isinstance(entry, tuple):
                urls.append(entry)
            elif entry:
                domains.append(entry)
            elif junk:
                report.add_junk(first + i, junk)
    return domains, urls


def _strip_comment(text: str) -> str:
    """The line without surrounding blanks, comment lines, or a trailing ` # comment`."""
    s = text.strip()
    if not s or s[0] in "#!" or (s[0] == "[" and s[-1] == "]"):
        return ""
    for sep in (" #", "\t#"):
        cut = s.find(sep)
        if cut >= 0:
            s = s[:cut].rstrip()
    return s


def domain_line(text: str) -> tuple[list[str], str]:
    """(entries, problem) for one line; problem is "" (fine), "ignored", or a junk message."""
    s = _strip_comment(text)
    if not s:
        return [], ""
    if s.startswith("@@") or _COSMETIC(s):
        return [], "ignored"
    if s.startswith("||"):
        return _adblock(s)
    if s[0] in "|/" or "^" in s or "$" in s:
        return [], "ignored"
    tokens = s.split()
    if len(tokens) > 1:
        if _is_address(tokens[0]):
            return _hosts_names(tokens[1:])
        return [], f"spaces inside an entry: {_show(s)}"
    name, problem = _name(tokens[0])
    return ([name] if name else []), problem


def _adblock(s: str) -> tuple[list[str], str]:
    body, _, options = s[2:].partition("$")
    if options and not {o.strip().lower() for o in options.split(",")} <= _BROAD_OPTIONS:
        return [], "ignored"
    host = body[:-1] if body.endswith("^") else body
    if not host or any(c in host for c in "/^*|"):
        return [], "ignored"  # a path or pattern rule: narrower than a domain
    name, problem = _name(host)
    return ([name] if name else []), problem


def _is_address(token: str) -> bool:
    if _HOSTS_ADDRESS(token) is None:
        return False
    try:
        ipaddress.ip_address(token.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _hosts_names(names: list[str]) -> tuple[list[str], str]:
    out: list[str] = []
    bad = ""
    for raw in names:
        name, problem = _name(raw)
        if name:
            out.append(name)
        elif problem and not bad:
            bad = problem
    return out, bad


def _name(token: str) -> tuple[str, str]:
    """A single token to a normalised entry; ("", reason) when it is not one."""
    if token.lower() in _LOCAL_NAMES:
        return "", ""
    if "://" in token:
        return "", f"a URL, not a domain: {_show(token)}"
    if token.startswith("*."):
        token = token[2:]
    elif token.startswith("."):
        token = token[1:]
    if "/" in token:
        return "", f"a path, not a domain: {_show(token)}"
    if "*" in token:
        return "", f"a wildcard is only understood as a leading `*.`: {_show(token)}"
    if "@" in token or token.count(":") == 1:  # normalise_host would quietly drop these
        return "", f"not a domain: {_show(token)}"
    try:
        host = normalise_host(token)
    except BadHost:
        return "", f"not a valid domain: {_show(token)}"
    if "." not in host and ":" not in host:
        return "", f"a single label would cover a whole top-level domain: {_show(token)}"
    return host, ""


def url_line(text: str) -> tuple[tuple[str, str] | str, str]:
    """((host, path) | domain | "", problem) for one line of a UT1 `urls` file."""
    s = _strip_comment(text)
    if not s:
        return "", ""
    for scheme in ("http://", "https://"):
        if s.lower().startswith(scheme):
            s = s[len(scheme) :]
    if len(s.split(None, 1)) > 1:
        return "", f"spaces inside an entry: {_show(s)}"
    raw_host, slash, path = s.partition("/")
    path = path.split("#", 1)[0]
    if "?" in path:
        return "", ""  # see the module docstring: a query cannot be matched
    if raw_host.lower().startswith("www."):
        raw_host = raw_host[4:]
    host, problem = _name(raw_host)
    if not host:
        return "", problem or f"not a valid host: {_show(s)}"
    if not slash or not path:
        return host, ""  # the whole site: a domain entry, visible without decrypting
    return (host, unquote("/" + path)), ""


def _show(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


# ---------------------------------------------------------------------------------------------
# sources.yaml: where each list comes from and what its category names mean to us.

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
        data = yaml.safe_load(text)
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return {}, [Problem(name, line, f"YAML syntax error: {getattr(e, 'problem', e)}")]
    checker = _SourcesChecker(name, lines)
    return checker.check(data), checker.problems


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
                self.problem((str(key),), f"unknown key{_suggest(str(key), ('sources',))}")
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
                self.problem((*at, str(key)), f"unknown key{_suggest(str(key), _SOURCE_KEYS)}")
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
                hint = _suggest(str(v), CATEGORIES) if isinstance(v, str) else ""
                self.problem(at, f"{v!r} is not a category{hint}")
            else:
                out.append(v)
        return tuple(out)


def _suggest(word: str, choices: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
