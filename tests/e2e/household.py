"""A household (policies + lists + logins) written into a test's temporary directory.

Paths in settings.yaml are absolute, so nothing depends on the current directory and the
database can only land inside the test's directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import bcrypt
import yaml


class Household:
    def __init__(self, root: Path):
        self.root = root
        self.policies = root / "policies"
        self.lists = root / "lists"
        self.db = root / "var" / "vaccine.db"
        self.htpasswd = self.policies / "users.htpasswd"
        for d in (self.policies, self.lists / "local", self.db.parent):
            d.mkdir(parents=True, exist_ok=True)

    def profile_path(self, profile_id: str) -> Path:
        return self.policies / f"{profile_id}.yaml"

    def list_path(self, category: str) -> Path:
        return self.lists / "local" / f"{category}.txt"

    def write_settings(self, **settings: Any) -> Path:
        data: dict[str, Any] = {
            "database": str(self.db),
            "blocklists": str(self.lists),
            "unknown_devices": "guest",
            "help_line": "Childline 0800 1111",
            "never_decrypt": ["banking", "health"],
        }
        data.update(settings)
        return self.write(self.policies / "settings.yaml", data)

    def write_profile(self, profile_id: str, data: dict[str, Any] | str) -> Path:
        return self.write(self.profile_path(profile_id), data)

    def write_list(self, category: str, domains: list[str]) -> Path:
        return self.write(self.list_path(category), "".join(f"{d}\n" for d in domains))

    def write_terms(self, category: str, lines: list[str]) -> Path:
        """A search-terms list, `<lists>/terms/<category>.txt` (format: proxy/lists/words/)."""
        (self.lists / "terms").mkdir(exist_ok=True)
        text = "".join(f"{t}\n" for t in lines)
        return self.write(self.lists / "terms" / f"{category}.txt", text)

    def write_logins(self, logins: dict[str, str]) -> Path:
        """An htpasswd file of bcrypt entries (4 rounds: fast, and still real bcrypt)."""
        lines = [
            f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
            for user, pw in logins.items()
        ]
        return self.write(self.htpasswd, "".join(lines))

    def write(self, path: Path, content: dict[str, Any] | str) -> Path:
        """Replace a file in one step (a watcher never reads half of it)."""
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        )
        tmp = self.root / f".{path.name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    def rewrite_in_place(self, path: Path, old: str, new: str) -> None:
        """Swap `old` for the same-length `new`, keeping size and mtime (and inode).

        A watcher comparing size and mtime cannot see this change; only SIGHUP can apply it.
        """
        assert len(old) == len(new), "same length, so the size does not change"
        st = path.stat()
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {path}"
        with path.open("r+", encoding="utf-8") as f:
            f.write(text.replace(old, new))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert path.stat().st_size == st.st_size
