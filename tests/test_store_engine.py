"""The journaled TinyDB store in one process, on real files.

Every check reads the files back (a fresh ``Database`` on the same path, or the
journal parsed here independently of the engine's own parser), so what is proven is
what is on disk, not what happens to be in memory.
"""

from __future__ import annotations

import json
import os
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tinydb import Query
from tinydb.table import Document

from isolation_tui.storage import engine
from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import SchemaTooNew, StoreMissing, StoreReadOnly
from isolation_tui.storage.journal import decode_snapshot, encode_snapshot
from isolation_tui.storage.rebase import rebase_unless_read

Q = Query()


# ---------------------------------------------------------------- helpers


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def lock_of(path: Path) -> Path:
    return path.with_name(path.name + "-lock")


def read_journal(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """(base seq, entries) parsed here, independently of the engine; strict."""
    raw = journal_of(path).read_bytes()
    header, _, rest = raw.partition(b"\n")
    magic, version, base, db_id = header.split(b" ")
    assert magic == b"ISOLATION-TUI-JOURNAL"
    assert version == b"1"
    assert db_id == json.loads(path.read_bytes().partition(b"\n")[2])["db_id"].encode()
    assert rest == b"" or rest.endswith(b"\n"), "journal has a torn tail"
    entries = []
    for line in rest.splitlines():
        checksum, _, payload = line.partition(b" ")
        assert checksum == f"{zlib.crc32(payload):08x}".encode()
        entries.append(json.loads(payload))
    return int(base), entries


def contents(db: Database) -> dict[str, dict[int, dict[str, Any]]]:
    """Every table's documents by id, through TinyDB's API (empty tables left out)."""
    out = {}
    for name in sorted(db.tables()):
        docs = {doc.doc_id: dict(doc) for doc in db.table(name).all()}
        if docs:
            out[name] = docs
    return out


def on_disk(path: Path) -> dict[str, dict[int, dict[str, Any]]]:
    """What a brand-new process would see."""
    fresh = Database(path)
    try:
        return contents(fresh)
    finally:
        fresh.close()


def file_states(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    """Bytes, mode and mtime of every file in ``directory``."""
    out = {}
    for p in sorted(directory.iterdir()):
        st = p.stat()
        out[p.name] = (p.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    d = Database(db_path, create=True, who="tester@local")
    yield d
    d.close()


# ---------------------------------------------------------------- journaling


def test_every_tinydb_write_is_one_durable_journal_entry(db: Database, db_path: Path) -> None:
    people = db.table("people")
    rooms = db.table("rooms")

    def last_entry() -> dict[str, Any]:
        _, entries = read_journal(db_path)
        assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
        assert db.storage.seq == len(entries)
        return entries[-1]

    assert people.insert({"name": "Li", "age": 30}) == 1
    assert last_entry()["ops"] == [["people", "1", {"name": "Li", "age": 30}]]
    assert last_entry()["who"] == "tester@local"

    assert people.insert_multiple([{"name": "Wang", "age": 41}, {"name": "Ana", "age": 25}]) == [
        2,
        3,
    ]
    assert last_entry()["ops"] == [
        ["people", "2", {"name": "Wang", "age": 41}],
        ["people", "3", {"name": "Ana", "age": 25}],
    ]

    assert people.update({"age": 31}, Q.name == "Li") == [1]
    assert last_entry()["ops"] == [["people", "1", {"name": "Li", "age": 31}]]

    people.update_multiple([({"room": "A"}, Q.age > 30), ({"room": "B"}, Q.age < 30)])
    assert sorted(op[1] for op in last_entry()["ops"]) == ["1", "2", "3"]

    seq = db.storage.seq
    assert people.upsert({"name": "Ana", "age": 26}, Q.name == "Ana") == [3]
    assert last_entry()["seq"] == seq + 1
    assert people.upsert({"name": "Omar", "age": 50}, Q.name == "Omar") == [4]
    assert last_entry()["ops"] == [["people", "4", {"name": "Omar", "age": 50}]]
    assert people.upsert(Document({"name": "Eve"}, doc_id=9)) == [9]

    assert people.remove(Q.name == "Wang") == [2]
    assert last_entry()["ops"] == [["people", "2", None]]

    rooms.insert_multiple([{"code": c} for c in "ABC"])
    rooms.truncate()
    # Each document goes, then the table restarts its ids (and keeps its name).
    assert last_entry()["ops"] == [*(["rooms", k, None] for k in "123"), ["rooms", None, {}]]

    # A write that changes nothing writes nothing.
    size = journal_of(db_path).stat().st_size
    assert people.update({"age": 31}, Q.name == "Li") == [1]
    assert people.remove(Q.name == "nobody") == []
    assert journal_of(db_path).stat().st_size == size

    expected = {
        "people": {
            1: {"name": "Li", "age": 31, "room": "A"},
            3: {"name": "Ana", "age": 26, "room": "B"},
            4: {"name": "Omar", "age": 50},
            9: {"name": "Eve"},
        }
    }
    assert contents(db) == expected
    assert on_disk(db_path) == expected
    # After a compaction the same data comes from the snapshot instead.
    db.storage.compact()
    assert read_journal(db_path) == (db.storage.seq, [])
    assert on_disk(db_path) == expected


def test_drop_table_and_drop_tables_are_journaled(db: Database, db_path: Path) -> None:
    db.table("a").insert_multiple([{"n": 1}, {"n": 2}])
    db.table("b").insert({"n": 3})
    db.table("c").insert({"n": 4})
    db.drop_table("a")
    assert "a" not in db.tables()
    assert on_disk(db_path) == {"b": {1: {"n": 3}}, "c": {1: {"n": 4}}}
    db.drop_tables()
    assert contents(db) == {}
    assert on_disk(db_path) == {}
    # As in TinyDB, a table made again after a drop numbers from 1.
    assert db.table("a").insert({"n": 5}) == 1


# ---------------------------------------------------------------- transactions


def test_a_failed_transaction_stores_nothing_and_rolls_memory_back(
    db: Database, db_path: Path
) -> None:
    people = db.table("people")
    people.insert_multiple([{"name": "Li", "ward": 1}, {"name": "Wang", "ward": 2}])
    before_disk = file_states(db_path.parent)
    before = contents(db)
    seq = db.storage.seq
    # Fill TinyDB's query cache, so a stale cache would show after the rollback.
    assert [d["name"] for d in people.search(Q.ward == 1)] == ["Li"]
    assert people.count(Q.ward >= 1) == 2

    with pytest.raises(RuntimeError, match="boom"), db.transaction():
        people.insert({"name": "Ana", "ward": 1})
        people.update({"ward": 1}, Q.name == "Wang")
        people.remove(Q.name == "Li")
        db.table("rooms").insert({"code": "A"})
        # Inside the transaction the changes are visible (and cached) ...
        assert sorted(d["name"] for d in people.search(Q.ward == 1)) == ["Ana", "Wang"]
        assert people.count(Q.ward >= 1) == 2
        raise RuntimeError("boom")

    # ... and afterwards they are gone: memory, query cache and disk.
    assert contents(db) == before
    assert [d["name"] for d in people.search(Q.ward == 1)] == ["Li"]
    assert people.count(Q.ward >= 1) == 2
    assert db.table("rooms").all() == []
    assert db.storage.seq == seq
    assert file_states(db_path.parent) == before_disk
    assert on_disk(db_path) == before

    # The store is still perfectly usable.
    assert people.insert({"name": "Omar", "ward": 3}) == 3
    assert on_disk(db_path)["people"][3] == {"name": "Omar", "ward": 3}


def test_a_rehearsal_writes_nothing_holds_no_lock_and_undoes_everything(
    db: Database, db_path: Path
) -> None:
    """What a dry run stands on: changes seen inside, then undone, with the writers'
    lock free all along (another session commits meanwhile), even read-only."""
    people = db.table("people")
    people.insert({"name": "Li", "ward": 1})
    reader = Database(db_path, read_only=True)
    other = Database(db_path)
    try:
        before_disk = file_states(db_path.parent)
        with reader.storage.rehearsal():
            table = reader.table("people")
            assert table.insert({"name": "Ana", "ward": 2}) == 2
            table.update({"ward": 9}, Q.name == "Li")
            assert sorted(d["ward"] for d in table.all()) == [2, 9]
            assert file_states(db_path.parent) == before_disk
            assert other.table("people").insert({"name": "Wang", "ward": 3}) == 2
        assert [(d.doc_id, d["name"], d["ward"]) for d in reader.table("people").all()] == [
            (1, "Li", 1)
        ]
        reader.refresh()
        assert [d["name"] for d in reader.table("people").all()] == ["Li", "Wang"]
        assert on_disk(db_path)["people"] == {
            1: {"name": "Li", "ward": 1},
            2: {"name": "Wang", "ward": 3},
        }
    finally:
        reader.close()
        other.close()


@pytest.mark.parametrize(
    "bad",
    [{1: "a non-string key"}, {"tags": {"a", "b"}}, {"when": object()}],
    ids=["int-key", "set", "object"],
)
def test_a_document_json_cannot_hold_is_refused_and_leaves_nothing_behind(
    db: Database, db_path: Path, bad: dict[Any, Any]
) -> None:
    people = db.table("people")
    people.insert({"name": "Li"})
    assert people.search(Q.name.exists()) != []
    before_disk = file_states(db_path.parent)

    with pytest.raises(TypeError):
        people.insert(bad)
    with pytest.raises(TypeError), db.transaction():
        people.insert({"name": "Ana"})
        people.update(bad, Q.name == "Li")

    assert contents(db) == {"people": {1: {"name": "Li"}}}
    assert len(people) == 1
    assert [d["name"] for d in people.search(Q.name.exists())] == ["Li"]
    assert file_states(db_path.parent) == before_disk
    assert people.insert({"name": "Omar"}) == 2
    assert on_disk(db_path) == {"people": {1: {"name": "Li"}, 2: {"name": "Omar"}}}


def test_nested_transactions_join_the_outer_one(db: Database, db_path: Path) -> None:
    t = db.table("t")
    with db.transaction():
        t.insert({"n": 1})
        with db.transaction():
            t.insert({"n": 2})
        t.insert({"n": 3})
    _, entries = read_journal(db_path)
    assert len(entries) == 1
    assert [op[1] for op in entries[0]["ops"]] == ["1", "2", "3"]

    with pytest.raises(ValueError), db.transaction():
        t.insert({"n": 4})
        with db.transaction():
            t.insert({"n": 5})
        raise ValueError
    assert len(read_journal(db_path)[1]) == 1
    assert on_disk(db_path) == {"t": {1: {"n": 1}, 2: {"n": 2}, 3: {"n": 3}}}


# ---------------------------------------------------------------- ids


def test_ids_are_never_handed_out_twice(db: Database, db_path: Path) -> None:
    t = db.table("t")
    ever: set[int] = set()

    def insert(doc: dict[str, Any]) -> int:
        new = t.insert(doc)
        assert new not in ever
        assert not ever or new > max(ever)
        ever.add(new)
        return new

    assert [insert({"n": i}) for i in range(3)] == [1, 2, 3]
    t.remove(doc_ids=[3])  # the highest id
    assert insert({"n": 3}) == 4

    # A rolled-back transaction hands out nothing that collides with stored ids.
    with pytest.raises(KeyError), db.transaction():
        inside = [t.insert({"n": 5}), t.insert({"n": 6})]
        assert min(inside) > max(ever)
        raise KeyError
    assert insert({"n": 7}) == 5

    # The highest id survives the document's removal across reopen and compaction
    # (only truncate() and dropping the table restart the ids, as in TinyDB).
    t.remove(doc_ids=[5])
    db.storage.compact()
    snapshot = decode_snapshot(db_path.read_bytes(), str(db_path))
    assert snapshot["tables"]["t"] == {"1": {"n": 0}, "2": {"n": 1}, "4": {"n": 3}}
    assert snapshot["max_ids"]["t"] == 5
    other = Database(db_path)
    try:
        assert other.table("t").insert({"n": 8}) == 6
    finally:
        other.close()
    db.refresh()
    assert insert({"n": 9}) == 7


# ---------------------------------------------------------------- two sessions


def test_a_second_session_sees_writes_after_refresh(db: Database, db_path: Path) -> None:
    other = Database(db_path)
    try:
        people = db.table("people")
        theirs = other.table("people")
        people.insert_multiple([{"name": "Li"}, {"name": "Wang"}])
        # Until it refreshes, the other session keeps its state (and its cache).
        assert theirs.search(Q.name.exists()) == []
        changes = other.refresh()
        assert changes
        assert not changes.reloaded
        assert changes.keys == {("people", "1"), ("people", "2")}
        assert changes.tables() == {"people"}
        assert sorted(d["name"] for d in theirs.search(Q.name.exists())) == ["Li", "Wang"]
        # Nothing new: an empty, falsy answer.
        assert not other.refresh()

        people.update({"name": "Li Wei"}, doc_ids=[1])
        people.remove(doc_ids=[2])
        db.table("rooms").insert({"code": "A"})
        changes = other.refresh()
        assert changes.keys == {("people", "1"), ("people", "2"), ("rooms", "1")}
        assert contents(other) == contents(db)

        # Writes go both ways; each writer first catches up, so ids never collide.
        assert theirs.insert({"name": "Ana"}) == 3
        assert people.insert({"name": "Omar"}) == 4
        assert db.refresh().keys == set()  # it caught up when it wrote
        assert other.refresh().keys == {("people", "4")}
        assert contents(other) == contents(db) == on_disk(db_path)
    finally:
        other.close()


def test_listeners_hear_commits_rollbacks_and_other_sessions(db: Database, db_path: Path) -> None:
    heard: list[set[tuple[str, str]]] = []
    other = Database(db_path)
    try:
        other.storage.add_listener(lambda ch: heard.append(set(ch.keys)))
        db.table("t").insert({"n": 1})
        other.refresh()
        assert heard == [{("t", "1")}]
    finally:
        other.close()


# ---------------------------------------------------------------- compaction


def test_automatic_compaction_keeps_everything(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 2048)
    db = Database(db_path, create=True)
    reader = Database(db_path, read_only=True)
    try:
        t = db.table("t")
        bases = set()
        for i in range(300):
            with db.transaction():
                t.insert({"n": i, "pad": "x" * 40})
                if i % 3 == 0:
                    t.update({"n": -i}, doc_ids=[i // 3 + 1])
                if i % 7 == 0:
                    t.remove(doc_ids=[i // 2 + 1])
            bases.add(read_journal(db_path)[0])
        assert len(bases) > 3, "the journal was never compacted"
        base, entries = read_journal(db_path)
        assert [e["seq"] for e in entries] == list(range(base + 1, db.storage.seq + 1))
        assert db.storage.seq == 300
        snapshot = decode_snapshot(db_path.read_bytes(), str(db_path))
        assert snapshot["seq"] == base

        changes = reader.refresh()
        assert changes
        assert contents(reader) == contents(db) == on_disk(db_path)
        assert reader.storage.seq == 300
        assert not list(db_path.parent.glob("*.tmp-*"))
    finally:
        reader.close()
        db.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_reader_opened_before_compaction_follows_it(db_path: Path, read_only: bool) -> None:
    db = Database(db_path, create=True)
    t = db.table("t")
    t.insert_multiple({"n": i} for i in range(10))
    reader = Database(db_path, read_only=read_only)
    try:
        mine = reader.table("t")
        assert mine.count(Q.n >= 0) == 10

        # One compaction: the reader finishes the old journal and carries on in the new
        # one, learning exactly which documents changed.
        t.insert({"n": 10})
        t.update({"n": -1}, doc_ids=[1])
        db.storage.compact()
        t.insert({"n": 11})
        t.remove(doc_ids=[2])
        changes = reader.refresh()
        assert not changes.reloaded
        assert changes.keys == {("t", "11"), ("t", "1"), ("t", "12"), ("t", "2")}
        assert mine.count(Q.n >= 0) == 10
        assert contents(reader) == contents(db)

        # Two compactions while it looked away: it reloads the snapshot instead.
        t.insert({"n": 12})
        db.storage.compact()
        t.insert({"n": 13})
        db.storage.compact()
        t.insert({"n": 14})
        changes = reader.refresh()
        assert changes.reloaded
        assert contents(reader) == contents(db) == on_disk(db_path)
        assert reader.storage.seq == db.storage.seq
        assert mine.count(Q.n >= 0) == 13  # the query cache was dropped too

        # The former reader can write, and the writer sees it.
        if not read_only:
            assert mine.insert({"n": 15}) == 16
            assert db.refresh().keys == {("t", "16")}
    finally:
        reader.close()
        db.close()


# ---------------------------------------------------------------- files


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "isolation.db"
    old = os.umask(0)
    try:
        db = Database(path, create=True, create_dirs=True)
        db.table("t").insert({"n": 1})
        db.storage.compact()
        db.table("t").insert({"n": 2})
        db.close()
    finally:
        os.umask(old)
    for p in (path, journal_of(path), lock_of(path)):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "isolation.db",
        "isolation.db-journal",
        "isolation.db-lock",
    ]


def test_a_newer_schema_is_refused_and_nothing_is_touched(db_path: Path) -> None:
    db = Database(db_path, create=True)
    db.table("t").insert({"n": 1})
    db.close()
    body = decode_snapshot(db_path.read_bytes(), str(db_path))
    body["schema_version"] = engine.SCHEMA_VERSION + 1
    db_path.write_bytes(encode_snapshot(body))
    lock_of(db_path).unlink()
    before = file_states(db_path.parent)

    for kwargs in ({}, {"create": True}, {"read_only": True}):
        with pytest.raises(SchemaTooNew) as err:
            Database(db_path, **kwargs)
        message = str(err.value)
        assert str(db_path) in message
        assert f"schema {engine.SCHEMA_VERSION + 1}" in message
        assert "newer" in message
    assert file_states(db_path.parent) == before


def test_a_read_only_store_refuses_every_write(db_path: Path) -> None:
    writer = Database(db_path, create=True)
    writer.table("t").insert({"n": 1})
    ro = Database(db_path, read_only=True)
    try:
        before = file_states(db_path.parent)
        t = ro.table("t")
        attempts = [
            lambda: t.insert({"n": 2}),
            lambda: t.update({"n": 3}, doc_ids=[1]),
            lambda: t.remove(doc_ids=[1]),
            lambda: t.truncate(),
            lambda: ro.drop_tables(),
            lambda: ro.storage.compact(),
        ]
        for attempt in attempts:
            with pytest.raises(StoreReadOnly, match="read-only"):
                attempt()
        with pytest.raises(StoreReadOnly), ro.transaction():
            pass
        assert contents(ro) == {"t": {1: {"n": 1}}}
        assert file_states(db_path.parent) == before
        # It still follows the writers.
        writer.table("t").insert({"n": 4})
        assert ro.refresh().keys == {("t", "2")}
        assert contents(ro) == {"t": {1: {"n": 1}, 2: {"n": 4}}}
    finally:
        ro.close()
        writer.close()


@pytest.mark.parametrize("kwargs", [{}, {"read_only": True}, {"create": True, "read_only": True}])
def test_a_missing_store_is_reported_and_not_created(
    tmp_path: Path, kwargs: dict[str, bool]
) -> None:
    path = tmp_path / "sub" / "isolation.db"
    with pytest.raises(StoreMissing) as err:
        Database(path, **kwargs)
    assert str(path) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_session_follows_a_database_replaced_under_it(tmp_path: Path) -> None:
    """A restore or ``demo --force`` puts other files in place: a running session must
    read the new database, and go on numbering from it, never append its old state."""
    path = tmp_path / "x.db"
    session = Database(path, create=True)
    for n in range(4):
        session.table("t").insert({"n": n})
    replacement = tmp_path / "new.db"
    other = Database(replacement, create=True)
    other.table("t").insert({"n": "fresh"})
    other.close()
    for suffix in ("", "-journal"):
        os.replace(f"{replacement}{suffix}", f"{path}{suffix}")
    assert session.refresh().reloaded
    assert [d["n"] for d in session.table("t").all()] == ["fresh"]
    session.table("t").insert({"n": "after"})
    session.close()
    base, entries = read_journal(path)
    assert base == 0
    assert [e["seq"] for e in entries] == [1, 2]
    assert [d["n"] for d in Database(path, read_only=True).table("t").all()] == ["fresh", "after"]


def test_compaction_keeps_the_mode_an_administrator_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several OS users on one database: files made 0660 for a group stay so."""
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 1)
    path = tmp_path / "x.db"
    db = Database(path, create=True)
    shared = (path, journal_of(path), lock_of(path))
    for name in shared:
        name.chmod(0o660)
    db.table("t").insert({"n": 1})  # compacts: both files are written anew
    db.close()
    assert read_journal(path)[0] == 1  # the journal was compacted into the snapshot
    for name in shared:
        assert stat.S_IMODE(name.stat().st_mode) == 0o660


def _never_rebase(*_: Any) -> None:
    return None


def test_a_kept_rehearsal_is_stored_as_it_is_or_undone_by_anything_else(
    db: Database, db_path: Path
) -> None:
    """A rehearsal kept for storing is stored with the ids it showed when nobody
    wrote meanwhile; when someone did, it is undone and (here, refused a rebase)
    nothing of it is stored; a refresh in between undoes it too."""
    people = db.table("people")
    people.insert({"name": "Li", "ward": 1})
    with db.storage.rehearsal() as rehearsed:
        assert people.insert({"name": "Ana", "ward": 2}) == 2
        rehearsed.keep = True
    assert [d["name"] for d in people.all()] == ["Li", "Ana"]  # kept, not yet stored
    assert db.storage.commit_rehearsed(rehearsed, _never_rebase) == {"people": 0}
    assert on_disk(db_path)["people"] == {
        1: {"name": "Li", "ward": 1},
        2: {"name": "Ana", "ward": 2},
    }

    other = Database(db_path)
    try:
        with db.storage.rehearsal() as rehearsed:
            people.insert({"name": "Omar", "ward": 3})
            rehearsed.keep = True
        assert other.table("people").insert({"name": "Wang", "ward": 4}) == 3
        assert db.storage.commit_rehearsed(rehearsed, _never_rebase) is None
        assert [d["name"] for d in people.all()] == ["Li", "Ana", "Wang"]

        with db.storage.rehearsal() as rehearsed:
            people.insert({"name": "Sara", "ward": 5})
            rehearsed.keep = True
        db.refresh()
        assert [d["name"] for d in people.all()] == ["Li", "Ana", "Wang"]
    finally:
        other.close()
    assert [d["name"] for d in on_disk(db_path)["people"].values()] == ["Li", "Ana", "Wang"]


def test_a_rehearsal_emptying_or_filling_a_table_others_emptied_or_filled_is_done_again(
    db: Database, db_path: Path
) -> None:
    """Renumbering moves new ids after others' (here on ``people``) while a table the
    rehearsal emptied stays empty of what it saw; but emptying a table others wrote
    to meanwhile, or adding to one they emptied, is checked again, never merged."""
    renumber = rebase_unless_read(())
    people, log = db.table("people"), db.table("log")
    people.insert({"name": "Li"})
    log.insert({"line": "old"})
    other = Database(db_path)
    try:
        with db.storage.rehearsal() as rehearsed:
            log.truncate()
            assert people.insert({"name": "Ana"}) == 2
            rehearsed.keep = True
        assert other.table("people").insert({"name": "Wang"}) == 2
        assert db.storage.commit_rehearsed(rehearsed, renumber) == {"people": 1, "log": 0}
        assert on_disk(db_path) == {
            "people": {1: {"name": "Li"}, 2: {"name": "Wang"}, 3: {"name": "Ana"}}
        }
        assert log.insert({"line": "new"}) == 1  # its ids start again, as TinyDB's do

        with db.storage.rehearsal() as rehearsed:
            people.truncate()
            rehearsed.keep = True
        other.refresh()
        assert other.table("people").insert({"name": "Omar"}) == 4
        assert db.storage.commit_rehearsed(rehearsed, renumber) is None
        assert len(on_disk(db_path)["people"]) == 4

        with db.storage.rehearsal() as rehearsed:
            assert people.insert({"name": "Sara"}) == 5
            rehearsed.keep = True
        other.refresh()
        other.table("people").truncate()
        assert db.storage.commit_rehearsed(rehearsed, renumber) is None
        assert "people" not in on_disk(db_path)
    finally:
        other.close()
