"""`lists:` in settings.yaml: fetching at start and the refresh schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaccine.proxy.policy.load import load_settings


def settings(tmp_path: Path, text: str) -> tuple[object, list[str]]:
    (tmp_path / "settings.yaml").write_text(text)
    s, problems = load_settings(tmp_path)
    return s, [str(p).split(": ", 1)[1] for p in problems]


@pytest.mark.parametrize(
    ("text", "fetch", "minutes"),
    [
        ("", True, 24 * 60),
        ("lists: {fetch_on_start: false}\n", False, 24 * 60),
        ("lists: {refresh: weekly}\n", True, 7 * 24 * 60),
        ("lists: {refresh: 12h}\n", True, 12 * 60),
        ("lists: {refresh: 2d}\n", True, 2 * 24 * 60),
        ("lists: {refresh: off}\n", True, 0),  # YAML reads `off` as false
        ("lists: {refresh: hourly}\n", True, 60),
    ],
)
def test_lists_settings(tmp_path: Path, text: str, fetch: bool, minutes: int) -> None:
    s, problems = settings(tmp_path, text)
    assert problems == []
    assert (s.fetch_on_start, s.refresh_minutes) == (fetch, minutes)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lists: {refresh: 5m}\n", 'lists.refresh: "5m" is too often: at least 15m'),
        ("lists: {refresh: sometimes}\n", 'lists.refresh: "sometimes" is not daily, weekly'),
        ("lists: {refesh: daily}\n", "lists: unknown key 'refesh'; did you mean 'refresh'?"),
        ("lists: {fetch_on_start: maybe}\n", 'lists.fetch_on_start: "maybe" is not true or'),
    ],
)
def test_bad_lists_settings(tmp_path: Path, text: str, message: str) -> None:
    s, problems = settings(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith(message), problems
    assert s.refresh_minutes == 24 * 60  # type: ignore[attr-defined]
