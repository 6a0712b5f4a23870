"""Excel workbooks in: as LibreOffice Calc and openpyxl write them, with title rows,
Chinese and merged headers, dates, numbers where text was meant, several sheets.

The LibreOffice-made fixtures (tests/fixtures/workbooks/*.xlsx) are made by the
script beside them; the promise is the CSV import's: every row checked, all stored
or none, each problem named as ``FILE:SHEET!ROW: field: message``.
"""

from __future__ import annotations

import csv
import io
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from fixtures.workbooks.make import convert
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from test_export import NASTY, add_people
from test_handover import arrive
from test_import import (
    ARRIVAL_HEADER,
    db_files,
    person_row,
    resident_id,
    setup_points,
    write_csv,
)

from isolation_tui.app import IsolationApp
from isolation_tui.headless.csv_export import ARRIVAL_COLUMNS, arrival_rows, run_export
from isolation_tui.headless.imports.workbook import _text
from isolation_tui.headless.xlsx_export import SIZED_BY, to_xlsx, write_xlsx
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.widgets.form import ChoiceField

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).parent / "fixtures" / "workbooks"
LIBREOFFICE_ZH = FIXTURES / "arrivals_zh.xlsx"
LIBREOFFICE_ID_NUMBERS = FIXTURES / "arrivals_id_numbers.xlsx"
LIBREOFFICE_XLS = FIXTURES / "arrivals_zh.xls"


def soffice() -> str:
    """LibreOffice, which these tests need: missing, they fail (never skip)."""
    found = shutil.which("soffice")
    if found is None:
        pytest.fail("soffice is missing: apt-get install -y libreoffice-calc-nogui")
    return found


def stays(db_path: Path) -> list[dict[str, Any]]:
    """The stays as an export shows them: what an import stored."""
    store = open_store(db_path, read_only=True)
    try:
        return list(arrival_rows(store))
    finally:
        store.close()


@pytest.fixture
def points(store: Store) -> Store:
    setup_points(store)
    return store


@pytest.fixture
def people(points: Store) -> Store:
    """Four people (one with formula-looking text), and one whose ID ends in X."""
    add_people(points)
    fields = dict(zip(ARRIVAL_HEADER, person_row(5, room="219"), strict=True))
    fields["id_number"] = "11010519491231002X"
    points.stays.register(fields)
    return points


def fresh_points(path: Path) -> Store:
    store = open_store(path, create=True)
    setup_points(store)
    return store


def test_fixtures_are_what_make_py_writes() -> None:
    """The committed workbooks are LibreOffice's: its name in their properties."""
    import zipfile

    for workbook in (LIBREOFFICE_ZH, LIBREOFFICE_ID_NUMBERS):
        with zipfile.ZipFile(workbook) as archive:
            assert b"LibreOffice" in archive.read("docProps/app.xml")


def test_libreoffice_workbook_stores_the_same_stays_as_the_csv(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    """Title, date line, a two-row merged Chinese header, rooms and phones typed as
    numbers, date and date-time cells, notes below: the same stays as the CSV."""
    result = cli("import", "arrivals", str(LIBREOFFICE_ZH))
    assert result.returncode == 0, result.stderr
    assert "imported 3 arrivals" in result.stdout
    from_workbook = stays(db_path)

    rows = [
        [
            "P1",
            str(200 + n),
            f"测试{n}",
            "",
            f"1960-01-{n + 1:02d}",
            "身份证",
            resident_id(n),
            "",
            str(13800138000 + n),
            "首尔",
            "",
            "境外输入",
            f"2022-03-25 14:{n:02d}",
            "14",
            "",
        ]
        for n in (1, 2, 3)
    ]
    csv_file = write_csv(tmp_path / "arrivals.csv", ARRIVAL_HEADER, rows)
    csv_db = tmp_path / "csv.db"
    fresh_points(csv_db).close()
    result = cli("import", "arrivals", str(csv_file), "--db", str(csv_db))
    assert result.returncode == 0, result.stderr
    assert from_workbook == stays(csv_db)
    assert [row["id_number"] for row in from_workbook] == [resident_id(n) for n in (1, 2, 3)]
    assert [row["room"] for row in from_workbook] == ["201", "202", "203"]
    assert from_workbook[0]["birth_date"] == "1960-01-02"
    assert from_workbook[0]["arrived_at"] == "2022-03-25 14:01"


def test_an_excel_97_workbook_reads_as_the_xlsx(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    """The same sheets saved as .xls by LibreOffice: the same stays."""
    assert cli("import", "arrivals", str(LIBREOFFICE_ZH)).returncode == 0
    other = tmp_path / "other.db"
    fresh_points(other).close()
    result = cli("import", "arrivals", str(LIBREOFFICE_XLS), "--db", str(other))
    assert result.returncode == 0, result.stderr
    assert stays(other) == stays(db_path)
    result = cli("import", "arrivals", str(LIBREOFFICE_XLS), "--sheet", "x", "--db", str(other))
    assert "its sheets are: “入住登记”, “第二批”" in result.stderr


def test_second_sheet_chosen_with_sheet(points: Store, db_path: Path, cli: CliRunner) -> None:
    result = cli("import", "arrivals", str(LIBREOFFICE_ZH), "--sheet", "第二批")
    assert result.returncode == 0, result.stderr
    assert [(row["name"], row["room"], row["arrived_at"]) for row in stays(db_path)] == [
        ("测试4", "204", "2022-03-26 09:30"),
        ("测试5", "205", "2022-03-26 09:31"),
    ]


def test_unknown_sheet_names_the_sheets_there(points: Store, db_path: Path, cli: CliRunner) -> None:
    before = db_files(db_path)
    result = cli("import", "arrivals", str(LIBREOFFICE_ZH), "--sheet", "第三批")
    assert result.returncode == 1
    assert "no sheet named “第三批”; its sheets are: “入住登记”, “第二批”" in result.stderr
    assert db_files(db_path) == before


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ("stored as a number", "format the column as Text", "again from the source")),
        ("zh", ("存成了数字", "设置为“文本”格式", "从原始资料")),
    ],
)
def test_id_numbers_stored_as_numbers_are_refused(
    points: Store, db_path: Path, cli: CliRunner, lang: str, words: tuple[str, ...]
) -> None:
    """Excel kept 15 digits of each: refused, every row named, nothing changes."""
    before = db_files(db_path)
    result = cli("import", "arrivals", str(LIBREOFFICE_ID_NUMBERS), "--lang", lang)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "!" in line]
    assert [line.split(": ")[0] for line in lines] == [
        f"{LIBREOFFICE_ID_NUMBERS}:入住登记!{row}" for row in (5, 6, 7)
    ]
    # The number as Excel shows it: its last digits already gone.
    assert "210602196001020000" in lines[0]
    assert "证件号码 (id_number)" in lines[0]
    for word in words:
        assert word in lines[0]
    assert db_files(db_path) == before


def openpyxl_workbook(path: Path, rows: list[list[Any]], title: str = "Sheet1") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_openpyxl_workbook_title_merges_notes_and_a_bad_row(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    """A bad row is named by sheet and row; the note under the table is no row."""
    header = ["隔离点", "房间", "姓名", "证件号码", "人员类别", "入住时间"]
    arrived = datetime(2022, 3, 25, 14, 5)
    rows: list[list[Any]] = [
        ["二号隔离点入住人员登记表"],
        [f"日期：{date(2022, 3, 25)}"],
        header,
        ["P1", 201.0, "甲", resident_id(11), "inbound", arrived],
        ["P1", 202, "乙", resident_id(12), "不知道", arrived],
        [],
        ["注：如有疑问请联系转运组"],
    ]
    path = tmp_path / "名单.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "名单 (1)"
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("A1:F1")
    workbook.save(path)
    before = db_files(db_path)
    result = cli("import", "arrivals", str(path))
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:名单 (1)!5: 人员类别 (category): ")
    assert db_files(db_path) == before

    sheet.delete_rows(5)
    workbook.save(path)
    result = cli("import", "arrivals", str(path))
    assert result.returncode == 0, result.stderr
    assert [(row["room"], row["arrived_at"]) for row in stays(db_path)] == [
        ("201", "2022-03-25 14:05")
    ]


def test_a_one_cell_row_between_rows_of_data_is_checked_not_dropped(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    header = ["隔离点", "姓名", "证件号码", "人员类别", "入住时间"]
    arrived = datetime(2022, 3, 25, 14, 5)
    rows: list[list[Any]] = [
        header,
        ["P1", "甲", resident_id(31), "inbound", arrived],
        [None, "乙"],
        ["P1", "丙", resident_id(33), "inbound", arrived],
        [],
        ["填表人：张三"],
    ]
    path = openpyxl_workbook(tmp_path / "x.xlsx", rows)
    before = db_files(db_path)
    result = cli("import", "arrivals", str(path))
    assert result.returncode == 1
    assert f"{path}:Sheet1!3: " in result.stderr
    assert "!6" not in result.stderr
    assert db_files(db_path) == before


def test_a_header_merged_down_reads_as_its_text(
    points: Store, tmp_path: Path, cli: CliRunner
) -> None:
    """``证件`` over ``证件类型`` and ``证件号码``; ``姓名`` merged over both rows."""
    path = tmp_path / "merged.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["隔离点", "姓名", "证件", None, "人员类别", "入住时间"])
    sheet.append([None, None, "证件类型", "证件号码", None, None])
    sheet.append(["P1", "丙", "身份证", resident_id(21), "inbound", "2022-03-25 14:05"])
    for cells in ("A1:A2", "B1:B2", "C1:D1", "E1:E2", "F1:F2"):
        sheet.merge_cells(cells)
    workbook.save(path)
    result = cli("import", "arrivals", str(path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "all 1 arrivals" in result.stdout


def test_not_a_workbook_is_refused_clearly(tmp_path: Path, cli: CliRunner, points: Store) -> None:
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    result = cli("import", "arrivals", str(damaged))
    assert result.returncode == 1
    assert "cannot read this Excel workbook" in result.stderr
    assert "Traceback" not in result.stderr

    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    result = cli("import", "arrivals", str(old))
    assert result.returncode == 1
    assert "cannot read this Excel workbook" in result.stderr
    assert "Traceback" not in result.stderr

    csv_file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [])
    result = cli("import", "arrivals", str(csv_file), "--sheet", "x")
    assert result.returncode == 1
    assert "--sheet is only for Excel workbooks" in result.stderr


def test_no_header_in_the_first_rows(tmp_path: Path, cli: CliRunner, points: Store) -> None:
    path = openpyxl_workbook(tmp_path / "x.xlsx", [["标题"], ["姓名", "年龄"], ["甲", 3]])
    result = cli("import", "arrivals", str(path))
    assert result.returncode == 1
    assert f"{path}:Sheet1!1: 标题: unknown column" in result.stderr


def test_cells_as_excel_stores_them() -> None:
    assert _text(305.0) == "305"
    assert _text(305) == "305"
    assert _text(36.5) == "36.5"
    assert _text(datetime(2022, 3, 25)) == "2022-03-25"
    assert _text(datetime(2022, 3, 25, 14, 5)) == "2022-03-25 14:05"
    assert _text(date(2022, 3, 25)) == "2022-03-25"
    assert _text(None) == ""


# ---------------------------------------------------------------------- export


def libreoffice_csv(workbook: Path, out_dir: Path) -> list[dict[str, str]]:
    """The workbook as LibreOffice Calc opens it, saved as UTF-8 CSV (formulas, if
    any cell held one, would be evaluated on the way)."""
    soffice()
    # 44: comma, 34: quote, 76: UTF-8
    convert(workbook, "csv:Text - txt - csv (StarCalc):44,34,76", out_dir)
    text = (out_dir / workbook.with_suffix(".csv").name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_exported_workbook_keeps_id_numbers_digit_for_digit_in_libreoffice(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    out = tmp_path / "arrivals.xlsx"
    result = cli("export", "arrivals", "--format", "xlsx", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 5 arrivals" in result.stderr
    converted = tmp_path / "converted"
    rows = libreoffice_csv(out, converted)
    stored = list(arrival_rows(people))
    assert [row["id_number"] for row in rows] == [row["id_number"] for row in stored]
    assert rows[4]["id_number"] == "11010519491231002X"
    assert [row["phone"] for row in rows] == [row["phone"] for row in stored]
    # Formula-looking text stays text: LibreOffice did not run it.
    for column, text in NASTY.items():
        assert rows[3][column] == text
    assert rows[0]["arrived_at"] == stored[0]["arrived_at"]


def test_exported_workbook_cells(people: Store, db_path: Path, tmp_path: Path) -> None:
    """Bold frozen header, one sheet named after the kind, text IDs, date cells."""
    out = tmp_path / "arrivals.xlsx"
    assert run_export("arrivals", db_path, fmt="xlsx", out=out) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    workbook = load_workbook(out)
    assert workbook.sheetnames == ["arrivals"]
    sheet = workbook["arrivals"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header == list(ARRIVAL_COLUMNS)
    assert all(cell.font.b for cell in sheet[1])
    column = {name: index for index, name in enumerate(header)}
    first = sheet[2]
    assert first[column["id_number"]].data_type == "s"
    assert first[column["phone"]].data_type == "s"
    assert first[column["arrived_at"]].value == datetime(2022, 3, 25, 14, 5)
    assert first[column["arrived_at"]].is_date
    assert isinstance(first[column["release_due"]].value, datetime)
    assert first[column["quarantine_days"]].value == 14
    nasty = sheet[5]
    assert nasty[column["name"]].value == NASTY["name"]
    assert nasty[column["name"]].data_type == "s"
    assert nasty[column["name"]].quotePrefix
    # A column of Chinese names is wider than its ASCII header; an 18-digit ID fits.
    widths = {
        name: sheet.column_dimensions[get_column_letter(n + 1)].width for name, n in column.items()
    }
    assert widths["id_number"] >= 18


def test_column_widths_fit_chinese_as_double() -> None:
    data = to_xlsx([("t", ("name", "code"), [{"name": "欧阳张三丰", "code": "A"}])])
    sheet = load_workbook(io.BytesIO(data))["t"]
    # Five characters drawn twice as wide, and a margin; never narrower than 6.
    assert sheet.column_dimensions["A"].width == 12
    assert sheet.column_dimensions["B"].width == 6


def test_exported_workbook_imports_again(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    out = tmp_path / "arrivals.xlsx"
    assert cli("export", "arrivals", "--format", "xlsx", "--out", str(out)).returncode == 0
    again = tmp_path / "again.db"
    fresh_points(again).close()
    result = cli("import", "arrivals", str(out), "--db", str(again))
    assert result.returncode == 0, result.stderr
    assert stays(again) == stays(db_path)


def test_a_workbook_is_never_written_to_the_terminal(people: Store, cli: CliRunner) -> None:
    result = cli("export", "arrivals", "--format", "xlsx")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--out" in result.stderr


# ---------------------------------------------------------------------- the handover


def handover_point(store: Store) -> Store:
    rooms = [{"code": f"{100 + i}", "floor": "1", "beds": 1, "blocked": False} for i in (1, 2)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    stay = arrive(store, "P1", room="101", name="=王小明")
    store.stays.discharge(
        {"stay": str(stay), "discharged_at": "2026-11-29 09:00", "kind": "hospital"}
    )
    arrive(store, "P2", room="102")
    store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 09:10",
            "kind": "fever",
            "severity": "3",
            "summary": "38.5",
        }
    )
    suits = {"point": "DD01", "item": "protective_suit"}
    store.supplies.record("delivery", {**suits, "quantity": "100", "at": "2026-11-29 08:00"})
    store.supplies.record("issue", {**suits, "quantity": "80", "at": "2026-11-29 08:30"})
    return store


def sheet_rows(path: Path) -> dict[str, list[list[Any]]]:
    workbook = load_workbook(path)
    return {
        sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()]
        for sheet in workbook
    }


def test_handover_as_a_workbook(store: Store, tmp_path: Path, cli: CliRunner) -> None:
    """Arrivals, discharges, incidents, who is on duty and supplies, a sheet each, headed
    in the user's language."""
    handover_point(store)
    nurse = store.staff.add_staff({"point": "DD01", "name": "=王护士", "role": "nursing"})
    store.staff.start_duty(nurse, "2026-11-29 08:00")
    out = tmp_path / "handover.xlsx"
    # The records were made at the fixtures' clock, the command runs on the real one:
    # without --since its first window would be the real shift in progress.
    since = ("--since", "2026-11-01 00:00")
    result = cli(
        "handover", "--point", "DD01", *since, "--format", "xlsx", "--out", str(out), "--lang", "zh"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    sheets = sheet_rows(out)
    assert list(sheets) == ["入住", "解除", "事件", "在岗人员", "物资"]
    on_duty = sheets["在岗人员"]
    assert on_duty[0][:5] == ["隔离点", "人员编号", "姓名", "岗位", "上班时间"]
    assert on_duty[1][:5] == ["DD01", nurse, "=王护士", "护理", datetime(2026, 11, 29, 8, 0)]
    arrivals = sheets["入住"]
    assert arrivals[0][1:4] == ["姓名", "房间", "时间"]
    assert [row[1] for row in arrivals[1:]] == ["=王小明", "旅客P2"]
    assert arrivals[1][3] == datetime(2026, 11, 29, 8, 0)
    assert [row[1] for row in sheets["解除"][1:]] == ["=王小明"]
    incidents = sheets["事件"][1:]
    assert [(row[0], row[5]) for row in incidents] == [
        ("本班新发生", "38.5"),
        ("仍未处置", "38.5"),
    ]
    supplies = sheets["物资"]
    assert supplies[0][:4] == ["隔离点", "物资", "单位", "库存"]
    assert supplies[1][:4] == ["DD01", "防护服", "件", 20]

    result = cli("handover", "--point", "DD01", *since, "--format", "xlsx")
    assert result.returncode == 2
    assert result.stdout == ""


async def test_handover_exported_from_the_screen_as_a_workbook(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen's export offers a workbook; it goes to the exports folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_DOCUMENTS_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "Documents").mkdir()
    handover_point(store)
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5", "e")
        await pilot.pause()
        app.screen.query_one("#field-format", ChoiceField).value = "xlsx"
        await pilot.press("ctrl+s")
        await pilot.pause()
    folder = tmp_path / "Documents" / "isolation-tui" / "exports"
    (written,) = folder.glob("handover-DD01-*.xlsx")
    assert written.stat().st_mode & 0o777 == 0o600
    assert [row[1] for row in sheet_rows(written)["Arrivals"][1:]] == ["=王小明", "旅客P2"]


def test_an_exported_workbook_is_written_a_row_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its memory does not grow with the rows: each row is in the sheet (a temporary
    file) before many more are made; columns are sized by the first rows."""
    appended: list[int] = []
    real = WriteOnlyWorksheet.append

    def append(sheet: WriteOnlyWorksheet, row: Any) -> None:
        appended.append(1)
        real(sheet, row)

    monkeypatch.setattr(WriteOnlyWorksheet, "append", append)
    total = SIZED_BY * 5

    def rows() -> Iterator[dict[str, Any]]:
        for n in range(total):
            # Never more than the rows that size the columns held at once.
            assert n - (len(appended) - 1) <= SIZED_BY
            yield {"id": n, "name": "长名字" * (n % 7)}

    out = tmp_path / "big.xlsx"
    with out.open("wb") as fh:
        assert write_xlsx(fh, [("arrivals", ("id", "name"), rows())]) == total
    book = load_workbook(out, read_only=True)
    sheet = book.active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == total + 1 and values[-1] == (total - 1, "长名字" * ((total - 1) % 7))
    book.close()
