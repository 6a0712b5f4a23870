"""``export``: records as CSV (safe to open in a spreadsheet), JSON or an Excel
workbook (see xlsx_export).

The columns of an arrivals export are the import's columns plus what only the
store knows (id, status, release_due, voided), so an export imports again.

Exports hold personal data: files are created readable by the owner only, and
appear whole or not at all (written beside the target, then renamed).

Rows are made and written one at a time, so an export costs what it writes and
its memory does not grow with the rows.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from ..domain.display import for_terminal, for_terminal_deep
from ..domain.errors import FieldError
from ..domain.health import ROUND, incident_summary
from ..domain.identity import audit_identity, who_label
from ..domain.records import Voided, is_live
from ..domain.staff import parse_month
from ..i18n import t
from ..storage.backend import Location
from ..storage.repository import Store, open_store
from ..storage.stays import ARRIVAL_FIELDS, stay_fields
from ..storage.tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, STAYS, SUPPLIES, TESTS

KINDS = ("arrivals", "discharges", "incidents", "checks", "tests", "supplies", "audit", "duty")
FILE_MODE = 0o600
# An export named like one already there gets -2, -3…; past this many, something is wrong.
NEW_NAME_TRIES = 1000
BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection);
# a leading quote makes it text. A leading quote of the user's own is doubled so the
# import can take exactly one off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")

Row = dict[str, Any]

ARRIVAL_COLUMNS = ("id", *ARRIVAL_FIELDS, "shares_room", "status", "release_due", "voided")
DISCHARGE_COLUMNS = (
    "id",
    "stay",
    "point",
    "name",
    "id_type",
    "id_number",
    "discharged_at",
    "kind",
    "destination",
    "negative_test",
    "certificate",
    "notes",
    "override",
    "voided",
)
INCIDENT_COLUMNS = (
    "id",
    "point",
    "occurred_at",
    "kind",
    "severity",
    "summary",
    "status",
    "handled_at",
    "resolution",
    "reported_to",
    "stays",
    "actions",
    "voided",
)
CHECK_COLUMNS = (
    "id",
    "at",
    "who",
    "point",
    "stay",
    "name",
    "room",
    "day",
    "round",
    "temperature",
    "symptoms",
    "status",
)
TEST_COLUMNS = (
    "id",
    "stay",
    "point",
    "name",
    "id_type",
    "id_number",
    "planned_day",
    "planned_date",
    "kind",
    "result",
    "taken_at",
    "who",
)
SUPPLY_COLUMNS = (
    "id",
    "point",
    "item",
    "unit",
    "kind",
    "quantity",
    "counted",
    "at",
    "donor",
    "other_point",
    "pair",
    "reason",
    "notes",
    "who",
    "voided",
)
AUDIT_COLUMNS = (
    "id",
    "at",
    "os_user",
    "on_duty",
    "ssh_client_claimed",
    "action",
    "table",
    "record",
    "reason",
    "before",
    "after",
)


def _by_id(rows: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Documents by id; only the ids are sorted (the documents stay where they are)."""
    for record_id in sorted(map(int, rows)):
        yield record_id, rows[str(record_id)]


def _every(store: Store, table: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every document of ``table``: sealed history month by month, then the live
    set, each by id; memory holds a few months of history, never all of it."""
    for rows in store.parts(table):
        yield from _by_id(rows)
        del rows  # let go of a month before the next is read


def _person(store: Store, stay_id: int) -> dict[str, Any]:
    return (store.get(STAYS, stay_id) or {}).get("person", {})


def arrival_rows(store: Store) -> Iterator[Row]:
    for stay_id, stay in _every(store, STAYS):
        fields: Row = dict(stay_fields(stay))  # type: ignore[arg-type]
        fields["quarantine_days"] = stay["quarantine_days"]
        yield {
            "id": stay_id,
            **fields,
            "shares_room": "yes" if stay.get("shares_with") else "",
            "status": stay["status"],
            "release_due": stay["release_due"],
            "voided": stay.get("voided") or None,
        }


def discharge_rows(store: Store) -> Iterator[Row]:
    for discharge_id, doc in _every(store, DISCHARGES):
        person = _person(store, doc["stay"])
        yield (
            {
                "id": discharge_id,
                "stay": doc["stay"],
                "point": doc["point"],
                "name": person.get("name", ""),
                "id_type": person.get("id_type", ""),
                "id_number": person.get("id_number", ""),
                "discharged_at": doc["at"],
                "kind": doc["kind"],
                "destination": doc["destination"],
                "negative_test": doc["negative_test"],
                "certificate": doc["certificate"],
                "notes": doc["notes"],
                "override": doc.get("test_override", ""),
                "voided": doc.get("voided") or None,
            }
        )


def check_rows(store: Store) -> Iterator[Row]:
    """The rounds day by day (morning before afternoon), with who entered each check
    (sealed history month by month, then the live set)."""
    order = {name: n for n, name in enumerate(ROUND.codes)}
    for part in store.parts(CHECKS):
        yield from _check_rows(store, part, order)
        del part


def _check_rows(store: Store, part: dict[str, Any], order: dict[str, int]) -> Iterator[Row]:
    checks = sorted(
        _by_id(part),
        key=lambda pair: (pair[1]["day"], order.get(pair[1]["round"], 9), pair[1]["at"], pair[0]),
    )
    for check_id, doc in checks:
        stay = store.get(STAYS, doc["stay"]) or {}
        yield (
            {
                "id": check_id,
                "at": doc["at"],
                "who": who_label(store.entered_by(CHECKS, check_id)),
                "point": doc["point"],
                "stay": doc["stay"],
                "name": stay.get("person", {}).get("name", ""),
                "room": stay.get("room", ""),
                "day": doc["day"],
                "round": doc["round"],
                "temperature": doc["temperature"],
                "symptoms": doc["symptoms"],
                "status": doc["status"],
            }
        )


def planned_test_rows(store: Store) -> Iterator[Row]:
    """Planned tests (replanned ones left out) by planned date, with their results and
    who entered each result (sealed history month by month, then the live set); an
    export imports again with ``import tests``."""
    for part in store.parts(TESTS):
        yield from _test_rows(store, part)
        del part


def _test_rows(store: Store, part: dict[str, Any]) -> Iterator[Row]:
    tests = sorted(
        ((test_id, doc) for test_id, doc in _by_id(part) if is_live(doc)),
        key=lambda pair: (pair[1]["planned_date"], pair[1]["stay"], pair[1]["planned_day"]),
    )
    for test_id, doc in tests:
        person = _person(store, doc["stay"])
        taken = doc["result"] != "pending"
        yield (
            {
                "id": test_id,
                "stay": doc["stay"],
                "point": doc["point"],
                "name": person.get("name", ""),
                "id_type": person.get("id_type", ""),
                "id_number": person.get("id_number", ""),
                "planned_day": doc["planned_day"],
                "planned_date": doc["planned_date"],
                "kind": doc["kind"],
                "result": doc["result"],
                "taken_at": doc["taken_at"],
                "who": who_label(store.entered_by(TESTS, test_id)) if taken else "",
            }
        )


def incident_rows(store: Store) -> Iterator[Row]:
    return (
        {
            "id": incident_id,
            **{name: doc.get(name) for name in INCIDENT_COLUMNS[1:-1]},
            "summary": incident_summary(doc),
            "voided": doc.get("voided") or None,
        }
        for incident_id, doc in _every(store, INCIDENTS)
    )


def supply_rows(store: Store) -> Iterator[Row]:
    """Every movement, voided ones too (marked), in the order they were entered; an
    export imports again with ``import supplies`` (a transfer's receiving side is
    stored by its sending row)."""
    units: dict[str, dict[str, str]] = {}
    for point in store.points():
        units[point] = {item: unit for item, unit, _ in store.supplies.items(point)}
    for movement_id, doc in _every(store, SUPPLIES):
        yield {
            "id": movement_id,
            **{name: doc.get(name) for name in SUPPLY_COLUMNS[1:-2]},
            "unit": units.get(doc["point"], {}).get(doc["item"], ""),
            "who": who_label(doc["created"]),
            "voided": doc.get("voided") or None,
        }


def audit_rows(store: Store) -> Iterator[Row]:
    """Every change; entries from before the account was taken from the OS name the
    login name the session gave as ``os_user``."""
    return (
        {
            "id": entry_id,
            **{name: doc.get(name) for name in AUDIT_COLUMNS[1:]},
            **audit_identity(doc),
        }
        for entry_id, doc in _every(store, AUDIT)
    )


EXPORTS: dict[str, tuple[tuple[str, ...], Callable[[Store], Iterable[Row]]]] = {
    "arrivals": (ARRIVAL_COLUMNS, arrival_rows),
    "discharges": (DISCHARGE_COLUMNS, discharge_rows),
    "incidents": (INCIDENT_COLUMNS, incident_rows),
    "checks": (CHECK_COLUMNS, check_rows),
    "tests": (TEST_COLUMNS, planned_test_rows),
    "supplies": (SUPPLY_COLUMNS, supply_rows),
    "audit": (AUDIT_COLUMNS, audit_rows),
}


# ---------------------------------------------------------------------- formats


def neutralise(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column == "voided" and isinstance(value, dict):
        voided: Voided = value  # type: ignore[assignment]
        return f"{voided.get('at', '')} {who_label(voided)}: {voided.get('reason', '')}"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def write_csv(out: IO[bytes], columns: tuple[str, ...], rows: Iterable[Row], bom: bool) -> int:
    """Rows as CSV, one at a time; ``bom`` (UTF-8 BOM) so that a spreadsheet shows
    Chinese correctly. Returns how many rows were written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    if bom:
        text.write(BOM)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([neutralise(_cell(column, row.get(column))) for column in columns])
        count += 1
    text.flush()
    text.detach()
    return count


def write_json(out: IO[bytes], rows: Iterable[Row]) -> int:
    """Rows as one JSON list (indented by two), one row at a time."""
    count = 0
    for row in rows:
        out.write(b"[\n  " if count == 0 else b",\n  ")
        # A newline in JSON is always a line break of the layout, never in a string.
        out.write(orjson.dumps(row, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  "))
        count += 1
    out.write(b"\n]\n" if count else b"[]\n")
    return count


def to_csv(columns: tuple[str, ...], rows: Iterable[Row]) -> bytes:
    """UTF-8 with a BOM, so a spreadsheet shows Chinese correctly."""
    buffer = io.BytesIO()
    write_csv(buffer, columns, rows, bom=True)
    return buffer.getvalue()


def to_json(rows: Iterable[Row]) -> bytes:
    buffer = io.BytesIO()
    write_json(buffer, rows)
    return buffer.getvalue()


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[IO[bytes]]:
    """A file written to ``path`` as mode 0600, whole or not at all: what is
    written inside appears under its name, fsynced, when the block ends well."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as mode 0600, whole or not at all."""
    with private_file(path) as fh:
        fh.write(data)


def write_new_private(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` to a new file in ``folder``, mode 0600: ``stem`` + ``suffix``, or
    ``stem-2`` … when taken (an earlier export is never overwritten). The folder must be
    a real directory of this user (made private again when others may enter it): a
    symlink or someone else's folder is refused, and the file is made inside the
    folder opened, never through a link."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        status = os.fstat(dir_fd)
        if status.st_uid != os.getuid():
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(folder))
        if status.st_mode & 0o077:
            # Others who may write here could swap a report for a forged one.
            os.fchmod(dir_fd, 0o700)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        for n in range(1, NEW_NAME_TRIES + 1):
            name = f"{stem}{f'-{n}' if n > 1 else ''}{suffix}"
            try:
                fd = os.open(name, flags, FILE_MODE, dir_fd=dir_fd)
            except FileExistsError:
                continue
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=dir_fd)
                raise
            return folder / name
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(folder / stem))
    finally:
        os.close(dir_fd)


def _is_database_file(out: Path, db_path: Location) -> bool:
    """Whether ``out`` would overwrite the database or one of its companion files."""
    if not isinstance(db_path, Path):
        return False
    try:
        target = out.resolve()
        db = db_path.resolve()
    except OSError:
        return False
    companions = {db, db.with_name(db.name + "-journal"), db.with_name(db.name + "-lock")}
    return target in companions


def _tell(message: str) -> None:
    """A message beside the data (on stderr), with no control character of a path."""
    print(for_terminal(message), file=sys.stderr)


def run_export(
    kind: str,
    db_path: Location,
    *,
    fmt: str = "csv",
    out: Path | None = None,
    month: str = "",
) -> int:
    """The ``export`` command: 0 when written, 1 when the file cannot be written (or
    the month is not one), 2 when ``duty`` has no month."""
    exports = EXPORTS
    if kind == "duty":
        from .duty_export import DUTY_COLUMNS, duty_rows

        if not month:
            _tell(t("export.duty_needs_month"))
            return 2
        try:
            wanted = parse_month(month)
        except FieldError as exc:
            _tell(f"--month: {exc.message}")
            return 1
        exports = {**EXPORTS, kind: (DUTY_COLUMNS, lambda store: duty_rows(store, wanted))}
    if kind not in exports:
        _tell(t("export.unknown_kind", kind=kind, kinds=", ".join(KINDS)))
        return 2
    if fmt == "xlsx" and out is None:
        _tell(t("export.xlsx_needs_out"))
        return 2
    if out is not None and _is_database_file(out, db_path):
        _tell(t("export.would_overwrite_db", file=out))
        return 1
    columns, build = exports[kind]
    store = open_store(db_path, read_only=True)
    try:
        return _export(kind, fmt, out, columns, build(store))
    finally:
        store.close()


def _export(
    kind: str,
    fmt: str,
    out: Path | None,
    columns: tuple[str, ...],
    rows: Iterable[Row],
) -> int:
    def write(fh: IO[bytes], bom: bool) -> int:
        if fmt == "xlsx":
            from .xlsx_export import write_xlsx

            return write_xlsx(fh, [(kind, columns, rows)])
        return write_json(fh, rows) if fmt == "json" else write_csv(fh, columns, rows, bom)

    if out is None:
        # A file keeps every character as stored; a terminal gets none that it acts on.
        rows = (for_terminal_deep(row) for row in rows)
        try:
            sys.stdout.flush()
            write(sys.stdout.buffer, bom=not sys.stdout.isatty())
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader (``| head``) went away: not an error worth a traceback.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    try:
        with private_file(out) as fh:
            count = write(fh, bom=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _tell(t("export.cannot_write", file=out, reason=reason))
        return 1
    _tell(t("export.done", count=count, what=t(f"export.what.{kind}"), file=out))
    return 0
