"""``export`` where it could hurt: pointed at the database's own files, or cut off
by a reader that stops early (``| head``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.storage.paths import database_files
from isolation_tui.storage.repository import Store


@pytest.fixture
def crowded(store: Store) -> Store:
    rooms = [{"code": f"{i:03d}", "floor": "1", "beds": 1, "blocked": False} for i in range(150)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    with store.transaction():
        for n in range(150):
            store.stays.register(
                {
                    "point": "DD01",
                    "name": f"旅客{n}" + "长" * 40,
                    "id_type": "passport",
                    "id_number": f"P{n:05d}",
                    "category": "inbound",
                    "arrived_at": "2026-11-20 10:00",
                    "notes": "备注" * 60,
                }
            )
    return store


@pytest.mark.parametrize("which", [0, 1, 2], ids=["snapshot", "journal", "lock"])
def test_export_onto_a_database_file_is_refused(
    crowded: Store, db_path: Path, cli: CliRunner, which: int
) -> None:
    crowded.close()
    files = database_files(db_path)
    before = [p.read_bytes() for p in files]
    target = files[which]
    # Named another way (through "..") it is still the same file.
    roundabout = target.parent / "sub" / ".." / target.name
    (target.parent / "sub").mkdir()
    for out in (target, roundabout):
        result = cli("export", "arrivals", "--out", str(out))
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"{out} is the database itself; choose another output file" in result.stderr
        assert [p.read_bytes() for p in files] == before
    assert cli("check").returncode == 0


def test_a_reader_that_stops_early_gets_no_traceback(crowded: Store, db_path: Path) -> None:
    crowded.close()
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    # The reader is gone before a byte is written, as in `| true` (pipes here may
    # hold megabytes, so a reader that takes a little and stops proves nothing).
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "isolation_tui", "export", "arrivals", "--format", "json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
        )
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err
