"""Reading a CSV file as a spreadsheet saves it: bytes to text, header to columns,
lines to rows. Nothing here knows what a row means; a problem with the file as a
whole stops here, a misshapen row is noted and the others still go on."""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...domain.rules import MAX_TEXT
from ...i18n import t

MAX_FILE_BYTES = 256 << 20  # about a million rows; more is surely a mistake
WORKBOOK_MAGIC = b"PK\x03\x04"  # .xlsx is a zip archive
OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003)
# Cells a spreadsheet export neutralised (see csv_export): a leading quote before
# one of these is ours, not the user's, and comes off again on import.
_NEUTRALISED = tuple("=+-@\t\r'")


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    limit: int = MAX_TEXT  # the most characters the field holds (a longer cell is refused)


def norm_header(text: str) -> str:
    text = text.replace("\ufeff", "").strip().rstrip("*＊").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def printable(text: str, limit: int = 0) -> str:
    """Text safe to print on a terminal: control characters, and the invisible ones
    that reorder what follows them (bidi overrides), shown as escapes."""
    out = "".join(
        repr(ch)[1:-1] if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in str(text)
    )
    if limit and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


@dataclass
class Problem:
    line: int | None
    field: str
    message: str

    def render(self, file: str, sheet: str | None = None) -> str:
        """``FILE:ROW: field: message``; in a workbook ``FILE:SHEET!ROW: …``."""
        if sheet is not None:
            file = f"{file}:{sheet}"
        where = file if self.line is None else f"{file}{':' if sheet is None else '!'}{self.line}"
        parts = [where, self.field, self.message] if self.field else [where, self.message]
        return printable(": ".join(parts))


@dataclass
class Row:
    line: int
    fields: dict[str, str]


class CsvRows:
    """The well-formed rows of a CSV file, split again from its text each time they
    are gone through (an import goes through them once per rehearsal): one row at
    a time is in memory, never the file's rows (each a dict of its cells, dozens of
    times the bytes of its line)."""

    def __init__(
        self,
        lines: Callable[[], Iterable[str]],
        delimiter: str,
        names: list[str | None],
        count: int,
    ) -> None:
        self._lines, self._delimiter, self._names, self._count = lines, delimiter, names, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Row]:
        header = False
        for line, cells in _records(self._lines(), self._delimiter):
            if not isinstance(cells, list):
                return  # the file stops being CSV here: its problem is recorded
            if not header:
                header = True
                continue
            fields = _fields(self._names, cells)
            if isinstance(fields, dict):
                yield Row(line, fields)


@dataclass
class Table:
    """A file split into rows keyed by the English column names."""

    headers: dict[str, str] = field(default_factory=dict)  # name -> header as written
    rows: list[Row] | CsvRows = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the file as a whole: stop
    row_problems: list[Problem] = field(default_factory=list)  # misshapen rows: go on
    sheet: str | None = None  # the sheet a workbook's rows come from

    def label(self, name: str) -> str:
        """A field as the user will recognise it: the file's own header, and ours."""
        written = self.headers.get(name)
        if written is None or norm_header(written) == name:
            return name
        return f"{printable(written.replace(chr(0xFEFF), '').strip(), 40)} ({name})"


class ImportFileError(Exception):
    """The file cannot be read as CSV at all; the message says why."""


# What ``decode`` tries, in this order, for the messages.
_TRIED = "UTF-8, UTF-8 BOM, UTF-16 BOM, GB18030/GBK"
# Share of a GB18030 reading's non-ASCII characters that must be GB2312 (the common
# characters and punctuation a Chinese spreadsheet holds; rare name characters such
# as 喆 are outside it). Text in another encoding read as GB18030 lands mostly
# outside it: Latin-1, Shift-JIS and half of Big5 pair bytes GB2312 never uses.
_GB2312_SHARE = 0.9
# Korean (EUC-KR) reads as GB2312 too, every syllable a common Chinese character;
# as EUC-KR, Chinese text is half Hangul, half Hanja or undecodable, Korean all Hangul.
_HANGUL_SHARE = 0.9


def decode(raw: bytes, file: str) -> str:
    """The text of a CSV file as a spreadsheet saves it.

    Sure by their marks: UTF-8 (with or without BOM, as it decodes strictly) and
    UTF-16 with BOM ("Unicode text"). GB18030/GBK, what a Chinese-language Excel
    saves, only when its reading is plausibly Chinese and not as plausibly another
    East Asian encoding; any other file is refused, never guessed.
    """
    return _decoded(raw, file)[0]


def _decoded(raw: bytes, file: str) -> tuple[str, str]:
    """The text of ``raw`` (see :func:`decode`) and the encoding it was read in."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
        text = _strict(raw, encoding)
    else:
        encoding = "utf-8-sig"
        text = _strict(raw, encoding)
        if text is None:
            encoding = "gb18030"
            text = _gb18030(raw, file)
    if text is None or "\x00" in text:
        raise ImportFileError(t("import.bad_encoding", file=file, tried=_TRIED))
    return text, encoding


def _strict(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _gb18030(raw: bytes, file: str) -> str | None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse_mixed_utf8(raw, exc, file)
    text = _strict(raw, "gb18030")
    if text is None:
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    common = sum(1 for ch in wide if _in_gb2312(ch))
    # Kana: Japanese (EUC-JP keeps it; Big5's commonest row reads as it).
    kana = any("\u3040" <= ch <= "\u30ff" for ch in wide)
    if kana or common < _GB2312_SHARE * len(wide) or _reads_as_korean(raw):
        raise ImportFileError(t("import.unsure_encoding", file=file, tried=_TRIED))
    return text


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _reads_as_korean(raw: bytes) -> bool:
    text = _strict(raw, "euc_kr")
    if text is None:
        return False
    wide = [ch for ch in text if ord(ch) > 127]
    hangul = sum(1 for ch in wide if "\uac00" <= ch <= "\ud7a3")
    return bool(wide) and hangul >= _HANGUL_SHARE * len(wide)


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


def split_rows(text: str, columns: tuple[Column, ...], one_of: tuple[str, ...] = ()) -> Table:
    """Header and rows of ``text``; header problems stop here, row shape is checked.
    ``one_of``: columns of which at least one must be there."""
    return _split(lambda: io.StringIO(text, newline=""), _delimiter(text), columns, one_of)


def _delimiter(text: str) -> str:
    first_line = text.lstrip("\ufeff\r\n").split("\n", 1)[0]
    return "\t" if "\t" in first_line and "," not in first_line else ","


def _split(
    lines: Callable[[], Iterable[str]],
    delimiter: str,
    columns: tuple[Column, ...],
    one_of: tuple[str, ...],
) -> Table:
    """The header of the text ``lines()`` gives and the shape of every row, checked
    in one pass; the rows themselves are split again when gone through."""
    table = Table()
    header: list[str] | None = None
    names: list[str | None] = []
    count = 0
    for line, cells in _records(lines(), delimiter):
        if not isinstance(cells, list):
            reason = printable(str(cells), 120)
            table.row_problems.append(Problem(line, "", t("import.csv_error", reason=reason)))
            break
        if header is None:
            header = cells
            names = start_table(table, header, columns, one_of, line)
            if table.problems:
                return table
            continue
        fields = _fields(names, cells)
        if isinstance(fields, dict):
            count += 1
        else:
            table.row_problems.append(Problem(line, "", fields))
    if header is None and not table.problems and not table.row_problems:
        table.problems.append(Problem(None, "", t("import.no_header")))
    table.rows = CsvRows(lines, delimiter, names, count)
    return table


def _records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """The records of CSV ``text`` that hold something, each with the line it starts
    on; where the text stops being CSV, the error with the line it is on, and no more."""
    # A cell as long as the file is read whole, so that the field it is in is named
    # with its limit (``import.too_long``), not a whole line refused as CSV.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    reader = csv.reader(text, delimiter=delimiter)
    line = 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error as exc:
        yield line + 1, exc


def header_lookup(columns: tuple[Column, ...]) -> dict[str, str]:
    """Each header a column may be written as (normalised) -> the column's name."""
    lookup: dict[str, str] = {}
    for column in columns:
        for alias in (column.name, *column.aliases):
            lookup[norm_header(alias)] = column.name
    return lookup


def start_table(
    table: Table,
    header: list[str],
    columns: tuple[Column, ...],
    one_of: tuple[str, ...],
    line: int,
) -> list[str | None]:
    """Map ``header`` to column names (None: a column without a name), recording in
    ``table.problems`` unknown, doubled and missing columns."""
    known = ", ".join(c.name for c in columns)
    names = _map_header(table, header, header_lookup(columns), known, line)
    if table.problems:
        return names
    missing = [c.name for c in columns if c.required and c.name not in table.headers]
    for name in missing:
        table.problems.append(Problem(line, name, t("import.missing_column")))
    if one_of and not any(name in table.headers for name in one_of):
        others = ", ".join(one_of[1:])
        message = t("import.missing_either", others=others)
        table.problems.append(Problem(line, one_of[0], message))
    return names


def _map_header(
    table: Table, header: list[str], lookup: Mapping[str, str], known: str, line: int
) -> list[str | None]:
    names: list[str | None] = []
    for written in header:
        key = norm_header(written)
        if not key:
            names.append(None)
            continue
        name = lookup.get(key)
        if name is None:
            table.problems.append(
                Problem(
                    line, printable(written.strip(), 60), t("import.unknown_column", known=known)
                )
            )
            names.append(None)
            continue
        if name in table.headers:
            table.problems.append(
                Problem(
                    line,
                    printable(written.strip(), 60),
                    t("import.duplicate_column", first=table.headers[name].strip(), name=name),
                )
            )
        table.headers.setdefault(name, written)
        names.append(name)
    return names


def add_row(table: Table, names: list[str | None], cells: list[str], line: int) -> None:
    fields = _fields(names, cells)
    if isinstance(fields, dict):
        table.rows.append(Row(line, fields))  # type: ignore[union-attr]
    else:
        table.row_problems.append(Problem(line, "", fields))


def _fields(names: list[str | None], cells: list[str]) -> dict[str, str] | str:
    """The cells of a row by column name; or what is wrong with its shape."""
    fields: dict[str, str] = {}
    for index, cell in enumerate(cells):
        if index >= len(names):
            if cell.strip():
                return t("import.extra_cells", cells=len(cells), columns=len(names))
            continue
        name = names[index]
        if name is None:
            if cell.strip():
                return t("import.unnamed_cell", number=index + 1)
            continue
        fields[name] = _unquote(cell)
    return fields


def read_table(
    file: Path,
    columns: tuple[Column, ...],
    one_of: tuple[str, ...] = (),
    sheet: str | None = None,
) -> Table:
    """Read and split ``file``, a CSV file or an Excel workbook (told by its first
    bytes, whatever its name); raises :class:`ImportFileError` when it is unreadable."""
    try:
        raw = _read_regular_file(file)
    except OSError as exc:
        raise ImportFileError(
            t("import.cannot_read", file=file, reason=exc.strerror or type(exc).__name__)
        ) from exc
    if raw.startswith((WORKBOOK_MAGIC, OLD_EXCEL_MAGIC)):
        # Only a workbook loads the workbook reader (and its zip and Excel libraries).
        from .workbook import read_workbook

        return read_workbook(file, raw, columns, one_of, sheet)
    if sheet is not None:
        raise ImportFileError(t("import.sheet_not_workbook", file=file))
    text, encoding = _decoded(raw, str(file))
    delimiter = _delimiter(text)
    del text  # the rows are read from the file's bytes, decoded a block at a time

    def lines() -> Iterable[str]:
        return io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline="")

    return _split(lines, delimiter, columns, one_of)


def _read_regular_file(file: Path) -> bytes:
    """The bytes of ``file``, a regular file of at most ``MAX_FILE_BYTES``. A named pipe
    would make the import wait forever and a device (``/dev/zero``) never ends: the
    file is opened without waiting and refused unless regular, and no more is read
    than the limit allows, whatever its size said."""
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImportFileError(t("import.not_a_file", file=file))
        if st.st_size > MAX_FILE_BYTES:
            # Refused before any of it is read: a gigabyte file costs no memory.
            raise ImportFileError(t("import.too_big", file=file, limit=MAX_FILE_BYTES >> 20))
        os.set_blocking(fd, True)
        raw = fh.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ImportFileError(t("import.too_big", file=file, limit=MAX_FILE_BYTES >> 20))
    return raw
