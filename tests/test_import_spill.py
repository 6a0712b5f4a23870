"""A big import holds one batch of records at a time, and stays all-or-nothing.

Between batches the importing process lets go of the records it made (they are in
the entry written beside the journal, see ``storage.spool``): here the batch is made
small, so that a few hundred rows spill several times, and what is stored is
compared with the same file imported in one go.
"""

from __future__ import annotations

import csv
import gc
import tracemalloc
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXED_NOW

from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.headless.check import problems
from isolation_tui.headless.imports import base, import_table
from isolation_tui.headless.imports.kinds import IMPORTERS
from isolation_tui.headless.imports.reading import Row, read_table
from isolation_tui.storage import engine, spool
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.errors import StoreWriteFailed
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, CHECKS, STAYS, TESTS

BATCH = 40
ROWS = 300
# What an import may hold in memory of each row it made (see the test).
PER_ROW_BYTES = 1_800
HEADER = ("point", "name", "id_number", "category", "arrived_at")


def people_csv(path: Path, rows: int, *, bad_last: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(rows):
            number = make_resident_id("210602", date(1950, 1, 1) + timedelta(days=n), n % 1000)
            if bad_last and n == rows - 1:
                number = number[:-1] + ("0" if number[-1] != "0" else "1")
            writer.writerow(("S1", f"旅客{n}", number, "inbound", "2026-11-28 10:00"))
    return path


def new_store(path: Path) -> Store:
    return open_store(path, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)


def set_up(path: Path) -> Store:
    """Point S1 with a room for everyone, and point S0 with one person in isolation
    (whose rounds another session enters)."""
    store = new_store(path)
    rooms = [{"code": str(100 + r), "floor": "1", "beds": 1, "blocked": False} for r in range(400)]
    store.save_point("S1", "大", rooms)  # type: ignore[arg-type]
    store.save_point("S0", "小", [{"code": "1", "floor": "1", "beds": 1, "blocked": False}])  # type: ignore[list-item]
    store.stays.register(
        {
            "point": "S0",
            "name": "在隔",
            "id_number": make_resident_id("210603", date(1960, 1, 1), 1),
            "category": "inbound",
            "arrived_at": "2026-11-27 10:00",
        }
    )
    return store


def imported(store: Store, file: Path, *, dry_run: bool = False) -> Any:
    table = read_table(file, IMPORTERS["arrivals"].columns, IMPORTERS["arrivals"].one_of)
    return import_table(store, "arrivals", table, dry_run=dry_run)


def stored(path: Path) -> dict[str, Any]:
    store = open_store(path, read_only=True)
    try:
        return {table: dict(store.rows(table)) for table in (STAYS, TESTS, AUDIT, CHECKS)}
    finally:
        store.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Batches of :data:`BATCH` rows; yields, row by row, how many audit entries
    and planned tests of the import the importing process held in memory."""
    monkeypatch.setattr(base, "SPILL_ROWS", BATCH)
    held: list[int] = []
    row = base.Importer.row

    def counted(self: base.Importer, line: Any) -> None:
        row(self, line)
        tables = self.store.db.storage.live_tables()
        held.append(len(tables.get(AUDIT, {})) + len(tables.get(TESTS, {})))

    monkeypatch.setattr(base.Importer, "row", counted)
    yield held


def test_a_big_import_holds_one_batch_and_stores_what_one_go_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    # The entry outgrows the snapshot: the import compacts, from the entry's file.
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 4096)
    file = people_csv(tmp_path / "bus.csv", ROWS)
    spilled, whole = tmp_path / "spilled" / "db", tmp_path / "whole" / "db"
    spilled.parent.mkdir()
    whole.parent.mkdir()
    store = set_up(spilled)
    before = len(store.rows(AUDIT)) + len(store.rows(TESTS))
    outcome = imported(store, file)
    assert outcome.problems == [] and outcome.rows == ROWS
    # Each arrival makes five audit entries and four tests: at most one batch of
    # them (and the row being checked) was ever in memory.
    assert max(small_batches) - before <= 9 * (BATCH + 1)
    assert len(small_batches) == ROWS
    # The store that imported reads its entry only when asked.
    journal = spilled.with_name("db-journal")
    assert journal.read_bytes().count(b"\n") == 1, "compacted: the journal holds its header"
    assert len(store.rows(STAYS)) == ROWS + 1
    assert list(problems(store)) == []
    store.close()

    monkeypatch.setattr(base, "SPILL_ROWS", ROWS * 10)
    store = set_up(whole)
    assert imported(store, file).rows == ROWS
    store.close()
    assert stored(spilled) == stored(whole)


def test_a_big_import_refused_or_rehearsed_changes_nothing_and_leaves_no_file(
    tmp_path: Path, small_batches: list[int]
) -> None:
    db = tmp_path / "isolation.db"
    store = set_up(db)
    journal = db.with_name(db.name + "-journal")
    files_before = sorted(p.name for p in tmp_path.iterdir())
    size = journal.stat().st_size
    data = stored(db)

    outcome = imported(store, people_csv(tmp_path / "bad.csv", ROWS, bad_last=True))
    assert [problem.line for problem in outcome.problems] == [ROWS + 1]
    assert imported(store, people_csv(tmp_path / "good.csv", ROWS), dry_run=True).problems == []
    assert journal.stat().st_size == size
    assert stored(db) == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*files_before, "bad.csv", "good.csv"]
    )
    # What the process holds is the stored state again, and it imports as before.
    assert len(store.rows(STAYS)) == 1 and len(store.rows(TESTS)) == 4
    assert imported(store, tmp_path / "good.csv").rows == ROWS
    assert len(store.rows(STAYS)) == ROWS + 1
    assert list(problems(store)) == []
    store.close()


def test_a_big_import_moves_its_ids_after_a_save_made_while_it_spilled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    db = tmp_path / "isolation.db"
    store = set_up(db)
    supervisor = open_store(db, actor=Actor("supervisor"), clock=lambda: FIXED_NOW)
    resident = next(iter(supervisor.open_stays("S0")))
    audit_before = len(store.rows(AUDIT))
    spill = type(store.db.storage).spill
    saves: list[int] = []

    spills: list[int] = []

    def spill_then_save(storage: Any, keep: Any) -> None:
        spill(storage, keep)
        spills.append(1)
        if not saves:
            # Another session stores a round entry (and its audit entry) meanwhile:
            # the import's audit ids move on, its stays and tests do not.
            supervisor.health.record_check(resident, "2026-11-28", "morning", "365")
            saves.append(len(supervisor.rows(CHECKS)))

    monkeypatch.setattr(type(store.db.storage), "spill", spill_then_save)
    outcome = imported(store, people_csv(tmp_path / "bus.csv", ROWS))
    assert outcome.problems == [] and saves == [1]
    # Renumbered, not checked again: the rows were gone through once.
    assert len(spills) == (ROWS - 1) // BATCH
    supervisor.close()
    store.close()

    stored_after_one_save(db, audit_before)


def stored_after_one_save(location: Path | str, audit_before: int) -> None:
    """What an import of :data:`ROWS` arrivals and one round entry saved meanwhile
    leave: every record, the audit's ids without a gap, each entry naming its
    record as it is now, and nothing for ``check`` to say."""
    data = stored(location)  # type: ignore[arg-type]
    assert len(data[CHECKS]) == 1
    audit = data[AUDIT]
    assert len(audit) == audit_before + 1 + 5 * ROWS
    assert sorted(map(int, audit)) == list(range(1, len(audit) + 1))
    for entry in audit.values():
        if entry["action"] == "create" and entry["table"] in data:
            record = data[entry["table"]][str(entry["record"])]
            assert {**entry["after"], "created": record["created"]} == record
    reopened = open_store(location, read_only=True)
    assert list(problems(reopened)) == []
    reopened.close()


def test_a_big_import_is_not_checked_again_for_an_arrival_in_a_room_it_leaves_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    """Another session registers someone at the same point, in a room no row takes,
    while a big import spills: the import is stored in one pass, its stays, their
    tests and its audit entries numbered after the other's, each naming its record."""
    db = tmp_path / "isolation.db"
    store = set_up(db)
    supervisor = open_store(db, actor=Actor("supervisor"), clock=lambda: FIXED_NOW)
    spill = type(store.db.storage).spill
    spills: list[int] = []
    number = make_resident_id("210604", date(1970, 1, 1), 7)

    def spill_then_save(storage: Any, keep: Any) -> None:
        spill(storage, keep)
        spills.append(1)
        if len(spills) == 1:
            arrival = {"point": "S1", "room": "499", "name": "后到", "id_number": number}
            supervisor.stays.register(
                {**arrival, "category": "inbound", "arrived_at": "2026-11-28 11:00"}
            )

    monkeypatch.setattr(type(store.db.storage), "spill", spill_then_save)
    outcome = imported(store, people_csv(tmp_path / "bus.csv", ROWS))
    assert outcome.problems == [] and outcome.rows == ROWS
    assert len(spills) == (ROWS - 1) // BATCH  # one pass over the file
    assert outcome.ids == list(range(3, ROWS + 3))
    supervisor.close()
    store.close()

    data = stored(db)
    assert data[STAYS]["2"]["person"]["id_number"] == number
    assert sorted(map(int, data[STAYS])) == list(range(1, ROWS + 3))
    rooms = [data[STAYS][str(i)]["room"] for i in range(3, ROWS + 3)]
    assert "499" not in rooms and len(set(rooms)) == ROWS
    for test in data[TESTS].values():
        assert test["point"] == data[STAYS][str(test["stay"])]["point"]
    for entry in data[AUDIT].values():
        if entry["action"] == "create" and entry["table"] in data:
            record = data[entry["table"]][str(entry["record"])]
            assert {**entry["after"], "created": record["created"]} == record
    reopened = open_store(db, read_only=True)
    assert list(problems(reopened)) == []
    reopened.close()


def test_a_row_naming_its_room_looks_at_that_room_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placing a row's person in the room it names reads who is in that room, not
    every person in isolation at the point (each row would cost the point's people:
    a big import at a big point, their square)."""
    path = tmp_path / "bus.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow((*HEADER, "room"))
        for n in range(ROWS):
            number = make_resident_id("210602", date(1950, 1, 1) + timedelta(days=n), n % 1000)
            writer.writerow(("S1", f"旅客{n}", number, "inbound", "2026-11-28 10:00", 100 + n))
    store = set_up(tmp_path / "isolation.db")
    walked: list[str | None] = []
    open_stays = Store.open_stays

    def counted(self: Store, point_code: str | None) -> dict[int, Any]:
        walked.append(point_code)
        return open_stays(self, point_code)

    monkeypatch.setattr(Store, "open_stays", counted)
    outcome = imported(store, path)
    assert outcome.problems == [] and outcome.rows == ROWS
    assert walked == []
    rooms = {stay["room"] for stay in store.rows(STAYS).values() if stay["point"] == "S1"}
    assert rooms == {str(100 + n) for n in range(ROWS)}
    store.close()


def test_a_temp_file_spoiled_by_someone_else_is_not_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_batches: list[int]
) -> None:
    """Another member of the folder's group overwrites a few bytes of the import's
    temp file while it grows: the import is refused, naming the file, and the
    journal is as it was, so every command still reads the database."""
    db = tmp_path / "isolation.db"
    store = set_up(db)
    journal = db.with_name(db.name + "-journal")
    before, data = journal.read_bytes(), stored(db)
    spill = type(store.db.storage).spill
    spoiled: list[Path] = []

    def spill_then_spoil(storage: Any, keep: Any) -> None:
        spill(storage, keep)
        if not spoiled:
            (temp,) = tmp_path.glob(f"{journal.name}.tmp*")
            with temp.open("r+b") as fh:  # as another process would: a file of its own
                fh.seek(100)
                fh.write(b"XXXX")
            spoiled.append(temp)

    monkeypatch.setattr(type(store.db.storage), "spill", spill_then_spoil)
    with pytest.raises(StoreWriteFailed) as refused:
        imported(store, people_csv(tmp_path / "bus.csv", ROWS))
    assert str(spoiled[0]) in str(refused.value)
    assert "nothing was imported" in str(refused.value)
    store.close()
    assert journal.read_bytes() == before
    assert stored(db) == data
    assert not list(tmp_path.glob(f"{journal.name}.tmp*"))
    reopened = open_store(db, read_only=True)
    assert list(problems(reopened)) == []
    reopened.close()


def test_a_big_import_holds_one_row_of_its_file_at_a_time(
    tmp_path: Path, small_batches: list[int]
) -> None:
    """The file is split into rows as they are checked, not all before: what the
    process holds of it is the file's bytes and the row being checked."""
    store = set_up(tmp_path / "isolation.db")
    file = people_csv(tmp_path / "bus.csv", ROWS)
    table = read_table(file, IMPORTERS["arrivals"].columns, IMPORTERS["arrivals"].one_of)
    assert len(table.rows) == ROWS
    held: list[int] = []
    spill = type(store.db.storage).spill

    def counting(storage: Any, keep: Any) -> None:
        held.append(sum(isinstance(thing, Row) for thing in gc.get_objects()))
        spill(storage, keep)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(store.db.storage), "spill", counting)
        assert import_table(store, "arrivals", table).rows == ROWS
    assert len(held) == (ROWS - 1) // BATCH
    assert max(held) <= 1
    assert len(store.rows(STAYS)) == ROWS + 1
    store.close()


def traced_peak(tmp_path: Path, rows: int, rooms: int) -> int:
    """The most memory an import of ``rows`` arrivals took, from reading its file to
    storing it, beyond what the process held before (the store open), at a point
    of ``rooms`` rooms."""
    store = new_store(tmp_path / f"{rows}.db")
    beds = [{"code": str(r), "floor": "1", "beds": 1, "blocked": False} for r in range(rooms)]
    store.save_point("S1", "大", beds)  # type: ignore[arg-type]
    file = people_csv(tmp_path / f"{rows}.csv", rows)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        table = read_table(file, IMPORTERS["arrivals"].columns, IMPORTERS["arrivals"].one_of)
        # Reading takes a buffer as big as a file may be, let go of at once.
        tracemalloc.reset_peak()
        assert import_table(store, "arrivals", table).rows == rows
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        store.close()
    return peak - before


def test_what_a_big_import_holds_of_each_row_is_little(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each row leaves in memory only what later rows check (who is where, in
    compact form), and the store is never held twice: the import's peak grows by
    little a row, for 500 or 2,500 people at a point with a room for each (as in
    ``benchmarks/bench_import.py``). Before, each row held its cells, a stay and
    its index entries, and the store was read again beside them: 4 KB a row (1.5 now)."""
    # Both compact, from the entry's file: what that holds counts too (a chunk of
    # its operations at a time: a small one here, for what grows to show).
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 4096)
    monkeypatch.setattr(spool, "CHUNK_OPS", 50)
    small, big = traced_peak(tmp_path, 500, 501), traced_peak(tmp_path, 2_500, 2_501)
    per_row = (big - small) / 2_000
    assert per_row < PER_ROW_BYTES, f"{per_row:.0f} bytes a row"
