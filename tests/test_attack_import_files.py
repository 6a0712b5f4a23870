"""A colleague hands over, or plants, an "import file" that is no file: a named pipe
nobody writes to, a device that never ends. The import must refuse it at once with
a message naming the file, and change nothing; never wait forever or read until
the machine runs out of memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import AUDIT

ROOMS = "point,point_name,room,floor,beds\nDD01,一号点,101,1,2\n"


def audit_count(db_path: Path) -> int:
    store = open_store(db_path, read_only=True)
    try:
        return len(store.rows(AUDIT))
    finally:
        store.close()


@pytest.fixture
def rooms(cli: CliRunner, db_path: Path, tmp_path: Path) -> int:
    file = tmp_path / "rooms.csv"
    file.write_text(ROOMS, encoding="utf-8")
    assert cli("import", "rooms", str(file)).returncode == 0
    return audit_count(db_path)


def test_a_named_pipe_is_refused_not_waited_on(
    cli: CliRunner, db_path: Path, tmp_path: Path, rooms: int
) -> None:
    fifo = tmp_path / "arrivals.csv"
    os.mkfifo(fifo)

    result = cli("import", "arrivals", str(fifo), timeout=60)

    assert result.returncode == 1
    assert str(fifo) in result.stderr and "not a regular file" in result.stderr
    assert audit_count(db_path) == rooms


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_not_read_forever(
    cli: CliRunner, db_path: Path, rooms: int, device: str
) -> None:
    result = cli("import", "arrivals", device, "--dry-run", timeout=60)

    assert result.returncode == 1
    assert device in result.stderr and "not a regular file" in result.stderr
    assert audit_count(db_path) == rooms


def test_a_file_that_grows_past_the_limit_while_read_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The size is what is read, not what ``stat`` said before (a file still being
    written, a /proc file that says 0)."""
    from isolation_tui.headless.imports import reading
    from isolation_tui.headless.imports.kinds import IMPORTERS
    from isolation_tui.headless.imports.reading import ImportFileError, read_table

    file = tmp_path / "big.csv"
    file.write_text("point,room,beds\n" + "DD01,101,1\n" * 100, encoding="utf-8")
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 200)
    with pytest.raises(ImportFileError, match="larger than"):
        read_table(file, IMPORTERS["rooms"].columns)
