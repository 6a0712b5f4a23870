"""Sealing by itself: once a month turns, a session starts ``seal --background`` in
a process of its own, beside the writers. Real processes throughout: two sessions
noticing the month at once while two others save seal it once and lose nothing; a
save made during the seal is kept; a seal killed at any point leaves the old state
or the new; it can be turned off, and ``check`` says when it ran."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from conftest import FIXED_NOW, CliRunner
from test_store_seal import everything, history

from isolation_tui.app import IsolationApp
from isolation_tui.headless.seal import start_background_seal
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.sealing import sealed_through, turn_path
from isolation_tui.storage.segments import segment_files
from isolation_tui.storage.tables import AUDIT, STAYS

# The first of December: the months before November are sealed (two stay live).
DECEMBER = datetime(2026, 12, 1, 0, 5)


@pytest.fixture
def sealed_db(store: Store, db_path: Path) -> tuple[Path, dict[str, int]]:
    ids = history(store)
    store.close()
    return db_path, ids


def background(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "isolation_tui", "seal", "--background", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def listed(path: Path) -> list[dict[str, object]]:
    storage = JournalStorage(path, read_only=True)
    try:
        return [
            {"file": s.path, "keys": {t: set(rows) for t, rows in (s.body or {}).items()}}
            for s in storage.sealed_segments()
        ]
    finally:
        storage.close()


WRITER = textwrap.dedent(
    """
    import sys
    from isolation_tui.storage.actor import Actor
    from isolation_tui.storage.repository import open_store
    store = open_store(sys.argv[1], actor=Actor(sys.argv[2]))
    for n in range(int(sys.argv[4])):
        store.stays.correct(int(sys.argv[3]), {"notes": f"{sys.argv[2]} {n}"}, "复查")
    store.close()
    """
)


def test_two_sessions_noticing_the_month_while_two_others_save_seal_it_once(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, ids = sealed_db
    before, _ = everything(path)
    saves = 15
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), who, str(ids["open"]), str(saves)]
        )
        for who in ("甲", "乙")
    ]
    sealers = [background("--until", "2026-11", "--db", str(path)) for _ in range(2)]
    for proc in [*writers, *sealers]:
        assert proc.wait(timeout=120) == 0
    after, _ = everything(path)

    # Every record as it was, but the open stay the writers corrected, and their audit.
    for table, rows in before.items():
        for key, doc in rows.items():
            if (table, key) != (STAYS, str(ids["open"])):
                assert after[table][key] == doc, (table, key)
    assert after[STAYS][str(ids["open"])]["notes"] in {f"甲 {saves - 1}", f"乙 {saves - 1}"}
    assert len(after[AUDIT]) == len(before[AUDIT]) + 2 * saves
    # Sealed once: one segment per month, no record in two, no file left over.
    segments = listed(path)
    assert sorted(s["file"].name.split("-sealed-")[1][:7] for s in segments) == [
        "2026-09",
        "2026-10",
    ]
    seen: set[tuple[str, str]] = set()
    for segment in segments:
        for table, keys in segment["keys"].items():
            mine = {(table, key) for key in keys}
            assert not mine & seen
            seen |= mine
    assert segment_files(path) == [s["file"] for s in segments]
    result = cli("--lang", "en", "check")
    assert result.returncode == 0, result.stderr
    assert "Sealed history: 2 file(s)" in result.stdout and "(automatically)" in result.stdout


PAUSED = textwrap.dedent(
    """
    import sys, time
    from isolation_tui.storage import engine
    from isolation_tui.headless.seal import run_background_seal

    where = sys.argv[2]
    if where == "aside":
        write = engine.JournalStorage._write_aside
        def slow(self, *args, **kwargs):
            # The segment and the snapshot written, before the lock is taken.
            found = write(self, *args, **kwargs)
            if args[1:]:
                print("aside", flush=True)
                time.sleep(float(sys.argv[3]))
            return found
        engine.JournalStorage._write_aside = slow
    else:
        place = engine.put_temp
        def slow(tmp, target):
            place(tmp, target)
            print("placed", target.name, flush=True)
            time.sleep(float(sys.argv[3]))
        engine.put_temp = slow
    sys.exit(run_background_seal(sys.argv[1], "2026-11"))
    """
)


def paused(path: Path, where: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED, str(path), where, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().split()[0] in ("aside", "placed")
    return proc


def test_a_save_during_an_automatic_seal_is_kept_and_waits_for_no_seal(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, ids = sealed_db
    before, _ = everything(path)
    sealer = paused(path, "aside", 3)
    # The seal has written its files and waits before the lock: the save goes on.
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    try:
        lock = store.db.storage.writers_lock(wait=False)
        with lock as free:
            assert free  # the sealer holds no lock while it writes
        store.stays.correct(ids["open"], {"notes": "体温正常"}, "复查")
    finally:
        store.close()
    assert sealer.wait(timeout=60) == 0
    after, _ = everything(path)
    assert after[STAYS][str(ids["open"])]["notes"] == "体温正常"
    assert {t: len(r) for t, r in after.items()} == {
        t: len(r) + (1 if t == AUDIT else 0) for t, r in before.items()
    }
    assert len(listed(path)) == 2
    assert cli("check").returncode == 0


@pytest.mark.parametrize("where", ["aside", "placed"])
def test_an_automatic_seal_killed_leaves_the_old_state_or_the_new(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner, where: str
) -> None:
    path, _ = sealed_db
    before = everything(path)
    sealer = paused(path, where, 30)
    os.kill(sealer.pid, signal.SIGKILL)
    sealer.wait()
    assert everything(path) == before
    assert cli("check").returncode == 0
    # Its turn went with it: the next one runs, and finishes the work.
    assert sealed_through(path) is None
    again = background("--until", "2026-11", "--db", str(path))
    assert again.wait(timeout=120) == 0
    assert everything(path) == before
    assert len(listed(path)) == 2 and segment_files(path) == [s["file"] for s in listed(path)]


def test_a_session_starts_the_seal_once_a_month_has_turned(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, _ = sealed_db
    before = everything(path)
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    try:
        # 29 November: September's history waits (it ended before October).
        sealer = start_background_seal(store, "2026-10")
        assert sealer is not None and sealer.wait(timeout=120) == 0
        assert [s["file"].name.split("-sealed-")[1][:7] for s in listed(path)] == ["2026-09"]
        assert sealed_through(path) == (store.db.storage.db_id, "2026-10")
        # The month is done: no session starts another for it.
        store.refresh()
        assert start_background_seal(store, "2026-10") is None
        # The first of December: October's turn.
        sealer = start_background_seal(store, "2026-11")
        assert sealer is not None and sealer.wait(timeout=120) == 0
        store.refresh()
        assert len(listed(path)) == 2
        assert start_background_seal(store, "2026-12") is None  # nothing finished since
    finally:
        store.close()
    assert everything(path) == before


async def test_the_terminal_program_seals_in_a_process_of_its_own_when_the_month_turns(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, _ = sealed_db
    now = [FIXED_NOW]
    store = open_store(path, actor=Actor("nurse"), clock=lambda: now[0])
    app = IsolationApp(store, point="DD01")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            figures = dict(app.counters)
            now[0] = DECEMBER
            app.seal_when_due()
            assert app.sealer is not None and app.sealer.pid != os.getpid()
            assert app.sealer.wait(timeout=120) == 0
            store.refresh()
            await pilot.pause()
            app._recount()
            assert app.counters == figures
            # Once a month: the same month starts nothing more.
            sealer = app.sealer
            app.seal_when_due()
            assert app.sealer is sealer
    finally:
        store.close()
    assert len(listed(path)) == 2


def test_sealing_by_itself_can_be_turned_off(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, _ = sealed_db
    result = cli("--lang", "en", "seal", "--auto", "off")
    assert result.returncode == 0 and "no longer seal" in result.stdout
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    try:
        assert start_background_seal(store, "2026-11") is None
    finally:
        store.close()
    assert background("--until", "2026-11", "--db", str(path)).wait(timeout=120) == 0
    assert segment_files(path) == []
    # By hand it still seals; and on again, sessions seal by themselves again.
    assert cli("seal", "--until", "2026-10").returncode == 0
    assert cli("seal", "--auto", "on").returncode == 0
    assert background("--until", "2026-11", "--db", str(path)).wait(timeout=120) == 0
    assert len(listed(path)) == 2
    result = cli("--lang", "en", "check")
    assert result.returncode == 0, result.stderr
    # Turned off and on is audited, as any change of the settings.
    audit = orjson.loads(cli("export", "audit", "--format", "json").stdout)
    assert sum(1 for entry in audit if entry.get("table") == "settings") == 2


def test_a_busy_turn_makes_the_automatic_seal_step_aside(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    """Another process sealing (its turn held) makes a second automatic seal leave
    at once, without reading the database."""
    import fcntl

    path, _ = sealed_db
    fd = os.open(turn_path(path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert background("--until", "2026-11", "--db", str(path)).wait(timeout=120) == 0
        assert segment_files(path) == []
    finally:
        os.close(fd)


@pytest.mark.slow
def test_the_automatic_seal_on_postgresql_does_nothing(pg_url: str, cli: CliRunner) -> None:
    assert cli("demo", "--db", pg_url).returncode == 0
    result = cli("seal", "--background", "--until", "2030-01", "--db", pg_url)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    store = open_store(pg_url, actor=Actor("nurse"))
    try:
        assert start_background_seal(store, "2030-01") is None
    finally:
        store.close()


def test_a_session_saving_after_the_seal_takes_it_from_its_entry_and_reads_no_history(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    """The session takes the months sealed together from the seal's journal entry,
    reading no snapshot again, and correcting a record of the live set reads no
    sealed history in."""
    path, ids = sealed_db
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    reloads = []
    store.db.storage.add_listener(lambda changes: reloads.append(changes.reloaded))
    try:
        assert background("--until", "2026-11", "--db", str(path)).wait(timeout=120) == 0
        store.stays.correct(ids["open"], {"notes": "复查"}, "补充")
        assert reloads.count(True) == 0
        headers, _ = store.db.storage.sealed_outside()
        assert len(headers) == 2  # still outside memory
        assert store.get(STAYS, ids["open"])["notes"] == "复查"
    finally:
        store.close()
    assert everything(path)[0][STAYS][str(ids["open"])]["notes"] == "复查"
