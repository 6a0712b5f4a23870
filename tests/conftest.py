"""Shared fixtures: a fresh database path, a store on it, and the CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from isolation_tui.i18n import set_language
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store

FIXED_NOW = datetime(2026, 11, 29, 9, 30)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("en")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "isolation.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = open_store(db_path, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    yield s
    s.close()


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(db_path: Path) -> CliRunner:
    """Run ``isolation-tui ARGS`` in a real process against ``db_path``."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8"}
        full_env.pop("LC_ALL", None)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "isolation_tui", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )

    return run
