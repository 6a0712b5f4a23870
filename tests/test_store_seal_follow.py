"""A seal made by another process reaches a running session through the journal: the
seal's entry names its segments and what left the live set, so the session drops
those records and switches to the new snapshot's journal as after any compaction,
reading no snapshot again, and then holds exactly what a fresh open holds. A seal
killed once its entry is written leaves the sealed state whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIXED_NOW
from test_store_seal import history

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.segments import segment_files
from isolation_tui.storage.tables import STAYS


@pytest.fixture
def hist_db(store: Store, db_path: Path) -> tuple[Path, dict[str, int]]:
    ids = history(store)
    store.close()
    return db_path, ids


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every time a process here reads a snapshot whole (opening, or reading again)."""
    seen: list[Path] = []
    real = JournalStorage._load_once

    def spy(self: JournalStorage) -> None:
        seen.append(self.path)
        real(self)

    monkeypatch.setattr(JournalStorage, "_load_once", spy)
    return seen


def session(path: Path) -> Store:
    return open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)


def seal_elsewhere(path: Path, until: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "isolation_tui", "seal", "--until", until, "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def plain(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def held(store: Store) -> dict[str, Any]:
    """What a session holds: the live set, the sealed history's headers and what
    they leave out, and its indexes and counters."""
    storage = store.db.storage
    assert isinstance(storage, JournalStorage)
    index = store._index
    return {
        "live": plain(storage.live_tables()),
        "headers": plain([(p.name, h) for p, h in storage.segment_headers()]),
        "outside": plain(storage.sealed_outside()),
        "sealed_max": storage._sealed_max,
        "tag": storage._sealed_tag,
        "max_ids": {table: storage.max_id(table) for table in storage.live_tables()},
        "tally": {point: +counts for point, counts in index.tally.items() if +counts},
        "open_by_person": index.open_by_person,
        "in_room": index.in_room,
        "ids_at": {where: ids for where, ids in index.ids_at.items() if ids},
        "check_of": index.check_of,
        "tests_of": {stay: ids for stay, ids in index.tests_of.items() if ids},
        "incidents_of": {stay: ids for stay, ids in index.incidents_of.items() if ids},
    }


def fresh(path: Path) -> Iterator[Store]:
    store = session(path)
    try:
        yield store
    finally:
        store.close()


@pytest.mark.parametrize(
    ("first", "then"),
    [(None, "2026-11"), ("2026-10", "2026-11")],
    ids=["first seal", "a later seal"],
)
@pytest.mark.parametrize("how", ["a save", "a refresh"])
def test_a_session_takes_a_seal_made_elsewhere_without_reading_the_snapshot(
    hist_db: tuple[Path, dict[str, int]],
    loads: list[Path],
    first: str | None,
    then: str,
    how: str,
) -> None:
    path, ids = hist_db
    if first:
        seal_elsewhere(path, first)
    store = session(path)
    try:
        loads.clear()
        seal_elsewhere(path, then)
        if how == "a save":
            store.stays.correct(ids["open"], {"notes": "复查"}, "补充")
        else:
            taken = store.refresh()
            assert taken and not taken.reloaded
        assert loads == []  # the seal came from its entry: no snapshot read again
        mine = held(store)
        for other in fresh(path):
            assert mine == held(other)
            assert len(mine["headers"]) == 2
            assert plain(store.db.storage.tables()) == plain(other.db.storage.tables())
    finally:
        store.close()


def test_a_session_with_history_read_in_keeps_it_through_a_seal(
    hist_db: tuple[Path, dict[str, int]], loads: list[Path]
) -> None:
    path, ids = hist_db
    seal_elsewhere(path, "2026-10")
    store = session(path)
    try:
        store.db.storage.tables()  # history read in (an export, a correction of it)
        loads.clear()
        seal_elsewhere(path, "2026-11")
        store.stays.correct(ids["open"], {"notes": "复查"}, "补充")
        assert loads == []
        headers = [(p.name, h) for p, h in store.db.storage.segment_headers()]
        for other in fresh(path):
            assert plain(store.db.storage.tables()) == plain(other.db.storage.tables())
            assert headers == [(p.name, h) for p, h in other.db.storage.segment_headers()]
        # Its next compaction keeps the history sealed: the snapshot lists both months.
        store.db.storage.compact()
    finally:
        store.close()
    for other in fresh(path):
        assert len(other.db.storage.segment_headers()) == 2
        assert str(ids["october"]) not in other.db.storage.live_tables()[STAYS]


KILLED_AFTER_ENTRY = textwrap.dedent(
    """
    import os, signal, sys
    from isolation_tui.storage import engine
    from isolation_tui.storage.index import MARKS
    from isolation_tui.storage.repository import open_store
    from isolation_tui.storage.sealing import seal_history

    def killed(self, *args):
        os.kill(os.getpid(), signal.SIGKILL)

    engine.JournalStorage._put_in_place = killed
    store = open_store(sys.argv[1])
    seal_history(store.db.storage, "2026-11", MARKS)
    """
)


def test_a_seal_killed_once_its_entry_is_written_is_made(
    hist_db: tuple[Path, dict[str, int]], loads: list[Path]
) -> None:
    """Killed after its segments and its entry, before its snapshot: the journal
    lists the segments, every session reads the history sealed, and the next
    compaction's snapshot lists them."""
    path, ids = hist_db
    store = session(path)
    before = plain(store.db.storage.tables())
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_ENTRY, str(path)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    try:
        loads.clear()
        assert store.refresh()
        assert loads == []
        for other in fresh(path):
            assert held(store) == held(other)
            assert len(other.db.storage.segment_headers()) == 2
            assert other.db.storage.stray_segments() == []
            assert plain(other.db.storage.tables()) == before
        check = subprocess.run(
            [sys.executable, "-m", "isolation_tui", "check", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        # A later seal finds nothing left and removes nothing listed.
        seal_elsewhere(path, "2026-11")
        assert len(segment_files(path)) == 2
        store.stays.correct(ids["open"], {"notes": "复查"}, "补充")
        store.db.storage.compact()
    finally:
        store.close()
    for other in fresh(path):
        assert len(other.db.storage.segment_headers()) == 2
        assert str(ids["september"]) not in other.db.storage.live_tables()[STAYS]
        assert other.get(STAYS, ids["open"])["notes"] == "复查"
