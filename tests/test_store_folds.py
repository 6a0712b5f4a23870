"""No save pays for a compaction: the save whose entry takes the journal over the
line returns having written its entry only; the fold is written after the writers'
lock is let go (a library caller, the command line) or in a process of its own (the
terminal program), one at a time, and a fold killed at any moment leaves the data
whole for the next one to fold. Real files and real processes."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from isolation_tui.headless import compact as compact_mod
from isolation_tui.headless.compact import BackgroundFolds, turn_path
from isolation_tui.storage import engine
from isolation_tui.storage.database import Database
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.journal import decode_snapshot
from isolation_tui.storage.repository import Store


def journal_base(path: Path) -> int:
    header = path.with_name(path.name + "-journal").read_bytes().partition(b"\n")[0]
    return int(header.split(b" ")[2])


def everything(path: Path) -> dict[str, object]:
    storage = JournalStorage(path, read_only=True)
    try:
        return orjson.loads(orjson.dumps(storage.tables()))
    finally:
        storage.close()


def lock_is_free(path: Path) -> bool:
    """Whether a writer could take the writers' lock now (another open file
    description: ``flock`` tells it from this process's own hold too)."""
    fd = os.open(path.with_name(path.name + "-lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.fixture
def filled(db_path: Path) -> Iterator[Database]:
    """A database whose journal the next write takes over the compaction line."""
    db = Database(db_path, create=True)
    for n in range(20):
        db.table("t").insert({"n": n, "pad": "x" * 200})
    yield db
    db.close()


def line_at_next_write(monkeypatch: pytest.MonkeyPatch, storage: JournalStorage) -> None:
    assert storage._snapshot_size < storage._journal_offset
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", storage._journal_offset + 1)


def test_a_save_over_the_line_returns_with_its_entry_only_and_the_fold_comes_after(
    filled: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = filled.storage
    assert isinstance(storage, JournalStorage)
    line_at_next_write(monkeypatch, storage)
    asked: list[bool] = []
    storage.fold_elsewhere = lambda: asked.append(lock_is_free(db_path))
    snapshot = db_path.read_bytes()
    before = everything(db_path)

    filled.table("t").insert({"n": 20})

    # The save returned: its entry is in the journal, the snapshot untouched, and
    # the fold was asked for once, with the writers' lock already let go.
    assert db_path.read_bytes() == snapshot and journal_base(db_path) == 0
    assert asked == [True]
    assert everything(db_path)["t"] == {**before["t"], "21": {"n": 20}}
    # The next saves below the next multiple of the line ask for nothing.
    filled.table("t").insert({"n": 21})
    assert asked == [True]

    # The fold, in a process of its own: the data folds, whole.
    fold_by_hand(db_path)
    assert journal_base(db_path) == storage.seq
    assert decode_snapshot(db_path.read_bytes(), str(db_path))["seq"] == storage.seq
    expected = {**before["t"], "21": {"n": 20}, "22": {"n": 21}}
    assert everything(db_path)["t"] == expected
    # The session follows the fold as any other process's, and writes on.
    filled.refresh()
    filled.table("t").insert({"n": 22})
    assert len(everything(db_path)["t"]) == len(expected) + 1


def fold_by_hand(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "isolation_tui", "compact", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_a_library_save_over_the_line_folds_after_letting_go_of_the_lock(
    filled: Database, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = filled.storage
    assert isinstance(storage, JournalStorage)
    line_at_next_write(monkeypatch, storage)
    written_aside: list[bool] = []
    real = JournalStorage._write_aside

    def spy(self: JournalStorage, *args: object, **kwargs: object) -> object:
        written_aside.append(lock_is_free(db_path))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(JournalStorage, "_write_aside", spy)
    before = everything(db_path)
    filled.table("t").insert({"n": 20})
    # Folded by this process, the new snapshot written while others could write.
    assert written_aside == [True]
    assert journal_base(db_path) == storage.seq
    assert everything(db_path)["t"] == {**before["t"], "21": {"n": 20}}


WAITING = textwrap.dedent(
    """
    import sys
    from isolation_tui.headless.compact import run_compaction
    from isolation_tui.storage import engine
    engine.COMPACT_MIN_BYTES = 0
    real = engine.JournalStorage.compact

    def compact(self):
        print("folding", flush=True)
        sys.stdin.readline()
        real(self)

    engine.JournalStorage.compact = compact
    print("started", flush=True)
    run_compaction(sys.argv[1], background=True)
    print("done", flush=True)
    """
)


def waiting_compactor(path: Path) -> subprocess.Popen[str]:
    """A fold in a process of its own that waits for a line before it writes."""
    return subprocess.Popen(
        [sys.executable, "-c", WAITING, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_sessions_crossing_together_start_one_fold(filled: Database, db_path: Path) -> None:
    first = waiting_compactor(db_path)
    second: subprocess.Popen[str] | None = None
    try:
        assert first.stdout is not None
        assert first.stdout.readline() == "started\n"
        assert first.stdout.readline() == "folding\n"  # its turn: held while it folds
        second = waiting_compactor(db_path)
        assert second.stdout is not None
        # The other finds the turn taken and leaves at once, having done nothing.
        assert second.stdout.readline() == "started\n"
        assert second.stdout.readline() == "done\n" and second.wait(timeout=30) == 0
        assert journal_base(db_path) == 0
        first.communicate("go\n", timeout=60)
        assert first.returncode == 0
        assert journal_base(db_path) == filled.storage.seq
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    # The turn went with it: the next fold runs.
    with open(turn_path(db_path), "rb") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from isolation_tui.headless.compact import run_compaction
    from isolation_tui.storage import engine
    engine.COMPACT_MIN_BYTES = 0
    when, number = sys.argv[2].split(":")
    calls = []
    real_replace = os.replace

    def replace(src, dst):
        calls.append(dst)
        if when == "before" and len(calls) == int(number):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if when == "after" and len(calls) == int(number):
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    run_compaction(sys.argv[1], background=True)
    print("not killed", flush=True)
    """
)


@pytest.mark.parametrize("point", ["before:1", "after:1", "before:2", "after:2"])
def test_a_fold_in_a_process_of_its_own_killed_at_each_step_leaves_the_data_whole(
    filled: Database, db_path: Path, point: str
) -> None:
    """Snapshot written / renamed, journal written / renamed: killed after each; the
    next fold folds it."""
    before = everything(db_path)
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_CONFIG"}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, str(db_path), point],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert everything(db_path) == before
    # The session open before follows to the same state, and writes on.
    filled.refresh()
    assert orjson.loads(orjson.dumps(filled.storage.tables())) == before
    filled.table("t").insert({"n": "after"})
    after = everything(db_path)
    assert len(after["t"]) == len(before["t"]) + 1

    # The next fold folds it.
    fold_by_hand(db_path)
    assert journal_base(db_path) == decode_snapshot(db_path.read_bytes(), str(db_path))["seq"]
    assert everything(db_path) == after
    assert not list(db_path.parent.glob("*.tmp-*"))


def test_a_session_starting_on_a_journal_left_over_the_line_folds_it(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save_point("DD01", "一号点", [{"code": "1", "floor": "1", "beds": 1, "blocked": False}])
    started: list[JournalStorage] = []
    monkeypatch.setattr(
        compact_mod, "start_background_compaction", lambda storage: started.append(storage)
    )
    folds = BackgroundFolds(store)
    folds.if_over_the_line()
    assert started == []  # under the line: nothing to fold
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 0)
    folds.if_over_the_line()
    assert started == [store.db.storage]
