"""``import``: rows of a CSV file into the store, all of them or (on any bad row) none.

The file is read and split into rows first; then every row is applied, in order,
inside one store transaction, so later rows see earlier ones (beds taken, people
already registered) exactly as they would if typed one by one. Each bad row is
recorded and the next one tried, so one run lists every problem; if there is any,
the transaction is abandoned and nothing at all reaches the disk. A dry run does
the same and always abandons it.

Spreadsheets are messy, and this command is the one place where text from outside
meets the store, so nothing in a file may crash it: every problem becomes a line
``FILE:ROW: field: message`` (ROW is the line in the file, the header being 1; in
an Excel workbook ``FILE:SHEET!ROW``, the row as the sheet numbers it).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ...domain.display import for_terminal
from ...i18n import t
from ...storage.backend import Location, remove_store, store_exists
from ...storage.rebase import Renumber, rebase_unless_read
from ...storage.repository import Store, open_store
from .base import Outcome
from .kinds import IMPORTERS, KINDS
from .reading import ImportFileError, Problem, Table, printable, read_table

PROGRESS_MIN_ROWS = 200


# Rehearsals an import makes before it gives up (others kept changing what its rows
# check): it is never done inside the writers' lock, which would keep every other
# session's saves waiting for as long as the rows take to check. Enough for a few
# imports started at the same moment, each overtaken once by each of the others.
REHEARSALS = 5


def import_table(
    store: Store,
    kind: str,
    table: Table,
    *,
    dry_run: bool = False,
    tick: Callable[[], None] = lambda: None,
) -> Outcome:
    """Apply every row of ``table`` as one transaction; commit only if all are good
    and this is not a dry run. ``tick`` is called once per row (for a progress bar).

    The rows are checked and applied in a rehearsal, against the state read now and
    holding no writer back; the lock is taken only to append what it would write.
    Whatever others stored meanwhile in the tables the rows look at, the rehearsal is
    done again (others' records in other tables only move the new ids on); after
    :data:`REHEARSALS` tries it is refused, nothing stored, rather than done holding
    the lock for the whole file. The outcome is the one of the import run alone, at
    the moment it is stored."""
    if table.problems:
        return Outcome(problems=list(table.problems))
    importer = IMPORTERS[kind]
    for _ in range(1 if dry_run else REHEARSALS):
        outcome = Outcome(problems=list(table.row_problems))
        with store.rehearsal() as rehearsed, _without_gc_passes():
            rows = importer(store, table, outcome)
            rows.run(table.rows, tick, spill=True)
            rehearsed.keep = not (outcome.problems or dry_run)
        if outcome.problems or dry_run or not rehearsed.ops:
            return _sorted(outcome)
        rebase = rebase_unless_read(importer.reads, rows.affects())
        # The ids the rows were given follow these (committing moves them on).
        max_before = dict(rehearsed.max_ids)
        shift = store.db.storage.commit_rehearsed(rehearsed, rebase)
        if shift is not None:
            renumber = Renumber(max_before, shift)
            outcome.ids = [renumber.id(importer.record_table, i) for i in outcome.ids]
            return outcome
    return Outcome(problems=[Problem(None, "", t("import.overtaken", tries=REHEARSALS))])


@contextlib.contextmanager
def _without_gc_passes() -> Iterator[None]:
    """The cyclic collector paused while rows become records: each of its passes
    rescans every record made so far (a quarter of a 20,000-row import's CPU), and
    records hold no reference cycles; what cycles a refused row leaves (its error's
    traceback) are collected after."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _sorted(outcome: Outcome) -> Outcome:
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
    store = open_store(db_path, create=kind == "rooms" and not dry_run, read_only=dry_run)
    try:
        yield store
    finally:
        store.close()


def _id_range(ids: list[int]) -> str:
    if not ids:
        return "–"
    low, high = min(ids), max(ids)
    return str(low) if low == high else f"{low}–{high}"


def run_import(
    kind: str, file: Path, db_path: Location, *, dry_run: bool = False, sheet: str | None = None
) -> int:
    """The ``import`` command: 0 when every row was imported (or would be), else 1."""
    if kind not in KINDS:
        _say(t("import.unknown_kind", kind=kind, kinds=", ".join(KINDS)), sys.stderr)
        return 2
    name = str(file)
    try:
        table = read_table(file, IMPORTERS[kind].columns, IMPORTERS[kind].one_of, sheet)
    except ImportFileError as exc:
        _say(printable(str(exc)), sys.stderr)
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
            _say(problem.render(name, table.sheet), sys.stderr)
        _say(printable(t("import.failed", count=len(outcome.problems), file=name)), sys.stderr)
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
    _say(printable(t(key, **params)), sys.stdout)
    if outcome.skipped:
        key = {
            "tests": "import.skipped_tests",
            "incidents": "import.skipped_incidents",
            "staff": "import.skipped_staff",
            "supplies": "import.skipped_supplies",
        }.get(kind, "import.skipped")
        _say(t(key, count=outcome.skipped), sys.stdout)
    if outcome.positive and not dry_run:
        _say(t("import.positive_tests", count=outcome.positive), sys.stdout)
