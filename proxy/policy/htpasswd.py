"""Proxy logins: an Apache htpasswd file holding bcrypt hashes only.

Only bcrypt is accepted because every other scheme htpasswd can write (MD5 `$apr1$`, `{SHA}`,
`crypt`, plain text) is fast enough to brute-force from a copied file. Other tools (Apache,
nginx, Squid) can share the same file: we write `$2y$`, the prefix Apache writes itself.

Nothing here logs, stores or puts into an error message a password or a hash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import bcrypt

from vaccine.proxy.errors import Problem, ProblemsError
from vaccine.proxy.util.files import write_atomically

#: Cost of new hashes. Each new credential costs one hash on the proxy (then it is cached);
#: 10 is OWASP's floor and stays well under 100 ms on a small home server.
DEFAULT_ROUNDS = 10
MAX_USER_LENGTH = 64
#: bcrypt only ever looks at the first 72 bytes of a password.
MAX_PASSWORD_BYTES = 72
#: Verified (user, password) pairs remembered per loaded file; a household has few devices.
CACHE_SIZE = 256

_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_USER_BAD = re.compile(r"[:\s]")

# Keys the verification cache: a per-process secret, so the cache holds nothing that would
# let anyone test a password guess offline, even from a memory dump of this process.
_CACHE_KEY = secrets.token_bytes(32)


def validate_user(user: str) -> None:
    """Raise ValueError unless `user` can be a login name in an htpasswd file."""
    if not user:
        raise ValueError("a login name cannot be empty")
    if _USER_BAD.search(user):
        raise ValueError(f"login name {user!r} may not contain ':' or white space")
    if user.startswith("#"):  # the line would read as a comment
        raise ValueError(f"login name {user!r} may not start with '#'")
    if len(user) > MAX_USER_LENGTH:
        raise ValueError(f"login name is longer than {MAX_USER_LENGTH} characters")


def _scheme_problem(hashed: str) -> str:
    """Why an entry is refused, naming the scheme but never echoing the entry itself."""
    if hashed.startswith("$apr1$"):
        scheme = "an MD5 ($apr1$) hash"
    elif hashed.startswith("{SHA}"):
        scheme = "a SHA-1 ({SHA}) hash"
    elif re.match(r"\$(1|5|6|md5|sha1|y|7)\$", hashed):
        scheme = "a crypt() hash"
    elif hashed.startswith("$2"):
        scheme = "a malformed bcrypt hash"
    elif re.fullmatch(r"[./A-Za-z0-9]{13}", hashed):
        scheme = "a DES crypt() hash or a plain-text password"
    else:
        scheme = "not a bcrypt hash (plain text?)"
    return f"{scheme}: only bcrypt is accepted; set it again with `vaccine passwd USER`"


class Htpasswd:
    """The logins of one htpasswd file, as loaded; a reload makes a new object (and cache)."""

    def __init__(self, entries: Mapping[str, bytes], source: Path | None = None):
        self._entries = dict(entries)
        self.source = source
        costs = [int(h[4:6]) for h in entries.values()]
        # Unknown users are checked against a hash of the file's own cost, so the time taken
        # does not tell which users exist. Only the digest is fake: checkpw still hashes.
        self._dummy = bcrypt.gensalt(max(costs, default=DEFAULT_ROUNDS)) + b"." * 31
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = threading.Lock()  # verify() may run in several worker threads
        self._inflight: dict[bytes, asyncio.Future[bool]] = {}

    @classmethod
    def load(cls, path: Path) -> Htpasswd:
        """Read `path`; raise ProblemsError listing every line that is not `user:<bcrypt>`."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ProblemsError([Problem(str(path), None, "not UTF-8 text")]) from None
        except OSError as e:
            raise ProblemsError([Problem(str(path), None, f"cannot read: {e.strerror}")]) from e
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path) -> Htpasswd:
        entries: dict[str, bytes] = {}
        first_line: dict[str, int] = {}
        problems: list[Problem] = []

        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep:
                problems.append(Problem(str(path), lineno, "expected USER:HASH"))
                continue
            try:
                validate_user(user)
            except ValueError as e:
                problems.append(Problem(str(path), lineno, str(e)))
                continue
            if user in first_line:
                message = f"login {user!r} is already defined on line {first_line[user]}"
                problems.append(Problem(str(path), lineno, message))
                continue
            first_line[user] = lineno
            m = _BCRYPT.fullmatch(hashed)
            if not m:
                message = f"login {user!r}: {_scheme_problem(hashed)}"
                problems.append(Problem(str(path), lineno, message))
            elif not 4 <= int(m[1]) <= 31:
                message = f"login {user!r}: bcrypt cost {m[1]} is outside 04-31"
                problems.append(Problem(str(path), lineno, message))
            else:
                entries[user] = hashed.encode("ascii")
        if problems:
            raise ProblemsError(problems)
        return cls(entries, path)

    @property
    def users(self) -> frozenset[str]:
        return frozenset(self._entries)

    def _key(self, user: str, password: str) -> bytes:
        u = user.encode("utf-8", "surrogatepass")
        # The length prefix keeps ("ab", "c") and ("a", "bc") apart.
        msg = len(u).to_bytes(4, "big") + u + password.encode("utf-8", "surrogatepass")
        return hmac.new(_CACHE_KEY, msg, hashlib.sha256).digest()

    def _cached(self, key: bytes) -> bool | None:
        with self._lock:
            ok = self._cache.get(key)
            if ok is not None:
                self._cache.move_to_end(key)
            return ok

    def _remember(self, key: bytes, ok: bool) -> None:
        with self._lock:
            self._cache[key] = ok
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _check(self, user: str, password: str) -> bool:
        # Truncated as classic bcrypt (and Apache) did, so hashes of longer passwords made
        # elsewhere still verify; bcrypt >= 5 raises instead of truncating.
        pw = password.encode("utf-8", "surrogatepass")[:MAX_PASSWORD_BYTES]
        hashed = self._entries.get(user)
        if hashed is None:
            bcrypt.checkpw(pw, self._dummy)
            return False
        try:
            return bcrypt.checkpw(pw, hashed)
        except ValueError:  # a hash that passed our syntax check but not bcrypt's
            return False

    def verify(self, user: str, password: str) -> bool:
        """Whether `password` is `user`'s; blocks for one bcrypt hash unless already cached.

        Failures are cached too: a device retrying a wrong password on every request would
        otherwise cost a hash each time. The answer only changes when the file does, and a
        reload makes a new object.
        """
        key = self._key(user, password)
        ok = self._cached(key)
        if ok is None:
            ok = self._check(user, password)
            self._remember(key, ok)
        return ok

    async def averify(self, user: str, password: str) -> bool:
        """`verify` for the event loop: hashes in a worker thread, never on the loop.

        Browsers open several connections at once with the same credentials; they share one
        hash instead of starting one each. Call it from one event loop only.
        """
        key = self._key(user, password)
        ok = self._cached(key)
        if ok is not None:
            return ok
        fut = self._inflight.get(key)
        if fut is None:
            fut = asyncio.ensure_future(asyncio.to_thread(self.verify, user, password))
            self._inflight[key] = fut
            fut.add_done_callback(lambda _: self._inflight.pop(key, None))
        # One cancelled request must not cancel the hash the others are waiting for.
        return await asyncio.shield(fut)


def parse_proxy_authorization(value: str) -> tuple[str, str]:
    """(user, password) from a `Proxy-Authorization: Basic …` value; ValueError otherwise.

    Error messages never contain the value: it is a password.
    """
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("not Basic credentials")
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ValueError("malformed Basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise ValueError("malformed Basic credentials: expected USER:PASSWORD")
    return user, password


def hash_password(password: str, rounds: int | None = None) -> str:
    """A `$2y$` bcrypt hash of `password`; ValueError when empty or over 72 bytes."""
    pw = password.encode("utf-8")
    if not pw:
        raise ValueError("an empty password is refused")
    if len(pw) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password longer than {MAX_PASSWORD_BYTES} bytes is refused")
    hashed = bcrypt.hashpw(pw, bcrypt.gensalt(rounds or DEFAULT_ROUNDS)).decode("ascii")
    return "$2y$" + hashed[4:]


def set_password(path: Path, user: str, password: str, *, rounds: int | None = None) -> bool:
    """Add or change `user`'s login in `path`; True when the login was added.

    Every other line (other logins, comments, even ones `Htpasswd.load` would refuse) is kept
    in place and in order. The file is replaced atomically, so the proxy, which may reload at
    any moment, never reads half a file. A new file is made readable by its owner only.
    """
    validate_user(user)
    entry = f"{user}:{hash_password(password, rounds)}\n"
    path = Path(os.path.realpath(path))  # edit the target of a symlink, not the link
    try:
        old_text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        old_text = ""
    lines: list[str] = []
    added = True
    for line in old_text.splitlines(keepends=True):
        if line.strip().partition(":")[0] == user:
            if added:
                lines.append(entry)
                added = False
            # else: a second line for the same login makes the file invalid; drop it.
            continue
        lines.append(line)
    if added:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(entry)
    write_atomically(path, "".join(lines).encode("utf-8"))
    return added
