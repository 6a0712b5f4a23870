"""The store keeps TinyDB's promises (issue 9, section 4), with real files and a
second process where another process must see the change."""

from __future__ import annotations

import enum
import json
import math
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from tinydb import Query

from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreError
from isolation_tui.storage.salvage import salvage

Q = Query()


class Plain(enum.Enum):
    ONE = 1


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    d = Database(db_path, create=True, who="tester@local")
    yield d
    d.close()


def reopened(db_path: Path) -> dict[str, dict[int, Any]]:
    """What a fresh process reads from the files: every table, even an empty one."""
    code = (
        "import json, sys\n"
        "from isolation_tui.storage.database import Database\n"
        "db = Database(sys.argv[1], read_only=True)\n"
        "print(json.dumps({name: {d.doc_id: d for d in db.table(name).all()}"
        " for name in sorted(db.tables())}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(db_path)], capture_output=True, text=True, check=True
    ).stdout
    return {name: {int(k): v for k, v in docs.items()} for name, docs in json.loads(out).items()}


def journal_size(db_path: Path) -> int:
    return db_path.with_name(db_path.name + "-journal").stat().st_size


# ---------------------------------------------------------------- ids and tables


def test_truncate_restarts_the_ids_here_in_other_processes_and_after_reopening(
    db: Database, db_path: Path
) -> None:
    other = Database(db_path)
    t = db.table("t")
    assert t.insert_multiple([{"n": 1}, {"n": 2}, {"n": 3}]) == [1, 2, 3]
    t.truncate()
    assert t.all() == []
    assert "t" in db.tables()  # TinyDB keeps a truncated table's name
    assert t.insert({"n": 4}) == 1
    other.refresh()
    assert other.table("t").insert({"n": 5}) == 2
    other.close()
    db.storage.compact()
    assert reopened(db_path) == {"t": {1: {"n": 4}, 2: {"n": 5}}}
    db.table("t").truncate()
    assert reopened(db_path) == {"t": {}}
    reader = Database(db_path)
    assert reader.table("t").insert({"n": 6}) == 1
    reader.close()


def test_dropped_tables_stay_dropped_after_reopening_and_number_from_one(
    db: Database, db_path: Path
) -> None:
    db.table("a").insert_multiple([{"n": 1}, {"n": 2}])
    db.table("b").insert({"n": 3})
    db.table("c").insert({"n": 4})
    db.drop_table("a")
    assert db.tables() == {"b", "c"}
    assert reopened(db_path) == {"b": {1: {"n": 3}}, "c": {1: {"n": 4}}}
    db.drop_tables()
    assert db.tables() == set()
    assert reopened(db_path) == {}
    db.storage.compact()
    assert reopened(db_path) == {}
    assert db.table("a").insert({"n": 5}) == 1
    assert db.table("b").insert({"n": 6}) == 1
    assert reopened(db_path) == {"a": {1: {"n": 5}}, "b": {1: {"n": 6}}}


def test_recover_replays_truncated_dropped_and_empty_tables(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    db.table("a").insert_multiple([{"n": 1}, {"n": 2}])
    db.table("a").truncate()
    db.table("b").insert({"n": 3})
    db.drop_table("b")
    db.table("c", persist_empty=True)
    copy = tmp_path / "recovered.db"
    assert salvage(db_path, copy).problem == ""
    assert reopened(copy) == reopened(db_path) == {"a": {}, "c": {}}
    recovered = Database(copy)
    assert recovered.table("a").insert({"n": 4}) == 1
    assert recovered.table("b").insert({"n": 5}) == 1
    recovered.close()


def test_a_failed_transaction_leaves_no_table_name_behind(db: Database, db_path: Path) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.table("new").insert({"n": 1})
        db.table("kept", persist_empty=True)
        raise RuntimeError("boom")
    assert db.tables() == set()
    assert reopened(db_path) == {}


def test_an_empty_table_asked_to_persist_is_stored(db: Database, db_path: Path) -> None:
    db.table("persisted", persist_empty=True)
    db.table("not_persisted")
    assert db.tables() == {"persisted"}
    assert reopened(db_path) == {"persisted": {}}


def test_asking_an_existing_table_to_persist_keeps_its_documents(db_path: Path) -> None:
    first = Database(db_path, create=True)
    first.table("t").insert({"n": 1})
    first.close()
    second = Database(db_path)
    assert second.table("t", persist_empty=True).all() == [{"n": 1}]
    second.close()
    assert reopened(db_path) == {"t": {1: {"n": 1}}}


def test_the_default_table_is_tinydbs(db: Database, db_path: Path) -> None:
    assert db.insert({"n": 1}) == 1
    assert db.tables() == {"_default"}
    assert reopened(db_path) == {"_default": {1: {"n": 1}}}


# ---------------------------------------------------------------- errors


def test_a_missing_database_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        Database(tmp_path / "nothing.db")
    assert isinstance(missing.value, StoreError)
    # As TinyDB's JSON storage: a folder is only made when asked to.
    with pytest.raises(FileNotFoundError):
        Database(tmp_path / "no" / "such" / "folder.db", create=True)
    assert list(tmp_path.iterdir()) == []
    Database(tmp_path / "made" / "now.db", create=True, create_dirs=True).close()
    assert (tmp_path / "made" / "now.db").is_file()


def test_writing_to_a_read_only_database_is_a_permission_error(db: Database, db_path: Path) -> None:
    db.insert({"n": 1})
    size = journal_size(db_path)
    reader = Database(db_path, read_only=True)
    with pytest.raises(PermissionError) as refused:
        reader.insert({"n": 2})
    assert isinstance(refused.value, StoreError)
    with pytest.raises(PermissionError):
        reader.table("other", persist_empty=True)
    reader.close()
    assert journal_size(db_path) == size
    assert reopened(db_path) == {"_default": {1: {"n": 1}}}


# ---------------------------------------------------------------- documents handed out


def test_documents_handed_out_share_nothing_with_the_store(db: Database, db_path: Path) -> None:
    t = db.table("people")
    t.insert({"name": "Li", "tags": ["A"], "room": {"code": "101", "beds": [1]}})
    stored = {"name": "Li", "tags": ["A"], "room": {"code": "101", "beds": [1]}}

    t.get(doc_id=1)["tags"].append("M")
    t.get(Q.name == "Li")["room"]["beds"].append(2)
    t.get(doc_ids=[1])[0]["room"]["code"] = "999"
    t.search(Q.name == "Li")[0]["tags"].append("S")
    t.search(Q.name == "Li")[0]["tags"].append("cached")  # TinyDB's query cache
    t.all()[0]["tags"].clear()
    next(iter(t))["room"].clear()
    assert t.get(doc_id=1) == stored
    assert t.search(Q.name == "Li") == [stored]

    # The case: a later update must not carry the changed list to disk.
    t.get(doc_id=1)["tags"].append("M")
    t.update({"name": "Li Wei"}, doc_ids=[1])
    assert reopened(db_path) == {"people": {1: {**stored, "name": "Li Wei"}}}


def test_what_the_caller_keeps_after_a_write_is_not_the_stored_document(
    db: Database, db_path: Path
) -> None:
    t = db.table("t")
    tags = ["A"]
    t.insert({"tags": tags})
    tags.append("B")
    extra = {"list": [1]}
    t.update({"extra": extra}, doc_ids=[1])
    extra["list"].append(2)
    assert t.get(doc_id=1) == {"tags": ["A"], "extra": {"list": [1]}}
    assert reopened(db_path) == {"t": {1: {"tags": ["A"], "extra": {"list": [1]}}}}


# ---------------------------------------------------------------- values


def test_a_value_reads_back_now_as_it_will_after_reopening(db: Database, db_path: Path) -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    t = db.table("t")
    t.insert({"pair": (1, 2), "nested": {"pairs": [(3, (4,))]}, "colour": Colour.RED})
    t.update({"more": (5,)}, doc_ids=[1])
    expected = {"pair": [1, 2], "nested": {"pairs": [[3, [4]]]}, "colour": "red", "more": [5]}
    doc = t.get(doc_id=1)
    assert doc == expected
    assert type(doc["pair"]) is list
    assert type(doc["colour"]) is str
    assert reopened(db_path) == {"t": {1: expected}}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        ([1.0, -math.inf], ValueError),
        (datetime(2026, 11, 29, 9, 30, tzinfo=UTC), TypeError),
        (date(2026, 11, 29), TypeError),
        (uuid.UUID(int=1), TypeError),
        (Plain.ONE, TypeError),
        ({1, 2}, TypeError),
        ({"nested": {1: "int key"}}, TypeError),
        (2**70, TypeError),
        (b"bytes", TypeError),
    ],
    ids=repr,
)
def test_what_cannot_be_stored_faithfully_is_refused_and_nothing_changes(
    db: Database, db_path: Path, value: Any, error: type[Exception]
) -> None:
    t = db.table("t")
    t.insert({"n": 1})
    size = journal_size(db_path)
    with pytest.raises(error) as refused:
        t.insert({"value": value})
    if isinstance(value, uuid.UUID):
        assert str(refused.value) == "Object of type UUID is not JSON serializable"
    with pytest.raises(error):
        t.update({"value": value}, doc_ids=[1])
    with pytest.raises(error):
        t.insert_multiple([{"n": 2}, {"value": value}])
    assert journal_size(db_path) == size
    assert t.all() == [{"n": 1}]
    assert t.insert({"n": 2}) == 2  # no id was used up
    assert reopened(db_path) == {"t": {1: {"n": 1}, 2: {"n": 2}}}
