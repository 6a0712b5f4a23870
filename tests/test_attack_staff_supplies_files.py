"""A colleague hands over staff and supplies files that are not what they seem: in
GBK or UTF-16 (with and without its mark), binary, with a field of hundreds of
thousands of characters, or a gigabyte long. Each is read right or refused with a
message naming the file (and the row and field where there is one), nothing is
stored, and the import's memory does not grow with the file."""

from __future__ import annotations

import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CliRunner
from test_staff_cli import points

from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import STAFF, SUPPLIES

TEXT = {
    "staff": "隔离点,姓名,岗位,手机\nDD01,王护士,护士,138 0000 1234\nDD01,李医生,medical,\n",
    "supplies": "隔离点,物资,类型,数量,时间\n"
    "DD01,protective_suit,delivery,100,2026-11-20 10:00\n"
    "DD01,protective_suit,issue,30,2026-11-21 10:00\n",
}
TABLE = {"staff": STAFF, "supplies": SUPPLIES}
KINDS = pytest.mark.parametrize("kind", ["staff", "supplies"])


def db_files(db_path: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in db_path.parent.iterdir()
        if p.name.startswith(db_path.name) and not p.name.endswith("-lock")
    }


def stored(db_path: Path, kind: str) -> int:
    store = open_store(db_path, read_only=True)
    try:
        return len(store.rows(TABLE[kind]))
    finally:
        store.close()


@KINDS
@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-8-sig"])
def test_a_file_in_each_encoding_a_spreadsheet_saves_is_read_right(
    db_path: Path, tmp_path: Path, cli: CliRunner, kind: str, encoding: str
) -> None:
    points(db_path)
    file = tmp_path / f"{kind}.csv"
    file.write_bytes(TEXT[kind].encode(encoding))
    result = cli("import", kind, str(file))
    assert result.returncode == 0, result.stderr
    assert stored(db_path, kind) == 2


@KINDS
@pytest.mark.parametrize("content", ["utf-16 without its mark", "binary", "a PNG"])
def test_a_file_in_no_encoding_tried_is_refused_by_name(
    db_path: Path, tmp_path: Path, cli: CliRunner, kind: str, content: str
) -> None:
    points(db_path)
    before = db_files(db_path)
    if content == "utf-16 without its mark":
        raw = TEXT[kind].encode("utf-16-le")
    elif content == "binary":
        raw = random.Random(7).randbytes(64 << 10)
    else:
        raw = b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(4096)
    file = tmp_path / f"{kind}.csv"
    file.write_bytes(raw)
    result = cli("--lang", "en", "import", kind, str(file))
    assert result.returncode == 1
    # Refused as in no encoding tried, or in none that can be told for sure.
    assert result.stderr.startswith(f"{file}: not ") and "Save As" in result.stderr
    assert "Traceback" not in result.stderr
    assert db_files(db_path) == before


@KINDS
def test_a_huge_field_is_named_with_its_row(
    db_path: Path, tmp_path: Path, cli: CliRunner, kind: str
) -> None:
    points(db_path)
    before = db_files(db_path)
    first, *rows = TEXT[kind].splitlines()
    cells = rows[1].split(",")
    cells[1] = "x" * 300_000  # the name, the item
    file = tmp_path / f"{kind}.csv"
    file.write_text("\n".join([first, rows[0], ",".join(cells)]) + "\n", encoding="utf-8")
    result = cli("--lang", "en", "import", kind, str(file))
    assert result.returncode == 1
    field = "姓名 (name)" if kind == "staff" else "物资 (item)"
    assert f"{file}:3: {field}: 300000 characters, more than the " in result.stderr
    assert "Traceback" not in result.stderr
    assert db_files(db_path) == before


PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr)
"""


@KINDS
def test_a_gigabyte_file_is_refused_before_it_is_read(
    db_path: Path, tmp_path: Path, kind: str
) -> None:
    """A header, then one line of a gigabyte (a sparse file: it takes no disk)."""
    points(db_path)
    before = db_files(db_path)
    file = tmp_path / f"{kind}.csv"
    with file.open("wb") as out:
        out.write(TEXT[kind].splitlines()[0].encode() + b"\n")
        out.truncate(1 << 30)
    command = [sys.executable, "-m", "isolation_tui", "--lang", "en", "--db", str(db_path)]
    measured = subprocess.run(
        [sys.executable, "-c", PEAK, *command, "import", kind, str(file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, peak_kib = map(int, measured.stdout.split())
    assert code == 1
    assert str(file) in measured.stderr and "larger than" in measured.stderr
    # What the program takes to start and open the store, not the file's 256 MiB
    # (the most it would read) nor its gigabyte.
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert peak_kib < max(baseline, 150 << 10)
    assert db_files(db_path) == before
