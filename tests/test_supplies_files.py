"""``import supplies`` and ``export supplies`` in real processes: all rows or none,
problems named by file, row and field; an export safe for a spreadsheet that
imports again."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.supplies import SUPPLIES

ROOMS = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]
HEADER = "point,item,kind,quantity,counted,at,donor,other_point,reason,notes,unit\n"
GOOD = (
    HEADER
    + "DD01,防护服,配送,800,,2026-11-27 08:00,,,,第一批,\n"
    + "DD01,N95,donation,200,,2026-11-27 09:00,红十字会,,,,\n"
    # Not in time order: the issue at 20:00 comes before the receipt it needs.
    + "DD01,test_kit,issue,50,,2026-11-28 20:00,,,,,\n"
    + "DD01,test_kit,delivery,100,,2026-11-28 08:00,,,,,\n"
    + "DD01,protective_suit,transfer_out,500,,2026-11-28 10:00,,DD02,,支援,\n"
    + "DD01,protective_suit,盘点,,290,2026-11-28 21:00,,,损坏10件,,\n"
    + "DD02,隔离衣,delivery,30,,2026-11-28 10:00,,,,,件\n"
)


def make_db(location: str) -> None:
    store = open_store(
        location, create=True, actor=Actor("tester"), clock=lambda: datetime(2026, 11, 29, 9)
    )
    store.save_point("DD01", "一号点", ROOMS)  # type: ignore[arg-type]
    store.save_point("DD02", "二号点", ROOMS)  # type: ignore[arg-type]
    store.close()


def levels(location: str) -> dict[tuple[str, str], int]:
    store = open_store(location, read_only=True, clock=lambda: datetime(2026, 11, 29, 9))
    try:
        return {
            (level.point, level.item): level.stock
            for point in store.points()
            for level in store.supplies.levels(point)
            if level.stock
        }
    finally:
        store.close()


def test_import_then_export_then_import_again(
    location: str, cli: CliRunner, tmp_path: Path
) -> None:
    make_db(location)
    source = tmp_path / "supplies.csv"
    source.write_text(GOOD, encoding="utf-8")
    result = cli("import", "supplies", str(source), "--db", location)
    assert result.returncode == 0, result.stderr
    assert "imported 7 supply movements" in result.stdout
    assert levels(location) == {
        ("DD01", "protective_suit"): 290,
        ("DD01", "n95_mask"): 200,
        ("DD01", "test_kit"): 50,
        ("DD02", "protective_suit"): 500,
        ("DD02", "隔离衣"): 30,
    }

    exported = cli("export", "supplies", "--db", location)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    assert len(rows) == 8  # a transfer is listed on both sides
    assert rows[0]["item"] == "protective_suit" and rows[0]["unit"] == "piece"
    adjustment = next(row for row in rows if row["kind"] == "adjustment")
    # A negative number would run as a formula in a spreadsheet: it is text.
    assert (adjustment["quantity"], adjustment["counted"]) == ("'-10", "290")

    other = tmp_path / "other.db"
    make_db(str(other))
    again = tmp_path / "again.csv"
    again.write_text(exported.stdout, encoding="utf-8")
    result = cli("import", "supplies", str(again), "--db", str(other))
    assert result.returncode == 0, result.stderr
    assert "skipped 1 row(s)" in result.stdout
    assert levels(str(other)) == levels(location)


def test_a_bad_file_changes_nothing(cli: CliRunner, db_path: Path, tmp_path: Path) -> None:
    make_db(str(db_path))
    source = tmp_path / "bad.csv"
    source.write_text(
        HEADER
        + "DD01,防护服,delivery,100,,2026-11-28 08:00,,,,,\n"
        + "DD01,防护服,issue,150,,2026-11-28 20:00,,,,,\n"
        + "DD01,口罩,gift,10,,2026-11-28 08:00,,,,,\n"
        + "DD01,护目镜x,delivery,10,,2026-11-28 08:00,,,,,\n"
        + "DD01,gloves,donation,10,,2026-11-28 08:00,,,,,\n"
        + "DD01,gloves,transfer_out,abc,,2026-11-28 08:00,,DD01,,,\n",
        encoding="utf-8",
    )
    result = cli("import", "supplies", str(source))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        "bad.csv:3: quantity: would take the stock of protective suits at DD01 below zero",
        "bad.csv:4: kind: “gift” is not one of",
        "bad.csv:5: item: “护目镜x” is not an item of this point",
        "bad.csv:6: donor: a donation names its donor",
        "bad.csv:7: quantity: “abc” is not a whole number",
        "bad.csv:7: other_point: is this point",
    ]
    for start in expected:
        assert any(start in line for line in lines), (start, lines)
    assert levels(str(db_path)) == {}
    store = open_store(db_path, read_only=True)
    try:
        assert store.rows(SUPPLIES) == {}
    finally:
        store.close()


@pytest.mark.parametrize("cell", ["=1+2", "@SUM(A1)", "+86 boxes"])
def test_an_export_is_safe_in_a_spreadsheet(
    cli: CliRunner, db_path: Path, tmp_path: Path, cell: str
) -> None:
    make_db(str(db_path))
    store = open_store(db_path, actor=Actor("tester"), clock=lambda: datetime(2026, 11, 29, 9))
    store.supplies.record(
        "donation", {"point": "DD01", "item": "gloves", "quantity": "5", "donor": cell}
    )
    store.close()
    out = tmp_path / "supplies.csv"
    result = cli("export", "supplies", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0]["donor"] == "'" + cell
