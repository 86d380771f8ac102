"""Fixtures for the dashboard's tests: a seeded week (made once, copied per test, since some
tests answer requests), a copy of the shipped policies, and apps at the frozen `NOW`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from vaccine.dashboard.app import DashboardApp
from vaccine.dashboard.source import LogSource

from .seed import NOW, household, seed_log

MakeApp = Callable[..., DashboardApp]


@pytest.fixture(scope="session")
def seeded_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seeded")
    db = folder / "log.db"
    seed_log(db, household(folder))
    return db


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    return household(tmp_path)


@pytest.fixture
def seeded(seeded_master: Path, tmp_path: Path) -> Path:
    """This test's own copy of the seeded log (every connection to it is closed, so the
    file is whole without its WAL)."""
    db = tmp_path / "log.db"
    shutil.copyfile(seeded_master, db)
    return db


@pytest.fixture
def make_app(policies: Path) -> MakeApp:
    def make(db: Path, *, language: str = "en", theme: str = "textual-dark") -> DashboardApp:
        # poll 0: no timer; the first look happens at start, and tests wait for it
        return DashboardApp(LogSource(db, policies), 0, clock=lambda: NOW, language=language,
                            theme=theme)  # fmt: skip

    return make
