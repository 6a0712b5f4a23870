"""Reading an Excel workbook (.xlsx, or .xls from Excel 97-2003) as people send
them: a title and a date line above the header, notes below the table, merged
cells, numbers where text was meant. The rows come out as the CSV reader's
:class:`Table`, numbered as the sheet numbers them, so every check after this one
is the same for both.

python-calamine (Rust) reads the sheet: some twenty times faster than openpyxl,
whose shared-string table alone takes seconds for a few thousand names.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum

from ...i18n import t
from .reading import (
    Column,
    ImportFileError,
    Problem,
    Table,
    add_row,
    header_lookup,
    norm_header,
    printable,
    start_table,
)

# What the archive may unpack to: a zip bomb is refused before anything is parsed.
MAX_UNPACKED_BYTES = 2 << 30
HEADER_SEARCH_ROWS = 50  # title, date and note lines above the header are few
MAX_HEADER_DEPTH = 4  # rows a header may span (merged group headings above names)
# Excel keeps 15 significant digits of a number; an 18-digit ID typed as a number
# has lost the rest, and nothing in the file can bring them back.
EXACT_DIGITS = 15
ID_COLUMN = "id_number"

Values = tuple[Any, ...]


def read_workbook(
    file: Path,
    raw: bytes,
    columns: tuple[Column, ...],
    one_of: tuple[str, ...],
    sheet: str | None,
) -> Table:
    """The rows of one sheet of the workbook ``raw``, read from ``file`` (the first
    sheet unless ``sheet`` names another). The bytes already read are parsed, so the
    file cannot be swapped for a pipe or a device in between."""
    try:
        if zipfile.is_zipfile(io.BytesIO(raw)):
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES:
                limit = MAX_UNPACKED_BYTES >> 20
                raise ImportFileError(t("import.too_big", file=file, limit=limit))
        # Told by its content, not its name (a workbook saved as "名单.xls.xlsx").
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(raw))
    except (ImportFileError, OSError):
        raise
    except Exception as exc:  # a damaged or foreign file raises many kinds
        raise _unreadable(file, exc) from exc
    with workbook:
        worksheet = _sheet(workbook, file, sheet)
        try:
            return _read_sheet(worksheet, columns, one_of)
        except ImportFileError:
            raise
        except Exception as exc:
            raise _unreadable(file, exc) from exc


def _unreadable(file: Path, exc: Exception) -> ImportFileError:
    reason = printable(f"{type(exc).__name__}: {exc}", 120)
    return ImportFileError(t("import.bad_workbook", file=file, reason=reason))


def _sheet(workbook: CalamineWorkbook, file: Path, name: str | None) -> CalamineSheet:
    names = [
        sheet.name for sheet in workbook.sheets_metadata if sheet.typ == SheetTypeEnum.WorkSheet
    ]
    if not names:
        raise ImportFileError(t("import.no_sheets", file=file))
    if name is None:
        return workbook.get_sheet_by_name(names[0])
    for wanted in (lambda title: title == name, lambda title: title.strip() == name.strip()):
        for title in names:
            if wanted(title):
                return workbook.get_sheet_by_name(title)
    known = ", ".join(f"“{printable(title, 40)}”" for title in names)
    raise ImportFileError(
        t("import.no_such_sheet", file=file, sheet=printable(name, 40), sheets=known)
    )


class _Merges:
    """The merged ranges of a sheet, as far as reading it needs them."""

    def __init__(self, sheet: CalamineSheet) -> None:
        # row -> (column, top row) of each cell below the top of a range, in its first
        # column: it shows the top cell's text
        self.below: dict[int, list[tuple[int, int]]] = {}
        self.bottom: dict[int, int] = {}  # top row -> the lowest row a range reaches
        for (top, column), (bottom, _) in sheet.merged_cell_ranges or ():
            top, column, bottom = top + 1, column + 1, bottom + 1  # as the sheet numbers them
            for row in range(top + 1, bottom + 1):
                self.below.setdefault(row, []).append((column, top))
            self.bottom[top] = max(bottom, self.bottom.get(top, top))


def _text(value: Any) -> str:
    """A cell as the text the CSV importer reads: dates as dates, whole numbers (a
    room ``305`` stored as ``305.0``) without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def _lost_digits(value: Any) -> bool:
    """An ID number stored as a number: Excel has kept only its first 15 digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    whole = isinstance(value, int) or value.is_integer()
    return not whole or abs(value) >= 10**EXACT_DIGITS


def _rows(
    sheet: CalamineSheet, below: dict[int, list[tuple[int, int]]]
) -> Iterator[tuple[int, Values]]:
    """Each row by its number, merged cells filled down from their top cell."""
    tops = {(top, column) for cells in below.values() for column, top in cells}
    kept: dict[tuple[int, int], Any] = {}
    first_row, first_column = sheet.start or (0, 0)
    for index, values in enumerate(sheet.iter_rows()):
        number = first_row + index + 1
        cells = [None] * first_column + list(values)
        for column in range(1, len(cells) + 1):
            if (number, column) in tops:
                kept[(number, column)] = cells[column - 1]
        for column, top in below.pop(number, ()):
            cells.extend([None] * (column - len(cells)))
            cells[column - 1] = kept.get((top, column))
        yield number, tuple(cells)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_sheet(
    worksheet: CalamineSheet, columns: tuple[Column, ...], one_of: tuple[str, ...]
) -> Table:
    table = Table(sheet=worksheet.name)
    merges = _Merges(worksheet)
    rows = _rows(worksheet, merges.below)
    found = _find_header(table, rows, merges.bottom, columns, one_of)
    if found is None:
        return table
    names = found
    # Rows of one text cell (a note, a signature line) after the last row of the
    # table are not data; one between rows of data is, and is checked as such.
    held: list[tuple[int, Values]] = []
    for number, values in rows:
        filled = [value for value in values if not _blank(value)]
        if not filled:
            continue
        if len(filled) == 1 and isinstance(filled[0], str):
            held.append((number, values))
            continue
        for line in (*held, (number, values)):
            _add(table, names, *line)
        held.clear()
    return table


def _find_header(
    table: Table,
    rows: Iterator[tuple[int, Values]],
    bottom: dict[int, int],
    columns: tuple[Column, ...],
    one_of: tuple[str, ...],
) -> list[str | None] | None:
    """Read up to the header (the first row naming two known columns) and map it;
    None when it has problems, recorded in ``table.problems``."""
    lookup = header_lookup(columns)
    wanted = min(2, len(columns))
    first: tuple[int, list[str]] | None = None
    for number, values in rows:
        texts = [_text(value).strip() for value in values]
        if not any(texts):
            continue
        first = first or (number, texts)
        if sum(1 for text in texts if norm_header(text) in lookup) >= wanted:
            end = min(bottom.get(number, number), number + MAX_HEADER_DEPTH - 1)
            texts = _header_below(rows, number, end, texts)
            names = start_table(table, texts, columns, one_of, number)
            return None if table.problems else names
        if number >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        table.problems.append(Problem(None, "", t("import.no_header")))
        return None
    # No row names the columns: say what is wrong with the first one, as for CSV.
    start_table(table, first[1], columns, one_of, first[0])
    if not table.problems:
        table.problems.append(Problem(first[0], "", t("import.no_header")))
    return None


def _header_below(
    rows: Iterator[tuple[int, Values]], number: int, end: int, texts: list[str]
) -> list[str]:
    """A header whose cells are merged down over more rows (group headings such as
    ``联系方式`` over ``电话`` and ``手机``, ``姓名`` merged over both): each column's
    lowest text names it."""
    header = list(texts)
    while number < end:
        following = next(rows, None)
        if following is None:
            break
        number, values = following
        for index, value in enumerate(values):
            text = _text(value).strip()
            if text:
                header.extend([""] * (index + 1 - len(header)))
                header[index] = text
    return header


def _add(table: Table, names: list[str | None], number: int, values: Values) -> None:
    cells: list[str] = []
    for index, value in enumerate(values):
        name = names[index] if index < len(names) else None
        if name == ID_COLUMN and _lost_digits(value):
            # As Excel shows it: the digits it kept, zeros after them.
            shown = format(Decimal(f"{value:.{EXACT_DIGITS}g}"), "f")
            message = t("import.id_as_number", shown=shown)
            table.row_problems.append(Problem(number, table.label(name), message))
            return
        cells.append(_text(value))
    add_row(table, names, cells, number)
