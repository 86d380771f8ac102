"""Search terms: is a search query about a blocked term category (`search_terms:`)?

The lists live in `proxy/lists/words/<category>.txt`, one term a line (each shipped file explains
the format at its top): a word or a phrase, `exact: …` for a phrase that must keep its
diacritics, `allow: …` for words that mark a query as seeking help (a query holding one is
never blocked for that file's category), a trailing `*` for "any ending of the last word".

Normalisation (`normalise_query`), applied to terms and queries alike:

- Unicode compatibility forms folded (full-width letters, ligatures), zero-width and other
  format characters deleted (so `p\u200born` is `porn`), case folded;
- diacritics stripped, Vietnamese tone marks included, and the letters that carry no
  combining mark folded by hand: ł→l, đ→d, ø→o, æ→ae, œ→oe, ß→ss;
- everything that is not a letter or a digit separates words (`+ - _ . , / |`, quotes, …);
- simple leetspeak, only inside a word that also holds a letter: 0→o 1→i 3→e 4→a 5→s 7→t
  @→a $→s. So `s3x`, `p0rn` and `$ex` are caught while `2024`, `covid 19` and `top 10` stay
  numbers. A word such as `mp3` becomes `mpe`; that only matters if a list held `mpe`.

Matching is by whole words: a term is a sequence of words and matches the same sequence in the
query, so `sex` never matches `sussex` and `self-harm` matches `self harm`, `SELF_harm`,
`self.harm`. The lookup is a dict per n-gram of the query (n up to the longest term), not a
regex per term. A few extra spellings of the query are also tried: `1` read as `l` (`k1ll`),
runs of three or more single letters joined (`p o r n`), and letters repeated three or more
times squeezed to one (`seeeex`).

`exact:` terms exist for Vietnamese, whose words without their marks are often other common
words (`tự tử`, suicide, is `tu tu` — and so is `từ từ`, slowly). They match only the same
letters with the same marks; where a tone mark sits (`khỏa` / `khoả`) does not matter.

`match` returns a category, never the term: the term is not logged anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from vaccine.proxy.errors import Problem
from vaccine.proxy.policy.model import CATEGORIES

#: The order in which a query hitting several categories is reported: self_harm first, because
#: its page is the one with the help line and gentle words.
PRIORITY: tuple[str, ...] = ("self_harm",) + tuple(c for c in CATEGORIES if c != "self_harm")

_FOLD = str.maketrans(
    {"ł": "l", "đ": "d", "ð": "d", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th",
     "ħ": "h", "ŧ": "t", "ŀ": "l"}
)  # fmt: skip
_LEET_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                         "@": "a", "$": "s"})  # fmt: skip
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t",
                         "@": "a", "$": "s"})  # fmt: skip
_SYMBOLS = "@$"
_REPEATS = re.compile(r"(.)\1\1+")
_ASCII_WORD = re.compile(r"[a-z0-9@$]+")
_MIN_WORD = 3  # a one-word term shorter than this would block ordinary queries
_MIN_STEM = 4  # `sex*` would match sextant and sexton


def blocked_detail(category: str) -> str:
    """What the decision and the log say: the category, never the words."""
    return f"search blocked: {category}"


# --- normalisation ------------------------------------------------------------------------------


def _decompose(text: str) -> str:
    s = unicodedata.normalize("NFKD", text).casefold()
    s = unicodedata.normalize("NFKD", s)  # casefold can compose again (`ǰ`)
    return "".join(c for c in s if unicodedata.category(c) != "Cf")


def _words(text: str) -> list[str]:
    """Decomposed words: runs of letters, digits, marks and the leetspeak symbols."""
    out: list[str] = []
    cur: list[str] = []
    for c in _decompose(text):
        if c.isalnum() or c in _SYMBOLS or unicodedata.combining(c):
            cur.append(c)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def _finish(base: str, leet: dict[int, str]) -> str:
    """Leetspeak inside words holding a letter; bare symbols dropped from the rest."""
    if base.isalpha():
        return base
    if any(c.isalpha() for c in base):
        return base.translate(leet)
    return "".join(c for c in base if c not in _SYMBOLS)


def _tokens(text: str, one: str = "i") -> tuple[list[str], list[str]]:
    """The query's words twice: marks stripped, and marks kept (for `exact:` terms)."""
    leet = _LEET_I if one == "i" else _LEET_L
    if text.isascii():  # most queries: no marks, so both lists are the same
        words = [f for f in (_finish(w, leet) for w in _ASCII_WORD.findall(text.lower())) if f]
        return words, words
    stripped: list[str] = []
    exact: list[str] = []
    for w in _words(text):
        letters = "".join(c for c in w if not unicodedata.combining(c))
        plain = _finish(letters.translate(_FOLD), leet)
        if not plain:
            continue
        # Marks go after the letters, sorted, so where a tone mark sits does not matter.
        marks = "".join(sorted(c for c in w if unicodedata.combining(c)))
        stripped.append(plain)
        exact.append(_finish(letters, leet) + marks)
    return stripped, exact


def normalise_query(text: str) -> str:
    """The query as terms are matched against it: see the module's docstring."""
    return " ".join(_tokens(text)[0])


def _joined(words: list[str]) -> list[str]:
    """Runs of three or more single-character words joined: `p o r n` → `porn`."""
    out: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if len(w) == 1:
            run.append(w)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if w:
            out.append(w)
    return out


def _squeezed(words: list[str]) -> list[str]:
    """A character repeated three or more times kept once: `seeeex` → `sex`."""
    return [_REPEATS.sub(r"\1", w) for w in words]


# --- the matcher --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Phrases (words joined by one space) → categories; wildcard phrases end in `stem*`."""

    phrases: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    longest: int = 0
    stem_lengths: tuple[int, ...] = ()

    @classmethod
    def build(cls, entries: Iterable[tuple[tuple[str, ...], bool, str]]) -> _Table:
        phrases: dict[str, set[str]] = {}
        longest = 0
        stems: set[int] = set()
        for words, wildcard, category in entries:
            key = " ".join(words) + ("*" if wildcard else "")
            phrases.setdefault(key, set()).add(category)
            longest = max(longest, len(words))
            if wildcard:
                stems.add(len(words[-1]))
        frozen = {k: frozenset(v) for k, v in phrases.items()}
        return cls(MappingProxyType(frozen), longest, tuple(sorted(stems)))

    def hits(self, words: list[str]) -> set[str]:
        found: set[str] = set()
        get = self.phrases.get
        for i in range(len(words)):
            head = ""
            for n in range(min(self.longest, len(words) - i)):
                word = words[i + n]
                for size in self.stem_lengths:
                    if size > len(word):
                        break
                    cats = get(f"{head}{word[:size]}*")
                    if cats:
                        found |= cats
                head += word
                cats = get(head)
                if cats:
                    found |= cats
                head += " "
        return found


@dataclass(frozen=True)
class Terms:
    """An immutable matcher over every loaded terms file."""

    words: _Table = field(default_factory=_Table)
    exact: _Table = field(default_factory=_Table)
    allow: _Table = field(default_factory=_Table)
    categories: frozenset[str] = frozenset()

    def match(self, query: str, categories: frozenset[str]) -> str | None:
        """The category (never the term) of the first blocked term in `query`, or None."""
        wanted = categories & self.categories
        if not wanted or not query:
            return None
        stripped, exact = _tokens(query)
        hits = self.words.hits(stripped) | self.exact.hits(exact)
        for variant in self._variants(query, stripped):
            hits |= self.words.hits(variant)
        hits &= wanted
        if hits:
            hits -= self.allow.hits(stripped)
        for category in PRIORITY:
            if category in hits:
                return category
        return None

    @staticmethod
    def _variants(query: str, stripped: list[str]) -> list[list[str]]:
        out = []
        if "1" in query:
            ell = _tokens(query, one="l")[0]
            if ell != stripped:
                out.append(ell)
        for variant in (_joined(stripped), _squeezed(stripped)):
            if variant != stripped:
                out.append(variant)
        return out

    def __len__(self) -> int:
        return len(self.words.phrases) + len(self.exact.phrases)


EMPTY_TERMS = Terms()


# --- loading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One usable line of a terms file."""

    category: str
    kind: str  # "term" | "exact" | "allow"
    words: tuple[str, ...]
    wildcard: bool = False


def parse_line(text: str) -> tuple[Entry | None, str]:
    """One line (category left empty) → an entry, or None and why ("" for comments/blanks)."""
    line = text.split("#", 1)[0].strip()
    if not line:
        return None, ""
    kind = "term"
    head, colon, rest = line.partition(":")
    if colon and head.strip().lower() in ("exact", "allow"):
        kind = head.strip().lower()
        line = rest.strip()
    wildcard = line.endswith("*")
    if wildcard:
        line = line[:-1]
    if "*" in line:
        return None, "'*' may only end the last word"
    if wildcard and kind == "exact":  # an exact word keeps its marks after its letters
        return None, "'exact:' terms cannot end in '*'"
    stripped, exact = _tokens(line)
    words = exact if kind == "exact" else stripped
    if not words:
        return None, "nothing left to match once normalised"
    if kind == "allow":
        return Entry("", kind, tuple(words), wildcard), ""
    if all(w.isdigit() for w in stripped):
        return None, "numbers alone would block ordinary searches"
    if len(words) == 1 and len(stripped[0]) < _MIN_WORD and not wildcard:
        return None, f"a one-word term needs at least {_MIN_WORD} letters"
    if wildcard and len(stripped[-1]) < _MIN_STEM:
        return None, f"a word ending in '*' needs at least {_MIN_STEM} letters before it"
    if kind == "exact" and words == stripped:
        return None, "'exact:' is for words with diacritics; this one has none"
    return Entry("", kind, tuple(words), wildcard), ""


def read_terms(path: Path, category: str) -> tuple[list[Entry], list[Problem]]:
    """One `<category>.txt` file. Every problem is a warning: a bad line is skipped alone."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return [], [
            Problem(name, None, f"cannot read ({e.strerror}); not applied", severity="warning")
        ]
    entries: list[Entry] = []
    problems: list[Problem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for lineno, raw in enumerate(data.splitlines(), 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, lineno, "not UTF-8; line skipped", severity="warning"))
            continue
        entry, why = parse_line(text)
        if entry is not None:
            entries.append(Entry(category, entry.kind, entry.words, entry.wildcard))
        elif why:
            problems.append(Problem(name, lineno, f"{why}; line skipped", severity="warning"))
    return entries, problems


def build_terms(entries: Iterable[Entry]) -> Terms:
    entries = list(entries)
    tables = {
        kind: _Table.build((e.words, e.wildcard, e.category) for e in entries if e.kind == kind)
        for kind in ("term", "exact", "allow")
    }
    categories = frozenset(e.category for e in entries if e.kind != "allow")
    return Terms(tables["term"], tables["exact"], tables["allow"], categories)


def load_terms(folder: Path) -> tuple[Terms, list[Problem]]:
    """Every `<category>.txt` in `folder` (normally `proxy/lists/words/`).

    A missing folder is no problem (no terms). A file named after no product category is
    reported and skipped; other files (README.md, hidden ones) are not ours and are ignored.
    """
    if not folder.is_dir():
        return EMPTY_TERMS, []
    entries: list[Entry] = []
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix != ".txt" or not path.is_file():
            continue
        if path.stem not in CATEGORIES:
            message = f"'{path.stem}' is not a category; file ignored"
            problems.append(Problem(str(path), None, message, severity="warning"))
            continue
        found, trouble = read_terms(path, path.stem)
        entries += found
        problems += trouble
    return build_terms(entries), problems
