"""``import``: rows of a CSV file into the store, all of them or (on any bad row) none.

The file is read and split into rows first; then every row is applied, in order,
inside one store transaction, so later rows see earlier ones (beds taken, people
already registered) exactly as they would if typed one by one. Each bad row is
recorded and the next one tried, so one run lists every problem; if there is any,
the transaction is abandoned and nothing at all reaches the disk. A dry run does
the same and always abandons it.

Spreadsheets are messy, and this command is the one place where text from outside
meets the store, so nothing in a file may crash it: every problem becomes a line
``FILE:ROW: field: message`` (ROW is the line in the file, the header being 1).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..domain.codes import ID_TYPE
from ..domain.display import for_terminal
from ..domain.errors import Collector, FieldError, ValidationFailed
from ..domain.health import TEST_KIND, TEST_RESULT
from ..domain.idnumber import normalise
from ..domain.records import Room, is_live, person_key
from ..domain.rules import clean_text, parse_bool
from ..domain.timeparse import format_time, parse_time
from ..i18n import t
from ..storage.backend import Location, remove_store, store_exists
from ..storage.health import may_fill
from ..storage.repository import Store, open_store

KINDS = ("rooms", "arrivals", "discharges", "incidents", "tests")
PROGRESS_MIN_ROWS = 200
MAX_CODE = 20
MAX_BEDS = 100
MAX_FILE_BYTES = 256 << 20  # about a million rows; more is surely a mistake
# Cells a spreadsheet export neutralised (see csv_export): a leading quote before
# one of these is ours, not the user's, and comes off again on import.
_NEUTRALISED = tuple("=+-@\t\r'")


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


# Columns per kind: the English name, then the Chinese headers a spreadsheet carries.
# Columns an export adds (id, status, voided, ...) are accepted so that an exported
# file imports again; they are informational except where noted in _apply_*.
COLUMNS: dict[str, tuple[Column, ...]] = {
    "rooms": (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码", "点位编号"), True),
        Column("point_name", ("隔离点名称", "名称", "点位名称")),
        Column("room", ("房间", "房间号", "房号"), True),
        Column("floor", ("楼层",)),
        Column("beds", ("床位", "床位数", "床数"), True),
        Column("blocked", ("停用", "封闭", "是否停用")),
        Column("address", ("地址",)),
    ),
    "arrivals": (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码"), True),
        Column("room", ("房间", "房间号", "房号")),
        Column("name", ("姓名",), True),
        Column("sex", ("性别",)),
        Column("birth_date", ("出生日期", "出生年月日", "生日")),
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码"), True),
        Column("nationality", ("国籍", "国家/地区")),
        Column("phone", ("电话", "联系电话", "手机", "手机号", "手机号码")),
        Column("origin", ("来源地", "出发地", "来源")),
        Column("transport", ("交通工具", "航班号", "车次", "航班/车次", "交通方式")),
        Column("category", ("类别", "人员类别"), True),
        Column("arrived_at", ("到达时间", "入住时间", "抵达时间"), True),
        Column("quarantine_days", ("隔离天数",)),
        Column("notes", ("备注",)),
        Column("id", ("编号", "记录号")),
        Column("status", ("状态", "在隔状态", "隔离状态")),
        Column("release_due", ("解除日期", "应解除日期", "到期日期")),
        Column("voided", ("作废",)),
    ),
    "discharges": (
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码"), True),
        Column("name", ("姓名",)),
        Column("point", ("隔离点", "隔离点编号")),
        Column("discharged_at", ("解除时间", "离开时间", "解除隔离时间"), True),
        Column("kind", ("去向类型", "类型"), True),
        Column("destination", ("去向", "目的地")),
        Column("negative_test", ("核酸阴性", "核酸检测阴性")),
        Column("certificate", ("证明编号", "解除隔离证明编号")),
        Column("notes", ("备注",)),
        Column("override", ("放行理由", "特批理由", "特批放行理由")),
        Column("id", ("编号", "记录号")),
        Column("stay", ("入住编号",)),
        Column("voided", ("作废",)),
    ),
    "incidents": (
        Column("point", ("隔离点", "隔离点编号"), True),
        Column("occurred_at", ("发生时间",), True),
        Column("kind", ("事件类型", "类型"), True),
        Column("severity", ("严重程度", "级别"), True),
        Column("summary", ("概要", "事件概要", "摘要"), True),
        Column("status", ("状态", "处置状态")),
        Column("handled_at", ("处置时间",)),
        Column("resolution", ("处置结果",)),
        Column("reported_to", ("上报", "报告对象", "上报单位")),
        Column("id", ("编号", "记录号")),
        Column("stays", ("涉及人员",)),
        Column("actions", ("处置过程",)),
        Column("voided", ("作废",)),
    ),
    # A lab's results: the person by ID number (or by stay id), when the sample was
    # taken and the result. An exported tests file imports again (pending rows are
    # skipped), so its columns are accepted too.
    "tests": (
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码")),
        Column("stay", ("入住编号",)),
        Column("name", ("姓名",)),
        Column("point", ("隔离点", "隔离点编号")),
        Column("taken_at", ("采样时间", "采样日期", "检测时间"), True),
        Column("result", ("检测结果", "结果", "核酸结果"), True),
        Column("kind", ("检测类型", "检测项目", "检测方式")),
        Column("planned_day", ("计划天次", "隔离第几天", "第几天")),
        Column("planned_date", ("计划日期", "计划检测日期")),
        Column("id", ("编号", "记录号")),
        Column("who", ("录入人",)),
    ),
}
# Kinds where one of several columns names the person: at least one must be there.
ONE_OF: dict[str, tuple[str, ...]] = {"tests": ("id_number", "stay")}

_STAY_OPEN = {"", "open", "在隔", "隔离中"}
_STAY_CLOSED = {"discharged", "已解除", "已离开", "解除"}
_BLOCKED_WORDS = {"blocked": True, "停用": True, "封闭": True, "可用": False, "启用": False}


def _norm_header(text: str) -> str:
    text = text.replace("\ufeff", "").strip().rstrip("*＊").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _printable(text: str, limit: int = 0) -> str:
    """Text safe to print on a terminal: control characters shown as escapes."""
    out = "".join(ch if unicodedata.category(ch) != "Cc" else repr(ch)[1:-1] for ch in str(text))
    if limit and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


@dataclass
class Problem:
    line: int | None
    field: str
    message: str

    def render(self, file: str) -> str:
        where = file if self.line is None else f"{file}:{self.line}"
        parts = [where, self.field, self.message] if self.field else [where, self.message]
        return _printable(": ".join(parts))


@dataclass
class Row:
    line: int
    fields: dict[str, str]


@dataclass
class Table:
    """A file split into rows keyed by the English column names."""

    headers: dict[str, str] = field(default_factory=dict)  # name -> header as written
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the file as a whole: stop
    row_problems: list[Problem] = field(default_factory=list)  # misshapen rows: go on

    def label(self, name: str) -> str:
        """A field as the user will recognise it: the file's own header, and ours."""
        written = self.headers.get(name)
        if written is None or _norm_header(written) == name:
            return name
        return f"{_printable(written.replace(chr(0xFEFF), '').strip(), 40)} ({name})"


@dataclass
class Outcome:
    """What an import did (or, on a dry run or with problems, would have done)."""

    rows: int = 0
    ids: list[int] = field(default_factory=list)
    points: int = 0
    skipped: int = 0
    positive: int = 0  # positive test results: each opened a draft incident
    problems: list[Problem] = field(default_factory=list)


class ImportFileError(Exception):
    """The file cannot be read as CSV at all; the message says why."""


class _Rollback(Exception):
    """Abandons the import's transaction (bad rows, or a dry run)."""


# ---------------------------------------------------------------------- reading


def decode(raw: bytes, file: str) -> str:
    """The text of a CSV file as a spreadsheet saves it: UTF-8 (with or without BOM),
    UTF-16 with BOM ("Unicode text"), or GB18030/GBK from a Chinese-language Excel."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig":
                _refuse_mixed_utf8(raw, exc, file)
            continue
        if "\x00" in text:
            break
        return text
    raise ImportFileError(t("import.bad_encoding", file=file))


def _refuse_mixed_utf8(raw: bytes, exc: UnicodeDecodeError, file: str) -> None:
    """A UTF-8 file with a few stray bytes must not be read as GB18030: that would
    turn every Chinese name in it into plausible-looking nonsense, silently."""
    text = raw.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127 and ch not in "\ufffd\ufeff")
    if good > bad:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(t("import.mixed_encoding", file=file, line=line))


def _unquote(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _NEUTRALISED:
        return cell[1:]
    return cell


def split_rows(text: str, kind: str) -> Table:
    """Header and rows of ``text``; header problems stop here, row shape is checked."""
    table = Table()
    first_line = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = {c.name: c for c in COLUMNS[kind]}
    lookup: dict[str, str] = {}
    for column in COLUMNS[kind]:
        for alias in (column.name, *column.aliases):
            lookup[_norm_header(alias)] = column.name

    header: list[str] | None = None
    names: list[str | None] = []
    line = 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = cells
                known = ", ".join(columns)
                names = _map_header(table, header, lookup, known, start)
                if table.problems:
                    return table
                missing = [
                    c.name for c in columns.values() if c.required and c.name not in table.headers
                ]
                for name in missing:
                    table.problems.append(Problem(start, name, t("import.missing_column")))
                either = ONE_OF.get(kind, ())
                if either and not any(name in table.headers for name in either):
                    others = ", ".join(either[1:])
                    message = t("import.missing_either", others=others)
                    table.problems.append(Problem(start, either[0], message))
                if table.problems:
                    return table
                continue
            _add_row(table, names, cells, start)
    except csv.Error as exc:
        table.row_problems.append(
            Problem(line + 1, "", t("import.csv_error", reason=_printable(str(exc), 120)))
        )
    if header is None and not table.problems and not table.row_problems:
        table.problems.append(Problem(None, "", t("import.no_header")))
    return table


def _map_header(
    table: Table, header: list[str], lookup: Mapping[str, str], known: str, line: int
) -> list[str | None]:
    names: list[str | None] = []
    for written in header:
        key = _norm_header(written)
        if not key:
            names.append(None)
            continue
        name = lookup.get(key)
        if name is None:
            table.problems.append(
                Problem(
                    line, _printable(written.strip(), 60), t("import.unknown_column", known=known)
                )
            )
            names.append(None)
            continue
        if name in table.headers:
            table.problems.append(
                Problem(
                    line,
                    _printable(written.strip(), 60),
                    t("import.duplicate_column", first=table.headers[name].strip(), name=name),
                )
            )
        table.headers.setdefault(name, written)
        names.append(name)
    return names


def _add_row(table: Table, names: list[str | None], cells: list[str], line: int) -> None:
    fields: dict[str, str] = {}
    for index, cell in enumerate(cells):
        if index >= len(names):
            if cell.strip():
                table.row_problems.append(
                    Problem(line, "", t("import.extra_cells", cells=len(cells), columns=len(names)))
                )
                return
            continue
        name = names[index]
        if name is None:
            if cell.strip():
                table.row_problems.append(
                    Problem(line, "", t("import.unnamed_cell", number=index + 1))
                )
                return
            continue
        fields[name] = _unquote(cell)
    table.rows.append(Row(line, fields))


def read_table(file: Path, kind: str) -> Table:
    """Read and split ``file``; raises :class:`ImportFileError` when it is unreadable."""
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise ImportFileError(t("import.too_big", file=file, limit=MAX_FILE_BYTES >> 20))
        raw = file.read_bytes()
    except OSError as exc:
        raise ImportFileError(
            t("import.cannot_read", file=file, reason=exc.strerror or type(exc).__name__)
        ) from exc
    return split_rows(decode(raw, str(file)), kind)


# ---------------------------------------------------------------------- applying


class _Importer:
    """Applies rows of one kind to an open store, inside the caller's transaction."""

    def __init__(self, store: Store, kind: str, table: Table, outcome: Outcome) -> None:
        self.store = store
        self.kind = kind
        self.table = table
        self.outcome = outcome
        self.people: dict[str, int] = {}  # person key -> line that named them first
        self.point_by_name: dict[str, str] = {}
        names: dict[str, list[str]] = {}
        for code, point in store.points().items():
            names.setdefault(clean_text(point["name"]), []).append(code)
        self.point_by_name = {name: codes[0] for name, codes in names.items() if len(codes) == 1}

    def fail(self, line: int, name: str, message: str) -> None:
        self.outcome.problems.append(Problem(line, self.table.label(name), message))

    def row(self, row: Row) -> None:
        """Apply one row; its rule problems are recorded, never raised."""
        apply: Callable[[Row], int | None] = getattr(self, f"_apply_{self.kind}")
        try:
            record_id = apply(row)
        except ValidationFailed as exc:
            for error in exc.errors:
                self.fail(row.line, error.field, error.message)
            return
        except FieldError as exc:
            self.fail(row.line, exc.field, exc.message)
            return
        except Exception as exc:  # the promise: no traceback, whatever the row holds
            message = t("import.unexpected", error=f"{type(exc).__name__}: {exc}")
            self.outcome.problems.append(Problem(row.line, "", message))
            return
        if record_id is not None:  # None: a row skipped on purpose
            self.outcome.rows += 1
            self.outcome.ids.append(record_id)

    def _point_code(self, fields: dict[str, str]) -> None:
        """A point given by its name (as a spreadsheet may) becomes its code."""
        raw = clean_text(fields.get("point", ""))
        if raw and self.store.point(raw) is None and raw in self.point_by_name:
            fields["point"] = self.point_by_name[raw]

    def _person(self, row: Row) -> str | None:
        """The person's key, after checking this file has not named them already."""
        fields = row.fields
        id_type = ID_TYPE.parse(clean_text(fields.get("id_type", "")) or "resident_id")
        number = normalise(clean_text(fields.get("id_number", "")))
        if id_type is None or not number:
            return None
        key = person_key(id_type, number)
        if key in self.people:
            raise FieldError("id_number", "import.same_person", row=self.people[key])
        return key

    def _skip(self, fields: dict[str, str]) -> bool:
        """Rows of an export that are no longer live records are not imported."""
        if clean_text(fields.get("voided", "")):
            self.outcome.skipped += 1
            return True
        return False

    def _apply_arrivals(self, row: Row) -> int | None:
        fields = dict(row.fields)
        raw_status = clean_text(fields.get("status", ""))
        status = raw_status.lower()
        if self._skip(fields):
            return None
        if status in _STAY_CLOSED:
            self.outcome.skipped += 1
            return None
        if status not in _STAY_OPEN:
            raise FieldError(
                "status", "error.unknown_code", value=raw_status, choices="open, discharged"
            )
        self._point_code(fields)
        key = self._person(row)
        for informational in ("id", "status", "release_due", "voided"):
            fields.pop(informational, None)
        stay_id = self.store.register_arrival(fields)
        if key:
            self.people[key] = row.line
        return stay_id

    def _apply_discharges(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self._skip(fields):
            return None
        key = self._person(row)
        # Never look a stay up by an exported stay id: ids differ between databases.
        for informational in ("id", "stay", "voided"):
            fields.pop(informational, None)
        stay_id = self.store.find_open_stay(fields)
        stay = self.store.get("stays", stay_id) if stay_id is not None else None
        if stay is not None:
            errors = Collector()
            name = clean_text(fields.get("name", ""))
            if name and name != stay["person"]["name"]:
                errors.add("name", "import.name_mismatch", name=stay["person"]["name"])
            self._point_code(fields)
            point = clean_text(fields.get("point", ""))
            if point and point != stay["point"]:
                errors.add("point", "import.point_mismatch", point=stay["point"])
            errors.raise_if_any()
        discharge_id = self.store.discharge(fields)
        if key:
            self.people[key] = row.line
        return discharge_id

    def _apply_incidents(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self._skip(fields):
            return None
        self._point_code(fields)
        for informational in ("id", "stays", "actions", "voided"):
            fields.pop(informational, None)
        return self.store.open_incident(fields)

    def _apply_tests(self, row: Row) -> int | None:
        """A lab's result for one planned test: the one of ``planned_day``, or else the
        person's earliest pending test (of ``kind``, when given). A result already
        stored the same is skipped; a different one is refused, not overwritten."""
        fields = row.fields
        errors = Collector()
        raw_result = clean_text(fields.get("result", ""))
        result = TEST_RESULT.parse(raw_result)
        if result == "pending":  # a row of an exported file: no result to import
            self.outcome.skipped += 1
            return None
        if not raw_result:
            errors.add("result", "error.required")
        elif result is None:
            errors.add(
                "result", "error.unknown_code", value=raw_result, choices="negative, positive"
            )
        taken_at = clean_text(fields.get("taken_at", ""))
        if not taken_at:
            errors.add("taken_at", "error.required")
        raw_kind = clean_text(fields.get("kind", ""))
        kind = TEST_KIND.parse(raw_kind)
        if raw_kind and kind is None:
            errors.add("kind", "error.unknown_code", value=raw_kind, choices=TEST_KIND.choices())
        raw_day = clean_text(fields.get("planned_day", ""))
        day = int(raw_day) if raw_day.isascii() and raw_day.isdigit() else None
        if raw_day and day is None:
            errors.add("planned_day", "error.not_number", value=raw_day)
        stay_id = self._tested_stay(fields, errors)
        errors.raise_if_any()
        assert stay_id is not None and result is not None
        moment = parse_time(taken_at, self.store.clock())
        when = format_time(moment) if moment else ""
        test_id, test = self._planned_test(stay_id, day, kind, when)
        if test["result"] != "pending":
            if test["result"] == result and when == test["taken_at"]:
                self.outcome.skipped += 1  # sent again: already stored exactly so
                return None
            raise FieldError(
                "result",
                "import.test_has_result",
                day=test["planned_day"],
                result=TEST_RESULT.label(test["result"]),
                taken_at=test["taken_at"],
            )
        if self.store.record_test_result(test_id, result, taken_at) is not None:
            self.outcome.positive += 1
        return test_id

    def _tested_stay(self, fields: dict[str, str], errors: Collector) -> int | None:
        """The stay a result is for: the person's open stay by ID number, else the stay
        of that id (an exported file's stay ids belong to its own database, so the ID
        number wins when both are given; the stay counts beside it only when it is
        that person's and they have left). Name and point are checked when given."""
        raw_type = clean_text(fields.get("id_type", ""))
        id_type = ID_TYPE.parse(raw_type or "resident_id")
        if id_type is None:
            errors.add("id_type", "error.unknown_code", value=raw_type, choices=ID_TYPE.choices())
        number = normalise(clean_text(fields.get("id_number", "")))
        raw_stay = clean_text(fields.get("stay", ""))
        stay_id: int | None = None
        if number:
            stay_id = self.store.open_stay_of(id_type, number) if id_type else None
            if stay_id is None and id_type:
                # A result that came after the person left: the stay named beside
                # the ID number, when it is that person's.
                stay_id = self._stay_of_person(raw_stay, id_type, number)
            if stay_id is None and id_type:
                errors.add("id_number", "error.no_open_stay")
        elif raw_stay:
            found = self.store.get("stays", int(raw_stay)) if raw_stay.isdecimal() else None
            if found is None or not is_live(found):
                errors.add("stay", "error.no_record", table="stays", id=raw_stay)
            else:
                stay_id = int(raw_stay)
        else:
            errors.add("id_number", "error.required")
        if stay_id is None:
            return None
        stay = self.store.get("stays", stay_id) or {}
        name = clean_text(fields.get("name", ""))
        if name and name != stay["person"]["name"]:
            key = "import.name_mismatch" if number else "import.name_mismatch_stay"
            errors.add("name", key, name=stay["person"]["name"], stay=stay_id)
        point = clean_text(fields.get("point", ""))
        if point and point != stay["point"] and self.point_by_name.get(point) != stay["point"]:
            errors.add("point", "import.point_mismatch", point=stay["point"])
        return stay_id

    def _stay_of_person(self, raw_stay: str, id_type: str, number: str) -> int | None:
        found = self.store.get("stays", int(raw_stay)) if raw_stay.isdecimal() else None
        if found is None or not is_live(found):
            return None
        person = found["person"]
        if person_key(person["id_type"], person["id_number"]) != person_key(id_type, number):
            return None
        return int(raw_stay)

    def _planned_test(
        self, stay_id: int, day: int | None, kind: str | None, when: str
    ) -> tuple[int, dict[str, Any]]:
        """The test of ``day``; else the one whose sample was taken ``when`` (a file
        sent again), else the earliest pending one planned by then (a sample taken
        days early does not stand for a later test)."""
        tests = [
            (test_id, test)
            for test_id, test in self.store.tests_of(stay_id)
            if kind is None or test["kind"] == kind
        ]
        planned = ", ".join(str(test["planned_day"]) for _, test in tests) or "–"
        if day is not None:
            for test_id, test in tests:
                if test["planned_day"] == day:
                    return test_id, test
            raise FieldError("planned_day", "import.no_planned_test", day=day, days=planned)
        for test_id, test in tests:
            if when and test["taken_at"] == when and test["result"] != "pending":
                return test_id, test
        for test_id, test in tests:
            if test["result"] == "pending" and (not when or may_fill(test, when)):
                return test_id, test
        raise FieldError("planned_day", "import.no_pending_test", days=planned)

    def rooms(self, rows: list[Row], tick: Callable[[], None]) -> None:
        """Rooms are saved one point at a time (one audited change per point), so rows
        are checked first and grouped; a point's problem goes back to its room's row."""
        groups: dict[str, list[tuple[Row, Room]]] = {}
        names: dict[str, tuple[str, int]] = {}
        addresses: dict[str, str] = {}
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            tick()
            if self._skip(row.fields):
                continue
            try:
                code, room = self._room(row, names, addresses, seen)
            except ValidationFailed as exc:
                for error in exc.errors:
                    self.fail(row.line, error.field, error.message)
                continue
            groups.setdefault(code, []).append((row, room))
        for code, members in groups.items():
            try:
                self.store.save_point(
                    code,
                    names.get(code, ("", 0))[0],
                    [room for _, room in members],
                    address=addresses.get(code, ""),
                )
            except FieldError as exc:
                rows_by_room = {room["code"]: r.line for r, room in members}
                line = rows_by_room.get(str(exc.params.get("room", "")), members[0][0].line)
                self.fail(line, exc.field, exc.message)
                continue
            except Exception as exc:  # the promise: no traceback, whatever the file holds
                message = t("import.unexpected", error=f"{type(exc).__name__}: {exc}")
                self.outcome.problems.append(Problem(members[0][0].line, "", message))
                continue
            self.outcome.points += 1
            self.outcome.rows += len(members)

    def _room(
        self,
        row: Row,
        names: dict[str, tuple[str, int]],
        addresses: dict[str, str],
        seen: dict[tuple[str, str], int],
    ) -> tuple[str, Room]:
        fields = row.fields
        errors = Collector()
        code = self._short(errors, fields, "point")
        room_code = self._short(errors, fields, "room")
        floor = clean_text(fields.get("floor", ""), MAX_CODE)
        beds = 0
        raw_beds = clean_text(fields.get("beds", ""))
        if not raw_beds:
            errors.add("beds", "error.required")
        elif not (raw_beds.isascii() and raw_beds.isdigit()):
            errors.add("beds", "error.not_number", value=raw_beds)
        elif int(raw_beds) > MAX_BEDS:
            errors.add("beds", "error.out_of_range", value=int(raw_beds), low=0, high=MAX_BEDS)
        else:
            beds = int(raw_beds)
        raw_blocked = clean_text(fields.get("blocked", ""))
        blocked = _BLOCKED_WORDS.get(raw_blocked.lower())
        if blocked is None:
            blocked = parse_bool(errors, "blocked", raw_blocked)
        name = clean_text(fields.get("point_name", ""))
        if code and name:
            first = names.setdefault(code, (name, row.line))
            if first[0] != name:
                errors.add("point_name", "import.point_name_differs", row=first[1], name=first[0])
        address = clean_text(fields.get("address", ""))
        if code and address:
            addresses.setdefault(code, address)
        if code and room_code:
            earlier = seen.setdefault((code, room_code), row.line)
            if earlier != row.line:
                errors.add("room", "import.duplicate_room", row=earlier)
        errors.raise_if_any()
        return code, Room(code=room_code, floor=floor, beds=beds, blocked=blocked)

    @staticmethod
    def _short(errors: Collector, fields: Mapping[str, str], name: str) -> str:
        value = clean_text(fields.get(name, ""))
        if not value:
            errors.add(name, "error.required")
        elif len(value) > MAX_CODE:
            errors.add(name, "error.too_long", limit=MAX_CODE)
        return value


def import_table(
    store: Store,
    kind: str,
    table: Table,
    *,
    dry_run: bool = False,
    tick: Callable[[], None] = lambda: None,
) -> Outcome:
    """Apply every row of ``table`` in one transaction; commit only if all are good
    and this is not a dry run. ``tick`` is called once per row (for a progress bar)."""
    if table.problems:
        return Outcome(problems=list(table.problems))
    outcome = Outcome(problems=list(table.row_problems))
    with contextlib.suppress(_Rollback), store.transaction():
        importer = _Importer(store, kind, table, outcome)
        if kind == "rooms":
            importer.rooms(table.rows, tick)
        else:
            for row in table.rows:
                importer.row(row)
                tick()
        if outcome.problems or dry_run:
            raise _Rollback
    outcome.problems.sort(key=lambda problem: problem.line or 0)
    return outcome


# ---------------------------------------------------------------------- the command


def _say(text: str, stream: IO[str]) -> None:
    """Print without ever failing on a terminal that cannot show some characters, and
    without a control character (of a file name, say) that the terminal would act on."""
    text = for_terminal(text)
    try:
        stream.write(text + "\n")
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
    stream.flush()


@contextlib.contextmanager
def _progress(total: int, file: Path) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal for big files; nothing otherwise."""
    if total <= PROGRESS_MIN_ROWS or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        label = for_terminal(t("import.progress", file=file.name))
        task = progress.add_task(escape(label), total=total)
        yield lambda: progress.advance(task)


@contextlib.contextmanager
def _store_for(kind: str, db_path: Location, dry_run: bool) -> Iterator[Store]:
    """The store to import into. Rooms set a point up, so they may create the
    database; a dry run must not, so it checks against an empty scratch one."""
    if kind == "rooms" and dry_run and not store_exists(db_path):
        with tempfile.TemporaryDirectory(prefix="isolation-tui-") as scratch:
            store = open_store(Path(scratch) / "dry-run.db", create=True)
            try:
                yield store
            finally:
                store.close()
        return
    store = open_store(db_path, create=kind == "rooms" and not dry_run)
    try:
        yield store
    finally:
        store.close()


def _id_range(ids: list[int]) -> str:
    if not ids:
        return "–"
    low, high = min(ids), max(ids)
    return str(low) if low == high else f"{low}–{high}"


def run_import(kind: str, file: Path, db_path: Location, *, dry_run: bool = False) -> int:
    """The ``import`` command: 0 when every row was imported (or would be), else 1."""
    if kind not in KINDS:
        _say(t("import.unknown_kind", kind=kind, kinds=", ".join(KINDS)), sys.stderr)
        return 2
    name = str(file)
    try:
        table = read_table(file, kind)
    except ImportFileError as exc:
        _say(_printable(str(exc)), sys.stderr)
        return 1
    creating = kind == "rooms" and not dry_run and not store_exists(db_path)
    try:
        with _store_for(kind, db_path, dry_run) as store, _progress(len(table.rows), file) as tick:
            outcome = import_table(store, kind, table, dry_run=dry_run, tick=tick)
            if creating and outcome.problems:
                # Nothing was stored: leave no empty database behind. Decided inside
                # the writers' lock, after reading what others wrote, so another
                # session's first import is never taken away with it.
                with store.transaction():
                    if store.db.storage.seq == 0:
                        remove_store(db_path)
    except KeyboardInterrupt:
        _say(t("import.interrupted"), sys.stderr)
        return 1
    if outcome.problems:
        for problem in outcome.problems:
            _say(problem.render(name), sys.stderr)
        _say(t("import.failed", count=len(outcome.problems), file=name), sys.stderr)
        return 1
    _report(kind, name, db_path, outcome, dry_run)
    return 0


def _report(kind: str, file: str, db_path: Location, outcome: Outcome, dry_run: bool) -> None:
    params: dict[str, Any] = {
        "count": outcome.rows,
        "points": outcome.points,
        "db": db_path,
        "file": file,
        "ids": _id_range(outcome.ids),
        "what": t(f"import.what.{kind}"),
    }
    if dry_run:
        key = "import.dry_run"
    elif outcome.rows == 0:
        key = "import.nothing"
    else:
        key = f"import.done.{kind}"
    _say(_printable(t(key, **params)), sys.stdout)
    if outcome.skipped:
        key = "import.skipped_tests" if kind == "tests" else "import.skipped"
        _say(t(key, count=outcome.skipped), sys.stdout)
    if outcome.positive and not dry_run:
        _say(t("import.positive_tests", count=outcome.positive), sys.stdout)
