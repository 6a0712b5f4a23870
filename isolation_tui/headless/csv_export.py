"""``export``: records as CSV (safe to open in a spreadsheet) or JSON.

The columns of an arrivals export are the import's columns plus what only the
store knows (id, status, release_due, voided), so an export imports again.

Exports hold personal data: files are created readable by the owner only, and
appear whole or not at all (written beside the target, then renamed).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from ..domain.display import for_terminal, for_terminal_deep
from ..domain.health import ROUND
from ..domain.identity import audit_identity, who_label
from ..domain.records import Voided, is_live
from ..i18n import t
from ..storage.health import CHECKS, TESTS
from ..storage.repository import (
    ARRIVAL_FIELDS,
    AUDIT,
    DISCHARGES,
    INCIDENTS,
    STAYS,
    Store,
    open_store,
    stay_fields,
)

KINDS = ("arrivals", "discharges", "incidents", "checks", "tests", "audit")
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


def _by_id(rows: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return sorted(((int(key), doc) for key, doc in rows.items()), key=lambda pair: pair[0])


def arrival_rows(store: Store) -> list[Row]:
    rows: list[Row] = []
    for stay_id, stay in _by_id(store.rows(STAYS)):
        fields: Row = dict(stay_fields(stay))  # type: ignore[arg-type]
        fields["quarantine_days"] = stay["quarantine_days"]
        rows.append(
            {
                "id": stay_id,
                **fields,
                "shares_room": "yes" if stay.get("shares_with") else "",
                "status": stay["status"],
                "release_due": stay["release_due"],
                "voided": stay.get("voided") or None,
            }
        )
    return rows


def discharge_rows(store: Store) -> list[Row]:
    stays = store.rows(STAYS)
    rows: list[Row] = []
    for discharge_id, doc in _by_id(store.rows(DISCHARGES)):
        person = (stays.get(str(doc["stay"])) or {}).get("person", {})
        rows.append(
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
    return rows


def _entered_by(store: Store, table: str, record_id: int, doc: dict[str, Any]) -> str:
    """Who entered the values a record holds now: the author of its last change."""
    history = store.history(table, record_id)
    return who_label(history[-1] if history else doc.get("created", {}))


def check_rows(store: Store) -> list[Row]:
    """The rounds day by day (morning before afternoon), with who entered each check."""
    stays = store.rows(STAYS)
    order = {name: n for n, name in enumerate(ROUND.codes)}
    checks = sorted(
        _by_id(store.rows(CHECKS)),
        key=lambda pair: (pair[1]["day"], order.get(pair[1]["round"], 9), pair[1]["at"], pair[0]),
    )
    rows: list[Row] = []
    for check_id, doc in checks:
        stay = stays.get(str(doc["stay"])) or {}
        rows.append(
            {
                "id": check_id,
                "at": doc["at"],
                "who": _entered_by(store, CHECKS, check_id, doc),
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
    return rows


def planned_test_rows(store: Store) -> list[Row]:
    """Planned tests (replanned ones left out) by planned date, with their results and
    who entered each result; an export imports again with ``import tests``."""
    stays = store.rows(STAYS)
    tests = sorted(
        ((test_id, doc) for test_id, doc in _by_id(store.rows(TESTS)) if is_live(doc)),
        key=lambda pair: (pair[1]["planned_date"], pair[1]["stay"], pair[1]["planned_day"]),
    )
    rows: list[Row] = []
    for test_id, doc in tests:
        person = (stays.get(str(doc["stay"])) or {}).get("person", {})
        taken = doc["result"] != "pending"
        rows.append(
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
                "who": _entered_by(store, TESTS, test_id, doc) if taken else "",
            }
        )
    return rows


def incident_rows(store: Store) -> list[Row]:
    return [
        {
            "id": incident_id,
            **{name: doc.get(name) for name in INCIDENT_COLUMNS[1:-1]},
            "voided": doc.get("voided") or None,
        }
        for incident_id, doc in _by_id(store.rows(INCIDENTS))
    ]


def audit_rows(store: Store) -> list[Row]:
    """Every change; entries from before the account was taken from the OS name the
    login name the session gave as ``os_user``."""
    return [
        {
            "id": entry_id,
            **{name: doc.get(name) for name in AUDIT_COLUMNS[1:]},
            **audit_identity(doc),
        }
        for entry_id, doc in _by_id(store.rows(AUDIT))
    ]


EXPORTS: dict[str, tuple[tuple[str, ...], Callable[[Store], list[Row]]]] = {
    "arrivals": (ARRIVAL_COLUMNS, arrival_rows),
    "discharges": (DISCHARGE_COLUMNS, discharge_rows),
    "incidents": (INCIDENT_COLUMNS, incident_rows),
    "checks": (CHECK_COLUMNS, check_rows),
    "tests": (TEST_COLUMNS, planned_test_rows),
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


def to_csv(columns: tuple[str, ...], rows: Iterable[Row]) -> bytes:
    """UTF-8 with a BOM, so a spreadsheet shows Chinese correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(_cell(column, row.get(column))) for column in columns])
    return (BOM + buffer.getvalue()).encode("utf-8")


def to_json(rows: list[Row]) -> bytes:
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as mode 0600, whole or not at all."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_new_private(folder: Path, stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` to a new file in ``folder``, mode 0600: ``stem`` + ``suffix``, or
    ``stem-2`` … when taken (an earlier export is never overwritten). The folder must be
    a real directory of this user: a symlink or someone else's folder is refused, and
    the file is made inside the folder opened, never through a link."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if os.fstat(dir_fd).st_uid != os.getuid():
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(folder))
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


def _is_database_file(out: Path, db_path: Path) -> bool:
    """Whether ``out`` would overwrite the database or one of its companion files."""
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


def run_export(kind: str, db_path: Path, *, fmt: str = "csv", out: Path | None = None) -> int:
    """The ``export`` command: 0 when written, 1 when the file cannot be written."""
    if kind not in EXPORTS:
        _tell(t("export.unknown_kind", kind=kind, kinds=", ".join(KINDS)))
        return 2
    if out is not None and _is_database_file(out, db_path):
        _tell(t("export.would_overwrite_db", file=out))
        return 1
    columns, build = EXPORTS[kind]
    store = open_store(db_path, read_only=True)
    try:
        rows = build(store)
    finally:
        store.close()
    if out is None:
        # A file keeps every character as stored; a terminal gets none that it acts on.
        rows = for_terminal_deep(rows)
    data = to_json(rows) if fmt == "json" else to_csv(columns, rows)
    if out is None:
        if fmt == "csv" and sys.stdout.isatty():
            data = data.removeprefix(BOM.encode("utf-8"))
        try:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader (``| head``) went away: not an error worth a traceback.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    try:
        write_private(out, data)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        _tell(t("export.cannot_write", file=out, reason=reason))
        return 1
    _tell(t("export.done", count=len(rows), what=t(f"export.what.{kind}"), file=out))
    return 0
