"""A colleague who can write into the data folder goes after sealed history: plants a
link or a pipe where a segment will be written or where one is, swaps a segment for
another database's, edits one, opens one to everybody; and a seal killed between its
two renames leaves a segment nobody lists. Each is refused or reported by the file's
name, never followed, and nothing listed is ever removed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXED_NOW, CliRunner
from test_store_seal import SEALER, everything, history, seal

from isolation_tui.headless.seal import start_background_seal
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.errors import StoreError
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.sealing import turn_path
from isolation_tui.storage.segments import segment_files, segment_path

NOBODY = 65534


def not_ours(spot: Path) -> None:
    """A regular file of another OS account at ``spot``: given away (as root), or
    else a hard link to a file of root's."""
    if os.geteuid() == 0:
        spot.write_text("someone else's")
        os.chown(spot, NOBODY, NOBODY)
    else:
        os.link("/etc/hostname", spot)


@pytest.fixture
def sealed_db(store: Store, db_path: Path) -> Path:
    history(store)
    store.close()
    return db_path


def listed_files(path: Path) -> list[Path]:
    storage = JournalStorage(path, read_only=True)
    try:
        return [segment.path for segment in storage.sealed_segments()]
    finally:
        storage.close()


def killed_between_renames(path: Path) -> Path:
    """A seal killed once its first segment is in place, before the snapshot that
    lists it: the segment it leaves."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SEALER, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    placed = proc.stdout.readline().split()
    assert placed[0] == "placed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return path.with_name(placed[1])


def test_a_segment_left_by_a_killed_seal_is_reported_then_removed_by_the_next(
    sealed_db: Path, cli: CliRunner
) -> None:
    path = sealed_db
    before = everything(path)
    left = killed_between_renames(path)
    assert left.exists() and listed_files(path) == []

    result = cli("--lang", "en", "check")
    # Harmless (nothing lists it), so the check passes, but it says so by name.
    assert result.returncode == 0, result.stderr
    assert str(left) in result.stdout + result.stderr
    assert "no snapshot lists" in result.stdout + result.stderr

    seal(path)
    assert not left.exists()
    assert segment_files(path) == listed_files(path) and len(segment_files(path)) == 2
    assert everything(path) == before
    result = cli("--lang", "en", "check")
    assert result.returncode == 0 and "no snapshot lists" not in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["symlink", "fifo", "other's file"])
def test_a_thing_planted_at_a_segments_name_is_never_followed_nor_removed(
    sealed_db: Path, cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    """Planted at the very name the next seal would take (the month, then the
    transaction it seals at), and at another unlisted segment name."""
    path = sealed_db
    before = everything(path)
    seq = JournalStorage(path, read_only=True).seq
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    planted = [segment_path(path, f"2026-09-{seq}"), segment_path(path, "2020-01-1")]
    for spot in planted:
        if kind == "symlink":
            spot.symlink_to(victim)
        elif kind == "fifo":
            os.mkfifo(spot)
        else:
            not_ours(spot)

    result = cli("--lang", "en", "check", timeout=60)
    assert result.returncode == 0, result.stderr
    for spot in planted:
        assert str(spot) in result.stdout + result.stderr

    made = seal(path)
    assert len(made) == 2
    assert everything(path) == before
    for spot in planted:
        assert os.path.lexists(spot)
    assert victim.read_text() == "keep me"
    assert set(listed_files(path)).isdisjoint(planted)


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_listed_segment_swapped_for_a_link_or_a_pipe_is_refused_by_name(
    sealed_db: Path, cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    path = sealed_db
    seal(path)
    first = listed_files(path)[0]
    real = tmp_path / "real-segment"
    shutil.move(first, real)
    if kind == "symlink":
        first.symlink_to(real)
    else:
        os.mkfifo(first)
    result = cli("--lang", "en", "check", timeout=60)
    assert result.returncode == 1 and str(first) in result.stderr
    with pytest.raises(StoreError, match=str(first)):
        JournalStorage(path, read_only=True)
    # A seal refuses too, and removes nothing.
    with pytest.raises(StoreError, match=str(first)):
        seal(path)
    assert os.path.lexists(first) and real.exists()


def test_another_databases_segment_or_an_edited_one_is_refused_by_name(
    sealed_db: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """The other database has a segment of the same name (same month, same
    transaction): checksum and database id both tell them apart."""
    path = sealed_db
    other = tmp_path / "other" / path.name
    other.parent.mkdir()
    store = open_store(other, create=True, actor=Actor("other"), clock=lambda: FIXED_NOW)
    history(store)
    store.close()
    seal(path)
    seal(other)
    mine, theirs = listed_files(path)[0], listed_files(other)[0]
    assert mine.name == theirs.name
    shutil.copy(theirs, mine)
    result = cli("--lang", "en", "check")
    assert result.returncode == 1 and str(mine) in result.stderr
    with pytest.raises(StoreError, match=str(mine)):
        JournalStorage(path, read_only=True)


@pytest.mark.parametrize("mode", [0o644, 0o620, 0o606])
def test_a_segment_opened_to_others_is_reported_by_name(
    sealed_db: Path, cli: CliRunner, mode: int
) -> None:
    """The README promises files of the owner only (0600, or the database's own
    mode in a shared folder): a segment someone opened up holds personal data."""
    path = sealed_db
    seal(path)
    first = listed_files(path)[0]
    assert first.stat().st_mode & 0o777 == path.stat().st_mode & 0o777 == 0o600
    first.chmod(mode)
    result = cli("--lang", "en", "check")
    assert result.returncode == 1
    assert str(first) in result.stderr and f"{mode:o}" in result.stderr
    # The database's own mode is the measure: a group folder's 0660 is no finding.
    for file in [path, *segment_files(path)]:
        file.chmod(0o660)
    assert cli("check").returncode == 0


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_link_or_a_pipe_planted_as_the_sealing_turn_is_refused_by_name(
    sealed_db: Path, cli: CliRunner, tmp_path: Path, kind: str
) -> None:
    path = sealed_db
    before = everything(path)
    turn = turn_path(path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if kind == "symlink":
        turn.symlink_to(victim)
    else:
        os.mkfifo(turn)
    result = cli("--lang", "en", "seal", "--until", "2026-11", timeout=60)
    assert result.returncode == 1 and str(turn) in result.stderr
    # The automatic seal leaves it be, quietly; a session starts none.
    quiet = cli("seal", "--background", "--until", "2026-11", timeout=60)
    assert quiet.stdout == "" and "Traceback" not in quiet.stderr
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    try:
        assert start_background_seal(store, "2026-11") is None
    finally:
        store.close()
    assert victim.read_text() == "keep me" and os.path.lexists(turn)
    assert everything(path) == before and segment_files(path) == []
