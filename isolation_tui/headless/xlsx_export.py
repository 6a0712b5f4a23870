"""Excel workbooks out: the rows the CSV export produces, as cells Excel keeps.

Every text is a text cell, so an ID number or a phone is never turned into a
number (and rounded), and text starting with ``=``, ``+``, ``-`` or ``@`` is never
run as a formula (it is also marked "quote prefix", as a spreadsheet marks text
typed after an apostrophe). Dates and times are date cells. The header row is
bold and frozen, and each column is as wide as its widest cell (a Chinese
character counting twice).

openpyxl's write-only mode streams the sheets out, holding one row at a time.
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..domain.codes import CATEGORY, DISCHARGE_KIND, INCIDENT_KIND, INCIDENT_STATUS, STAFF_ROLE
from ..domain.health import incident_summary
from ..domain.supplies import item_label, unit_label
from ..i18n import t
from .csv_export import FORMULA_STARTS, INCIDENT_COLUMNS, Row
from .csv_export import _cell as as_text

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_WIDTH, MAX_WIDTH = 6, 60  # in widths of "0"; a long note wraps at the edge of view
# Columns are sized from this many first rows: an export's memory must not grow
# with the rows it writes (those below wrap at the column's edge).
SIZED_BY = 1000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$")
# Excel reads ``_x0041_`` in a cell's text as the character it escapes; a literal one
# is written with its underscore escaped, so it reads back as typed.
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
BOLD = Font(bold=True)

Sheet = tuple[str, Sequence[str], Iterable[Row]]  # title, columns, rows


def is_date_column(name: str) -> bool:
    """Columns holding a date or a time (``arrived_at``, ``planned_date``, ``day``…)."""
    return name in ("at", "day", "due", "release_due") or name.endswith(("_at", "_date"))


def _value(column: str, value: Any) -> Any:
    """What one cell holds: a number, a date, or text."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if is_date_column(column) and isinstance(value, str):
        if _DATE.match(value):
            return date.fromisoformat(value)
        if _DATETIME.match(value):
            return datetime.fromisoformat(value)
    text = as_text(column, value)
    # XML cannot hold these control characters: they are shown as their escapes.
    text = ILLEGAL_CHARACTERS_RE.sub(lambda m: repr(m[0])[1:-1], text)
    return _ESCAPE_LIKE.sub(r"_x005F_\1", text)


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    line = max(str(value).split("\n"), key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever it starts with
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    elif isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    return cell


def sheet_title(name: str) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of ``[]:*?/\\``."""
    return _SHEET_NAME_BAD.sub("_", name)[:31] or "_"


def to_xlsx(sheets: Iterable[Sheet], header: Callable[[str], str] = str) -> bytes:
    """A workbook of ``sheets``; ``header`` gives each column's heading."""
    buffer = io.BytesIO()
    write_xlsx(buffer, sheets, header)
    return buffer.getvalue()


def write_xlsx(out: IO[bytes], sheets: Iterable[Sheet], header: Callable[[str], str] = str) -> int:
    """Write a workbook of ``sheets`` to ``out``, a row at a time (the workbook keeps
    its rows in a temporary file, not in memory); returns how many rows it holds.
    Each column is as wide as its widest value among the first rows."""
    workbook = Workbook(write_only=True)
    count = 0
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(sheet_title(title))
        sheet.freeze_panes = "A2"
        headings = [header(column) for column in columns]
        widths = [_width(heading) for heading in headings]
        rest = iter(rows)
        first = list(itertools.islice(rest, SIZED_BY))
        for row in first:
            for index, column in enumerate(columns):
                widths[index] = max(widths[index], _width(_value(column, row.get(column))))
        for index, width in enumerate(widths, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
        heading_cells = []
        for heading in headings:
            cell = _cell(sheet, heading)
            cell.font = BOLD
            heading_cells.append(cell)
        sheet.append(heading_cells)
        for row in itertools.chain(first, rest):
            sheet.append([_cell(sheet, _value(column, row.get(column))) for column in columns])
            count += 1
    workbook.save(out)
    return count


# ---------------------------------------------------------------------- the handover

_KIND, _RESOLUTION = INCIDENT_COLUMNS.index("kind"), INCIDENT_COLUMNS.index("resolution")
HANDOVER_SHEETS: dict[str, tuple[str, ...]] = {
    "arrivals": ("id", "name", "room", "at", "category", "voided"),
    "discharges": ("stay", "name", "room", "at", "kind", "destination", "override", "voided"),
    # The export's incident columns from kind to resolution, after the list and time.
    "incidents": ("section", "id", "at", *INCIDENT_COLUMNS[_KIND : _RESOLUTION + 1]),
    "on_duty": ("point", "staff", "name", "role", "started_at", "hours", "over_limit"),
    "supplies": ("point", "item", "unit", "stock", "daily_use", "days_left", "threshold", "flag"),
}
# The incident lists of the report, in its order: (summary key, section).
_INCIDENT_LISTS = (
    ("incidents_opened", "opened"),
    ("incidents_handled", "handled"),
    ("incidents_open", "open"),
    ("incidents_draft", "draft"),
)


def _heading(column: str) -> str:
    """A column's heading in the user's language (the field's label where one exists)."""
    for key in (f"handover.column.{column}", f"field.{column}"):
        text = t(key)
        if text != key:
            return text
    return column


def handover_sheets(summary: dict[str, Any]) -> list[Sheet]:
    """The handover's lists, a sheet each, with codes shown as their labels."""
    voided = t("ui.status_voided")
    arrivals = [
        {**a, "category": CATEGORY.label(a["category"]), "voided": voided if a["voided"] else ""}
        for a in summary["arrivals"]
    ]
    discharges = [
        {**d, "kind": DISCHARGE_KIND.label(d["kind"]), "voided": voided if d["voided"] else ""}
        for d in summary["discharges"]
    ]
    incidents = [
        {
            **i,
            "section": t(f"handover.section.{section}"),
            "summary": incident_summary(i),
            "kind": INCIDENT_KIND.label(i["kind"]),
            "status": voided if i.get("voided") else INCIDENT_STATUS.label(i["status"]),
        }
        for key, section in _INCIDENT_LISTS
        for i in summary.get(key, [])
    ]
    on_duty = [
        {
            **person,
            "role": STAFF_ROLE.label(person["role"]),
            "started_at": person["since"],
            "over_limit": t("handover.duty_over", limit=person["limit"]) if person["over"] else "",
        }
        for person in summary.get("on_duty", {}).get("people", [])
    ]
    supplies = [
        {
            **s,
            "item": item_label(s["item"]),
            "unit": unit_label(s["unit"]),
            "flag": "⚠" if s["short"] else "",
        }
        for s in summary.get("supplies", [])
    ]
    lists = {
        "arrivals": arrivals,
        "discharges": discharges,
        "incidents": incidents,
        "on_duty": on_duty,
        "supplies": supplies,
    }
    return [
        (t(f"handover.sheet.{name}"), columns, lists[name])
        for name, columns in HANDOVER_SHEETS.items()
    ]


def handover_workbook(summary: dict[str, Any]) -> bytes:
    return to_xlsx(handover_sheets(summary), _heading)
