"""``import`` as real processes: several at once on one database, and ``kill -9``.

An import is one transaction, so another process sees all of its rows or none of
them, whether the importer finished, lost a race for the lock, or was killed.
"""

from __future__ import annotations

import csv
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from isolation_tui.domain.counters import ALL
from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.headless.check import problems
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, POINTS, STAYS, TESTS

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
HEADER = ("point", "name", "id_number", "category", "arrived_at", "notes")
KILLS = 30
KILL_ROWS = 500


# Where the kills aim, in turn: early in the run, late in it, or at the commit itself.
AIMS = ("early", "late", "at the commit")


def committed_mark(location: str) -> object:
    """What the store's last committed entry looks like now: the journal file's
    identity and size, or PostgreSQL's last journal sequence number."""
    if location.startswith(("postgresql:", "postgres:")):
        with psycopg.connect(location) as conn:
            return conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()
    now = Path(location + "-journal").stat()
    return now.st_ino, now.st_size


def entry_written(location: str, before: object) -> bool:
    """An entry was committed since ``before`` (in the file store: the journal
    changed and ends with a whole line)."""
    if location.startswith(("postgresql:", "postgres:")):
        return committed_mark(location) != before
    with Path(location + "-journal").open("rb") as fh:
        now = os.fstat(fh.fileno())
        if (now.st_ino, now.st_size) == before:
            return False
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def person_id(n: int) -> str:
    """A valid resident ID, different for every ``n`` below 36,500."""
    return make_resident_id("210603", date(1930, 1, 1) + timedelta(days=n), n % 1000)


def write_people(path: Path, first: int, count: int) -> list[str]:
    """A CSV of ``count`` people numbered from ``first``; returns their ID numbers."""
    numbers = [person_id(n) for n in range(first, first + count)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n, number in enumerate(numbers, start=first):
            writer.writerow(
                ["B1", f"旅客{n}", number, "inbound", "2022-03-25 14:05", f"批次 {first}"]
            )
    return numbers


def make_point(location: str, beds: int) -> None:
    store = open_store(location, create=True)
    # One person per room, as isolation points work.
    rooms = [
        {"code": f"{r + 1:05d}", "floor": str(r // 20 + 1), "beds": 1, "blocked": False}
        for r in range(beds)
    ]
    store.save_point("B1", "大型隔离点", rooms)  # type: ignore[arg-type]
    store.close()


def importer(file: Path, location: str, to_be_killed: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, "ISOLATION_TUI_DB": location, "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    if to_be_killed:
        # A process killed with SIGKILL leaves no coverage data: measuring it is waste.
        env.pop("COVERAGE_PROCESS_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "isolation_tui", "import", "arrivals", str(file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still running at the end are killed (by pid)."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def consistent(store: Store) -> list[str]:
    """What is wrong with the store's counters and records (nothing, we hope)."""
    found = list(problems(store))
    totals = store.counters()[ALL]
    stays = store.rows(STAYS)
    if totals.received != len(stays) or totals.in_isolation != len(stays):
        found.append(f"counters {totals.received}/{totals.in_isolation} for {len(stays)} stays")
    if totals.occupied_beds != totals.in_isolation:
        found.append(f"occupied beds {totals.occupied_beds} ≠ in isolation {totals.in_isolation}")
    # Each arrival plans its four tests (days 1, 4, 7 and 14); one audit entry each.
    tests = store.rows(TESTS)
    if len(tests) != 4 * len(stays):
        found.append(f"{len(tests)} planned tests for {len(stays)} stays")
    if len(store.rows(AUDIT)) != len(stays) + len(tests) + len(store.rows(POINTS)):
        found.append(f"{len(store.rows(AUDIT))} audit entries for {len(stays)} stays")
    return found


def open_numbers(store: Store) -> set[str]:
    return {s["person"]["id_number"] for s in store.rows(STAYS).values()}


def test_four_imports_at_the_same_moment(
    location: str, tmp_path: Path, cli: CliRunner, children: list[subprocess.Popen[str]]
) -> None:
    make_point(location, beds=250)
    files = [tmp_path / f"bus-{k}.csv" for k in range(4)]
    people = [write_people(file, 1000 + 50 * k, 50) for k, file in enumerate(files)]

    children.extend(importer(file, location) for file in files)
    results = [proc.communicate(timeout=120) for proc in children]

    ranges = []
    for proc, (out, err) in zip(children, results, strict=True):
        assert proc.returncode == 0, err
        match = re.search(r"imported 50 arrivals .* \(stay ids (\d+)–(\d+)\)", out)
        assert match, out
        ranges.append(range(int(match[1]), int(match[2]) + 1))
    # Ids are chosen inside the writers' lock: each import got its own 50.
    assert sorted(i for r in ranges for i in r) == list(range(1, 201))

    store = open_store(location, read_only=True)
    stays = store.rows(STAYS)
    assert len(stays) == 200
    assert sorted(int(key) for key in stays) == list(range(1, 201))
    for numbers, ids in zip(people, ranges, strict=True):
        assert {stays[str(i)]["person"]["id_number"] for i in ids} == set(numbers)
    assert store.counters()[ALL].received == 200
    assert consistent(store) == []
    store.close()

    check = cli("check", "--db", location)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_kill_9_leaves_an_import_whole_or_absent(
    location: str, tmp_path: Path, cli: CliRunner, children: list[subprocess.Popen[str]]
) -> None:
    seed = int(os.environ.get("KILL_SEED") or time.time_ns() % 1_000_000)
    print(f"kill timings from KILL_SEED={seed}")
    rng = random.Random(seed)
    make_point(location, beds=KILL_ROWS * (KILLS + 1))

    # One import run to the end: how long an import takes on this machine.
    file = tmp_path / "calibrate.csv"
    write_people(file, 0, KILL_ROWS)
    started = time.monotonic()
    proc = importer(file, location)
    children.append(proc)
    _out, err = proc.communicate(timeout=120)
    duration = time.monotonic() - started
    assert proc.returncode == 0, err

    outcomes = {"present": 0, "absent": 0}
    expected = KILL_ROWS
    for attempt in range(1, KILLS + 1):
        file = tmp_path / f"import-{attempt}.csv"
        numbers = set(write_people(file, attempt * KILL_ROWS, KILL_ROWS))
        before = committed_mark(location)
        proc = importer(file, location, to_be_killed=True)
        children.append(proc)
        aim = AIMS[attempt % len(AIMS)]
        if aim == "at the commit":
            # The moment the import's entry is whole in the journal, before the
            # importer has said so (or while it syncs and compacts).
            while proc.poll() is None and not entry_written(location, before):
                time.sleep(0.0005)
        else:
            low, high = (0.0, 0.6) if aim == "early" else (0.6, 1.0)
            time.sleep(rng.uniform(low * duration, high * duration))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)

        store = open_store(location, read_only=True)
        try:
            count = len(store.rows(STAYS))
            present = numbers & open_numbers(store)
            why = f"KILL_SEED={seed}, attempt {attempt} ({aim})"
            assert count in (expected, expected + KILL_ROWS), f"{count} stays ({why})"
            assert present == (numbers if count > expected else set()), why
            assert consistent(store) == [], why
        finally:
            store.close()
        outcomes["present" if count > expected else "absent"] += 1
        expected = count

    print(f"kill -9 outcomes (KILL_SEED={seed}): {outcomes}")
    # Both must have happened for the test to mean much: kills before the commit
    # (nothing of the import stored) and after it (all of it).
    assert outcomes["absent"] > 0 and outcomes["present"] > 0, (outcomes, seed)
    check = cli("check", "--db", location)
    assert check.returncode == 0, check.stdout + check.stderr
    # And the database still takes a whole import afterwards.
    file = tmp_path / "after.csv"
    write_people(file, (KILLS + 1) * KILL_ROWS, 10)
    assert cli("import", "arrivals", str(file), "--db", location).returncode == 0


SAVER = """
import sys, time
from pathlib import Path
from isolation_tui.storage.errors import StoreBusy
from isolation_tui.storage.repository import open_store
location, stop, first = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
store = open_store(location)
saved = 0
while not stop.exists():
    try:
        fields = {"point": "B1", "name": f"步行{saved}", "id_number": sys.argv[4 + saved]}
        store.stays.register({**fields, "category": "inbound", "arrived_at": "2022-03-25 15:00"})
    except StoreBusy as exc:
        print(f"gave up after {saved} saves: {exc}", flush=True)
        sys.exit(1)
    saved += 1
    time.sleep(0.05)
print(f"saved {saved}", flush=True)
"""


def test_an_import_overtaken_again_and_again_never_locks_out_a_save(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    """Another session keeps taking the rooms the import's rows would take (each
    save takes the first free room, as the import's rows do): the import is never
    done inside the writers' lock, so a save that waits far less than the import
    takes to check its rows is never refused; the import is stored whole or, when
    it is overtaken every time, refused with nothing of it stored."""
    location = str(tmp_path / "points.db")
    make_point(location, beds=8000)
    file = tmp_path / "bus.csv"
    numbers = set(write_people(file, 0, 5000))
    stop = tmp_path / "stop"
    walkers = [person_id(n) for n in range(20000, 22000)]
    env = {**os.environ, "ISOLATION_TUI_LOCK_TIMEOUT": "1", "LANG": "C.UTF-8"}
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, location, str(stop), "0", *walkers],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    children.append(saver)
    proc = importer(file, location)
    children.append(proc)
    out, err = proc.communicate(timeout=600)
    stop.touch()
    saved, saver_err = saver.communicate(timeout=60)
    assert saver.returncode == 0, saved + saver_err
    assert "gave up" not in saved

    store = open_store(location, read_only=True)
    stored = open_numbers(store)
    if proc.returncode == 0:
        assert numbers <= stored, out
    else:
        assert "Run it again, or when the point is quieter" in err, err
        assert not numbers & stored
    assert consistent(store) == []
    store.close()
