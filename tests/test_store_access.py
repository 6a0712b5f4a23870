"""Waiting for the writers' lock, folders the user may not enter, places that cannot
be written, and a demo stopped midway: a message each time, never a traceback, and
nothing half-made. Real processes: a real lock holder, a real unprivileged user
(uid 65534; the tests run as root, whom file modes do not stop)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreBusy
from isolation_tui.storage.paths import database_files

NOBODY = 65534

HOLDER = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("holding", flush=True)
sys.stdin.readline()
"""

# The command line as another user: root imports what it needs (the interpreter may
# live where that user cannot read), then drops to the user and runs the command.
AS_USER = r"""
import os, sys
import isolation_tui.cli
import isolation_tui.headless.check, isolation_tui.headless.imports
import isolation_tui.headless.demo, isolation_tui.headless.reports
import encodings.gb18030, encodings.utf_16, encodings.utf_8_sig, textwrap
uid = int(sys.argv[1])
os.setgroups([])
os.setgid(uid)
os.setuid(uid)
sys.argv = ["isolation-tui", *sys.argv[2:]]
isolation_tui.cli.main()
"""


def lock_of(path: Path) -> Path:
    return path.with_name(path.name + "-lock")


def make(path: Path, n: int = 2) -> None:
    db = Database(path, create=True)
    for i in range(n):
        db.table("t").insert({"n": i})
    db.close()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def holder(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the writers' lock until it reads a line."""
    make(db_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_of(db_path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "holding\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# ---------------------------------------------------------------- the writers' lock


def test_a_writer_that_waits_says_so_then_gives_up_changing_nothing(
    cli: CliRunner, db_path: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,2\n")
    before = snapshot(db_path.parent)
    result = cli("import", "rooms", str(rooms), env={"ISOLATION_TUI_LOCK_TIMEOUT": "2"})
    assert result.returncode == 1
    assert "Waiting for another session to finish writing" in result.stderr
    assert f"{lock_of(db_path)}: another session has been writing for 2 s" in result.stderr
    assert "ISOLATION_TUI_LOCK_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db_path.parent) == before


def test_a_writer_that_waits_goes_on_once_the_lock_is_free(
    db_path: Path, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,2\n")
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8"}
    waiting = subprocess.Popen(
        [sys.executable, "-m", "isolation_tui", "import", "rooms", str(rooms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert waiting.stderr is not None
        said = waiting.stderr.readline()
        assert said.startswith("Waiting for another session to finish writing")
        assert "giving up after 30 s" in said
        holder.communicate("\n", timeout=30)
        out, err = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
        waiting.wait()
    assert waiting.returncode == 0, err
    assert "saved 1 rooms" in out


def test_a_session_is_told_when_it_waits_and_can_give_up(
    db_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISOLATION_TUI_LOCK_TIMEOUT", "1.5")
    db = Database(db_path)
    told: list[tuple[Path, float]] = []
    db.storage.on_lock_wait = lambda path, limit: told.append((path, limit))
    try:
        with pytest.raises(StoreBusy, match="gave up waiting"):
            db.table("t").insert({"n": 9})
        assert told == [(lock_of(db_path), 1.5)]
        assert [d["n"] for d in db.table("t").all()] == [0, 1]
        holder.communicate("\n", timeout=30)
        assert db.table("t").insert({"n": 9}) == 3
    finally:
        db.close()


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_lock_timeout_that_is_not_a_number_of_seconds_is_refused(
    cli: CliRunner, db_path: Path, tmp_path: Path, holder: subprocess.Popen[str], value: str
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,2\n")
    result = cli("import", "rooms", str(rooms), env={"ISOLATION_TUI_LOCK_TIMEOUT": value})
    assert result.returncode == 1
    assert f"ISOLATION_TUI_LOCK_TIMEOUT=“{value}” is not a number of seconds" in result.stderr


# ---------------------------------------------------------------- permissions


@pytest.fixture
def locked_folder() -> Iterator[Path]:
    """A root-owned folder (0700) with a database in it, inside one anybody can enter."""
    outer = Path(tempfile.mkdtemp(prefix="isolation-access-"))
    outer.chmod(0o755)
    (outer / "rooms.csv").write_text("point,room,beds\nDD01,101,2\n")
    inner = outer / "private"
    inner.mkdir(mode=0o700)
    make(inner / "points.db")
    yield inner
    shutil.rmtree(outer, ignore_errors=True)


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    assert os.geteuid() == 0, "run the suite as root (CI does): it drops to uid 65534"
    env = {**os.environ, "LANG": "C.UTF-8"}
    env.pop("ISOLATION_TUI_DB", None)
    # uid 65534 may not write coverage's data file into the project: unmeasured.
    env.pop("COVERAGE_PROCESS_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-c", AS_USER, str(NOBODY), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["check"],
        ["points"],
        ["export", "arrivals"],
        ["backup", "--out", "/tmp/isolation-nobody-backup-never.db"],
        ["import", "rooms", "ROOMS"],
        ["demo"],
        ["schedule", "--point", "X", "--category", "inbound", "--days", "1"],
    ],
    ids=lambda a: a[0],
)
def test_a_folder_the_user_may_not_enter_gives_a_message(
    locked_folder: Path, args: list[str]
) -> None:
    db = locked_folder / "points.db"
    before = snapshot(locked_folder)
    rooms = str(locked_folder.parent / "rooms.csv")
    result = as_nobody(*[rooms if a == "ROOMS" else a for a in args], "--db", str(db))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert str(db) in result.stderr
    assert "Permission denied" in result.stderr
    assert snapshot(locked_folder) == before
    assert not Path("/tmp/isolation-nobody-backup-never.db").exists()


def test_demo_force_where_it_cannot_write_gives_a_message(locked_folder: Path) -> None:
    locked_folder.chmod(0o755)  # nobody may look, not write
    for path in locked_folder.iterdir():
        path.chmod(0o644)
    db = locked_folder / "points.db"
    before = snapshot(locked_folder)
    result = as_nobody("demo", "--force", "--db", str(db))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot write" in result.stderr
    assert str(locked_folder) in result.stderr
    assert snapshot(locked_folder) == before


# ---------------------------------------------------------------- demo


@pytest.mark.slow
def test_a_demo_killed_midway_leaves_nothing_to_force(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    """Killed while it writes (its work files exist, elsewhere), it leaves no database."""
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "TMPDIR": str(work), "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "isolation_tui", "demo", "--db", str(db_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        # Where it writes now (or, before, where it wrote straight into place).
        journal = db_path.with_name(db_path.name + "-journal")
        while not list(work.glob("*/demo.db-journal")) and not journal.exists():
            assert proc.poll() is None, "the demo ended before it could be stopped"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert not any(os.path.lexists(f) for f in database_files(db_path))
    again = cli("demo", "--db", str(db_path))
    assert again.returncode == 0, again.stderr
    assert cli("check").returncode == 0
