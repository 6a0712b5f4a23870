"""Shared fixtures: a fresh database path, a store on it, and the CLI as a real process.

``location`` and ``any_store`` run a test on both stores: a file, and a fresh
database on a PostgreSQL server the test session starts itself (see ``pg_server``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pg_server import Server, running_server

from isolation_tui.headless.demo import run_demo
from isolation_tui.i18n import set_language
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.database import Database
from isolation_tui.storage.repository import Store, open_store

FIXED_NOW = datetime(2026, 11, 29, 9, 30)


class Clock:
    """A clock a test sets and moves: give it to a store as ``clock=``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    """A flow run once in each language."""
    set_language(request.param)
    yield request.param
    set_language("en")


@pytest.fixture
def chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("en")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "isolation.db"


STORES = ("file", "postgres")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # xdist hands tests out in this order: a test of minutes handed out last would
    # run on one worker alone after the other has finished.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``both_stores`` (itself, or its module by ``pytestmark``) whose
    database is opened at ``store_location`` (``store`` and the fixtures built on it)
    runs once per store; one also marked ``one_store`` stays on the file (it looks at
    the file store's own files, or at the screen alone)."""
    test = metafunc.definition
    if (
        "store_location" in metafunc.fixturenames
        and test.get_closest_marker("both_stores")
        and not test.get_closest_marker("one_store")
    ):
        metafunc.parametrize("store_location", STORES, indirect=True)


def _database(kind: str, request: pytest.FixtureRequest, db_path: Path) -> str:
    if kind == "file":
        return str(db_path)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store_location(request: pytest.FixtureRequest, db_path: Path) -> str:
    """The ``--db`` value ``store`` opens: ``db_path``, or in a ``both_stores`` test
    each store in turn."""
    return _database(getattr(request, "param", "file"), request, db_path)


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """A PostgreSQL server for this test session (or xdist worker). No PostgreSQL on
    the machine is an error, never a skip."""
    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """A fresh, empty PostgreSQL database, reached as an ordinary role."""
    return pg_server.new_database()


@pytest.fixture(params=STORES)
def location(request: pytest.FixtureRequest, db_path: Path) -> str:
    """The ``--db`` value of a fresh database, once per store."""
    return _database(request.param, request, db_path)


@pytest.fixture
def any_store(location: str) -> Iterator[Store]:
    """Like ``store``, on each store in turn."""
    s = open_store(location, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    yield s
    s.close()


def stored_seq(store: Store) -> int:
    """The last transaction committed to ``store``'s database, as a fresh session
    reads it (on either store): unchanged when nothing was written."""
    fresh = Database(store.db.storage.path, read_only=True)
    try:
        return fresh.storage.seq
    finally:
        fresh.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scale-1 demo per test session (or xdist worker), written once: tests take
    copies of its files (``copy_demo``) and never open the template itself."""
    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    assert run_demo(path, force=False, scale=1) == 0
    return path


def copy_demo(template: Path, db: Path) -> Path:
    """The demo as a database of its own at ``db``: real copies of the template's files
    (the snapshot, and whatever else the demo wrote beside it), renamed to ``db``'s."""
    db.parent.mkdir(parents=True, exist_ok=True)
    for file in template.parent.iterdir():
        shutil.copy(file, db.with_name(db.name + file.name.removeprefix(template.name)))
    return db


@pytest.fixture(scope="module")
def demo_db(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scale-1 demo shared by a module's read-only checks (a copy of the template)."""
    return copy_demo(demo_template, tmp_path_factory.mktemp("demo") / "demo.db")


@pytest.fixture
def one_person(store: Store) -> Store:
    """One person due home today (arrived 14 days ago): tests on days 1, 4, 7, 14."""
    rooms = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]
    store.save_point("DD01", "一号点", rooms)
    store.stays.register(
        {
            "point": "DD01",
            "name": "李四",
            "id_type": "passport",
            "id_number": "E1234567",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
        }
    )
    return store


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own, and a working directory apart from it."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DOCUMENTS_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(work)
    return home


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(store_location: str) -> CliRunner:
    """Run ``isolation-tui ARGS`` in a real process against ``store_location`` (the
    database ``store`` opens; ``db_path`` unless the test runs on both stores)."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "ISOLATION_TUI_DB": store_location, "LANG": "C.UTF-8"}
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


def start_in_terminal(db_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``isolation-tui ARGS`` in a real terminal (a pseudo-terminal at 80×24): the
    process and the terminal's side to read its screen from and type into."""
    import fcntl
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "isolation_tui", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    return process, main
