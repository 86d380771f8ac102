"""Expected failures and the `FILE:LINE: message` problem records every loader reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file.

    ``line`` is 1-based and only set where the parser knew it: a made-up line number is worse
    than none. ``key`` is the dotted path inside a YAML document (``schedule.bedtime.from``).
    """

    file: str
    line: int | None
    message: str
    key: str = ""
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


class VaccineError(Exception):
    """An expected failure: the CLI prints it on one line and exits 1, no traceback."""


class ProblemsError(VaccineError):
    """Input files are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
