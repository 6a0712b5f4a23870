"""A big import on PostgreSQL holds one batch of records at a time, and stays
all-or-nothing.

Between batches the importing process sends what it made into the import's own
transaction on the server, which no other session sees, and lets go of it. Here
the batch is made small, so that a few hundred rows spill several times; what is
stored is compared with the same file imported in one go. Then, as real processes:
a ``kill -9`` of the importer, and another session saving meanwhile.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import psycopg
import pytest
from conftest import FIXED_NOW
from test_import_processes import (  # children: a fixture
    children,  # noqa: F401
    consistent,
    importer,
    make_point,
    open_numbers,
    person_id,
    write_people,
)
from test_import_spill import (  # small_batches: a fixture
    BATCH,
    ROWS,
    imported,
    new_store,
    people_csv,
    set_up,
    small_batches,  # noqa: F401
    stored,
    stored_after_one_save,
)

from isolation_tui.headless.check import problems
from isolation_tui.headless.imports import base, import_table
from isolation_tui.headless.imports.kinds import IMPORTERS
from isolation_tui.headless.imports.reading import read_table
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import AUDIT, CHECKS, STAYS, TESTS

# Memory: the importing process's traced peak over what it held before, at ten
# times the rows. Holding every record made (as before) gave 10.2; what still grows
# with the rows (4.4 now) is what later rows check, as on the file store: each new
# stay's stub and its entries in the indexes of who is where.
SMALL, BIG = 2_000, 20_000
MEMORY_RATIO = 5
# Rows of the imports run as processes, and people in isolation whose rounds
# another session enters meanwhile.
KILL_ROWS = 3_000
IN_ISOLATION = 20


def server_state(url: str) -> tuple[list[Any], list[Any]]:
    """Every stored document and every journal entry, as the server holds them."""
    with psycopg.connect(url) as conn:
        documents = conn.execute(
            "SELECT tbl, id, doc::text FROM documents ORDER BY 1, 2"
        ).fetchall()
        journal = conn.execute("SELECT seq, who, ops::text FROM journal ORDER BY seq").fetchall()
    return documents, journal


def test_a_big_import_holds_one_batch_and_stores_what_one_go_stores(
    pg_server: Any,
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    held: list[int] = request.getfixturevalue("small_batches")
    file = people_csv(tmp_path / "bus.csv", ROWS)
    store = set_up(pg_url)  # type: ignore[arg-type]
    follower = open_store(pg_url, read_only=True)
    before = len(store.rows(AUDIT)) + len(store.rows(TESTS))
    outcome = imported(store, file)
    assert outcome.problems == [] and outcome.rows == ROWS
    assert outcome.ids == list(range(2, ROWS + 2))
    # Each arrival makes five audit entries and four tests: at most one batch of
    # them (and the row being checked) was ever in memory.
    assert max(held) - before <= 9 * (BATCH + 1)
    assert len(held) == ROWS
    # The session reads the store again when next used, and holds it whole.
    assert len(store.rows(STAYS)) == ROWS + 1
    assert list(problems(store)) == []
    store.close()

    monkeypatch.setattr(base, "SPILL_ROWS", ROWS * 10)
    whole = pg_server.new_database()
    store = set_up(whole)
    assert imported(store, file).rows == ROWS
    store.close()
    assert stored(pg_url) == stored(whole)  # type: ignore[arg-type]
    # A session open meanwhile reads the import in by its journal entries (one per
    # batch, and the reservation) and holds what one reading the documents holds.
    changes = follower.refresh()
    assert changes and not changes.reloaded
    fresh = open_store(pg_url, read_only=True)
    assert follower.db.storage.tables() == fresh.db.storage.tables()
    assert follower.db.storage.seq == fresh.db.storage.seq
    fresh.close()
    follower.close()


@pytest.mark.usefixtures("small_batches")
def test_a_refused_or_rehearsed_big_import_changes_nothing(pg_url: str, tmp_path: Path) -> None:
    store = set_up(pg_url)  # type: ignore[arg-type]
    state = server_state(pg_url)

    outcome = imported(store, people_csv(tmp_path / "bad.csv", ROWS, bad_last=True))
    assert [problem.line for problem in outcome.problems] == [ROWS + 1]
    assert server_state(pg_url) == state
    dry = open_store(pg_url, read_only=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    assert imported(dry, people_csv(tmp_path / "good.csv", ROWS), dry_run=True).problems == []
    dry.close()
    assert server_state(pg_url) == state
    # What the process holds is the stored state again, and it imports as before.
    assert len(store.rows(STAYS)) == 1 and len(store.rows(TESTS)) == 4
    assert imported(store, tmp_path / "good.csv").rows == ROWS
    assert len(store.rows(STAYS)) == ROWS + 1
    assert list(problems(store)) == []
    store.close()


@pytest.mark.usefixtures("small_batches")
def test_a_big_import_moves_its_ids_after_a_save_made_while_it_spilled(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = set_up(pg_url)  # type: ignore[arg-type]
    supervisor = open_store(pg_url, actor=Actor("supervisor"), clock=lambda: FIXED_NOW)
    resident = next(iter(supervisor.open_stays("S0")))
    audit_before = len(store.rows(AUDIT))
    spill = type(store.db.storage).spill
    spills: list[int] = []

    def spill_then_save(storage: Any, keep: Any) -> None:
        spill(storage, keep)
        spills.append(1)
        if len(spills) == 2:
            # Another session stores a round entry (and its audit entry) meanwhile:
            # the import's audit ids move on, its stays and tests do not.
            supervisor.health.record_check(resident, "2026-11-28", "morning", "365")

    monkeypatch.setattr(type(store.db.storage), "spill", spill_then_save)
    outcome = imported(store, people_csv(tmp_path / "bus.csv", ROWS))
    assert outcome.problems == [] and outcome.ids == list(range(2, ROWS + 2))
    # Renumbered, not checked again: the rows were gone through once.
    assert len(spills) == (ROWS - 1) // BATCH
    # The saving session reads the import in by its entries.
    supervisor.refresh()
    assert len(supervisor.rows(STAYS)) == ROWS + 1
    supervisor.close()
    store.close()

    stored_after_one_save(pg_url, audit_before)


def test_a_role_without_temporary_tables_imports_holding_its_records(
    pg_server: Any, pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    held: list[int] = request.getfixturevalue("small_batches")
    set_up(pg_url).close()  # type: ignore[arg-type]
    database = urlsplit(pg_url).path.lstrip("/")
    role = f"no_temp_{uuid.uuid4().hex[:8]}"
    for statement in (
        f'CREATE ROLE "{role}" LOGIN',
        f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC',
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON meta, documents, journal TO "{role}"',
    ):
        pg_server.sql(statement, database)
    store = open_store(
        pg_server.url(database, role), actor=Actor("tester"), clock=lambda: FIXED_NOW
    )
    outcome = imported(store, people_csv(tmp_path / "bus.csv", ROWS))
    assert outcome.problems == [] and outcome.ids == list(range(2, ROWS + 2))
    # Nothing could be sent before the commit: the process held every record.
    assert max(held) >= 9 * ROWS
    assert len(store.rows(STAYS)) == ROWS + 1
    assert list(problems(store)) == []
    store.close()


def traced_peak(url: str, file: Path, rows: int) -> int:
    """What importing ``file`` (read beforehand) added at its peak to what the
    process held, into point S1 with a room for each of ``rows`` people."""
    store = new_store(url)  # type: ignore[arg-type]
    rooms = [{"code": str(r), "floor": "1", "beds": 1, "blocked": False} for r in range(rows)]
    store.save_point("S1", "大", rooms)  # type: ignore[arg-type]
    table = read_table(file, IMPORTERS["arrivals"].columns, IMPORTERS["arrivals"].one_of)
    tracemalloc.start()
    try:
        held = tracemalloc.get_traced_memory()[0]
        outcome = import_table(store, "arrivals", table)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome.problems == [] and outcome.rows == rows
    store.close()
    return peak - held


def test_the_importing_process_holds_one_batch_not_the_file(pg_server: Any, tmp_path: Path) -> None:
    small = traced_peak(pg_server.new_database(), people_csv(tmp_path / "small.csv", SMALL), SMALL)
    big = traced_peak(pg_server.new_database(), people_csv(tmp_path / "big.csv", BIG), BIG)
    assert big <= MEMORY_RATIO * small, (small, big)


# ---------------------------------------------------------------------- real processes


def import_backend(url: str) -> str | None:
    """The last statement of the importer's own transaction, once it has one."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction' AND query LIKE 'INSERT INTO isolation_import %%'"
        ).fetchone()
    return row[0] if row else None


def last_seq(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()
    return int(row[0]) if row else 0


def test_kill_9_of_a_big_import_leaves_the_database_as_it_was(
    pg_url: str, tmp_path: Path, cli: Any, request: pytest.FixtureRequest
) -> None:
    started: list[subprocess.Popen[str]] = request.getfixturevalue("children")
    seed = int(os.environ.get("KILL_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    make_point(pg_url, beds=KILL_ROWS)
    documents, journal = server_state(pg_url)
    file = tmp_path / "bus.csv"
    write_people(file, 0, KILL_ROWS)
    # Killed while it sends its batches, a moment later, and just after its first
    # short hold reserved its ids.
    for aim in ("sending", "later", "reserved"):
        seq = last_seq(pg_url)
        proc = importer(file, pg_url, to_be_killed=True)
        started.append(proc)
        while proc.poll() is None and import_backend(pg_url) is None:
            time.sleep(0.005)
        if aim == "later":
            time.sleep(rng.uniform(0.0, 0.5))
        while aim == "reserved" and proc.poll() is None and last_seq(pg_url) == seq:
            time.sleep(0.0005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        why = f"KILL_SEED={seed}, killed {aim}"
        assert proc.returncode == -signal.SIGKILL, why
        now_documents, now_journal = server_state(pg_url)
        assert now_documents == documents, why
        # At most the reservation: a record put and taken away per table, changing
        # nothing.
        for _, _, ops in now_journal[len(journal) :]:
            docs = [doc for _, _, doc in orjson.loads(ops)]
            assert docs and docs == [{}, None] * (len(docs) // 2), why
    store = open_store(pg_url, read_only=True)
    assert consistent(store) == []
    store.close()
    # The database takes the whole import afterwards.
    done = cli("import", "arrivals", str(file), "--db", pg_url)
    assert done.returncode == 0, done.stderr
    store = open_store(pg_url, read_only=True)
    assert len(store.rows(STAYS)) == KILL_ROWS
    assert consistent(store) == []
    store.close()


def test_a_save_during_a_big_import_is_stored_and_both_are_seen(
    pg_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    started: list[subprocess.Popen[str]] = request.getfixturevalue("children")
    make_point(pg_url, beds=KILL_ROWS + IN_ISOLATION)
    supervisor = open_store(pg_url, actor=Actor("supervisor"), clock=lambda: FIXED_NOW)
    people = [
        supervisor.stays.register(
            {
                "point": "B1",
                "name": f"在隔{n}",
                "id_number": person_id(30_000 + n),
                "category": "inbound",
                "arrived_at": "2026-11-20 10:00",
            }
        )
        for n in range(IN_ISOLATION)
    ]
    rounds = [
        (stay, f"2026-11-{day}", name)
        for day in range(21, 28)
        for name in ("morning", "afternoon")
        for stay in people
    ]
    file = tmp_path / "bus.csv"
    numbers = set(write_people(file, 0, KILL_ROWS))
    proc = importer(file, pg_url)
    started.append(proc)
    saved = 0
    while proc.poll() is None:
        stay, day, name = rounds[saved]
        supervisor.health.record_check(stay, day, name, "365")
        saved += 1
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"imported {KILL_ROWS:,} arrivals".replace(",", "") in out.replace(",", "")
    assert saved > 1
    # The saving session reads the import in; a fresh one holds both.
    supervisor.refresh()
    assert numbers <= open_numbers(supervisor)
    fresh = open_store(pg_url, read_only=True)
    assert len(fresh.rows(CHECKS)) == saved
    assert fresh.rows(CHECKS) == supervisor.rows(CHECKS)
    assert len(fresh.rows(STAYS)) == KILL_ROWS + IN_ISOLATION
    audit = fresh.rows(AUDIT)
    assert sorted(map(int, audit)) == list(range(1, len(audit) + 1))
    assert list(problems(fresh)) == []
    fresh.close()
    supervisor.close()
