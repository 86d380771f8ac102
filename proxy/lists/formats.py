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
from typing import IO
from urllib.parse import unquote

from vaccine.proxy.errors import Problem
from vaccine.proxy.hosts import BadHost, normalise_host
from vaccine.proxy.util.words import plural

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
            out.append(
                Problem(name, None, f"…and {plural(more, 'more junk line')}", severity="warning")
            )
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


def count_entries(path: Path, kind: str = "domains") -> tuple[int, int]:
    """(entries, junk lines) of a list file, read as the loader reads it but kept nowhere:
    an update checks a download of millions of lines before it replaces anything."""
    entries = junk = 0
    for _, lines in line_chunks(path):
        for line in lines:
            if kind == "domains":
                if _CLEAN(line) is not None:
                    entries += 1
                elif line:
                    names, problem = domain_line(line)
                    entries += len(names)
                    junk += bool(problem) and problem != "ignored"
            else:
                entry, problem = url_line(line)
                entries += bool(entry)
                junk += bool(problem)
    return entries, junk
