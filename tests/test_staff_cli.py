"""The staff commands as real processes: ``import staff`` (all rows or none, each
problem as ``FILE:ROW: field: message``), ``duty`` (a point's rules) and
``export duty --month`` (the allowance: days per person, spreadsheet-safe)."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import FIXED_NOW

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import STAFF

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
ROOMS = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]


def points(db_path: Path) -> None:
    store = open_store(db_path, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    store.save_point("DD01", "一号点", ROOMS)  # type: ignore[arg-type]
    store.save_point("DD02", "二号点", ROOMS)  # type: ignore[arg-type]
    store.close()


def stored(db_path: Path) -> dict[str, dict[str, str]]:
    store = open_store(db_path, read_only=True)
    try:
        return {doc["name"]: doc for doc in store.rows(STAFF).values()}
    finally:
        store.close()


def test_import_staff_in_chinese_headers_then_again(
    db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    points(db_path)
    file = tmp_path / "人员.csv"
    file.write_text(
        "隔离点,姓名,岗位,手机\n"
        "DD01,王护士,护士,138 0000 1234\n"
        "一号点,李医生,medical,\n"
        "DD02,=SUM(A1),干部,13900001111\n",
        encoding="gb18030",
    )
    result = cli("import", "staff", str(file))
    assert result.returncode == 0, result.stderr
    assert "imported 3 staff" in result.stdout
    people = stored(db_path)
    assert {name: (d["point"], d["role"]) for name, d in people.items()} == {
        "王护士": ("DD01", "nursing"),
        "李医生": ("DD01", "medical"),
        "=SUM(A1)": ("DD02", "cadre"),
    }
    again = cli("import", "staff", str(file))
    assert again.returncode == 0, again.stderr
    assert "skipped 3 row(s): the same person is on the list already" in again.stdout
    assert len(stored(db_path)) == 3


def test_a_bad_staff_file_stores_nothing_and_names_each_problem(
    db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    points(db_path)
    journal = Path(str(db_path) + "-journal").read_bytes()
    file = tmp_path / "staff.csv"
    file.write_text(
        "point,name,role,phone\n"
        "DD01,王护士,nursing,138 0000 1234\n"
        "DD09,李医生,chef,12ab\n"
        "DD01,,police,\n",
        encoding="utf-8",
    )
    result = cli("import", "staff", str(file))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert f"{file}:3: point: no point with code “DD09”" in lines
    assert any(line.startswith(f"{file}:3: role: “chef” is not one of") for line in lines)
    assert f"{file}:3: phone: “12ab” is not a phone number" in lines
    assert f"{file}:4: name: is required" in lines
    assert Path(str(db_path) + "-journal").read_bytes() == journal
    assert stored(db_path) == {}


def test_duty_rules_of_a_point(db_path: Path, cli: CliRunner) -> None:
    points(db_path)
    shown = cli("duty", "--point", "DD01")
    assert shown.returncode == 0, shown.stderr
    assert "limit 12 h" in shown.stdout and "medical 200" in shown.stdout
    result = cli(
        "duty", "--point", "DD01", "--limit", "10", "--day-hours", "6", "--rate", "医疗=180"
    )
    assert result.returncode == 0, result.stderr
    assert "limit 10 h" in result.stdout and "medical 180" in result.stdout
    bad = cli("duty", "--point", "DD01", "--rate", "chef=1")
    assert bad.returncode == 1
    assert "rate: “chef=1” is not a rate" in bad.stderr
    store = open_store(db_path, read_only=True)
    try:
        rules = store.staff.rules("DD01")
        assert (rules.limit_hours, rules.day_hours, rules.rates["medical"]) == (10, 6, 180)
    finally:
        store.close()


def duty_rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output.lstrip("\ufeff"))))


def test_export_duty_counts_days_with_enough_hours(db_path: Path, cli: CliRunner) -> None:
    points(db_path)
    store = open_store(db_path, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    nurse = store.staff.add_staff({"point": "DD01", "name": "=王护士", "role": "nursing"})
    doctor = store.staff.add_staff({"point": "DD01", "name": "李医生", "role": "medical"})
    for start, end in (
        ("2026-10-31 20:00", "2026-11-01 08:00"),  # 4 h on Oct 31, 8 h on Nov 1
        ("2026-11-02 08:00", "2026-11-02 11:00"),  # 3 h: not a day
        ("2026-11-03 08:00", "2026-11-03 20:00"),
    ):
        store.staff.start_duty(nurse, start)
        store.staff.end_duty(nurse, end)
    store.staff.start_duty(doctor, "2026-11-28 20:00")
    store.staff.end_duty(doctor, "2026-11-29 09:00")
    store.staff.set_rules("DD01", rates=["medical=150"])
    store.close()
    result = cli("export", "duty", "--month", "2026-11")
    assert result.returncode == 0, result.stderr
    rows = duty_rows(result.stdout)
    assert [(r["name"], r["days"], r["dates"], r["rate"], r["amount"]) for r in rows] == [
        ("'=王护士", "2", "01,03", "200", "400"),
        ("李医生", "2", "28,29", "150", "300"),
    ]
    assert rows[0]["month"] == "2026-11" and rows[0]["role"] == "nursing"
    assert rows[0]["day_hours"] == "4"
    bad = cli("export", "duty", "--month", "November")
    assert bad.returncode == 1
    assert "“November” is not a month" in bad.stderr
    missing = cli("export", "duty")
    assert missing.returncode == 2


def test_import_staff_from_a_workbook(db_path: Path, tmp_path: Path, cli: CliRunner) -> None:
    from openpyxl import Workbook

    points(db_path)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["隔离点", "姓名", "岗位", "电话"])
    sheet.append(["DD02", "赵警官", "公安", 13800001234])
    file = tmp_path / "staff.xlsx"
    book.save(file)
    result = cli("import", "staff", str(file))
    assert result.returncode == 0, result.stderr
    person = stored(db_path)["赵警官"]
    assert (person["point"], person["role"], person["phone"]) == ("DD02", "police", "13800001234")
