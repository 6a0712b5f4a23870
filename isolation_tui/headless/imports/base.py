"""What every importer shares: the outcome, and applying rows one by one, each bad
row recorded as a problem (never raised) so one run lists them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...domain.codes import ID_TYPE
from ...domain.errors import FieldError, ValidationFailed
from ...domain.idnumber import id_number_problem, normalise
from ...domain.records import person_key
from ...domain.rules import clean_text, strip_controls
from ...i18n import t
from ...storage.rebase import Affects
from ...storage.repository import Store
from ...storage.tables import AUDIT
from .reading import Column, CsvRows, Problem, Row, Table

MAX_CODE = 20
# Rows a big import checks between two spills (see ``Backend.spill``): what its
# process holds of the records it makes, whatever the size of the file.
SPILL_ROWS = 200
Doc = dict[str, Any]


def _whole(doc: Doc) -> Doc:
    return doc


@dataclass
class Outcome:
    """What an import did (or, on a dry run or with problems, would have done)."""

    rows: int = 0
    ids: list[int] = field(default_factory=list)
    points: int = 0
    skipped: int = 0
    positive: int = 0  # positive test results: each opened a draft incident
    problems: list[Problem] = field(default_factory=list)


class Importer:
    """Applies rows of one kind to an open store, inside the caller's transaction.

    A kind names its columns (the English name, then the Chinese headers a
    spreadsheet carries; columns an export adds are accepted so that an exported
    file imports again) and says in :meth:`apply` what one row does.
    """

    columns: ClassVar[tuple[Column, ...]]
    # Columns of which one at least must be there (one of them names the person).
    one_of: ClassVar[tuple[str, ...]] = ()
    # The tables whose records the rows' checks look at: what others store meanwhile
    # in any other table cannot change what the import does (None: every table).
    reads: ClassVar[frozenset[str] | None] = None
    # The table of the ids an import reports.
    record_table: ClassVar[str] = ""

    def __init__(self, store: Store, table: Table, outcome: Outcome) -> None:
        self.store = store
        self.table = table
        self.outcome = outcome
        self.people: dict[str, int] = {}  # person key -> line that named them first
        names: dict[str, list[str]] = {}
        for code, point in store.points().items():
            names.setdefault(clean_text(point["name"]), []).append(code)
        self.point_by_name = {name: codes[0] for name, codes in names.items() if len(codes) == 1}

    def run(
        self, rows: list[Row] | CsvRows, tick: Callable[[], None], *, spill: bool = False
    ) -> None:
        """Apply every row; with ``spill`` (a rehearsal), let go of the records made
        every :data:`SPILL_ROWS` rows, but for what later rows check (``kept``)."""
        storage = self.store.db.storage
        for n, row in enumerate(rows, start=1):
            self.row(row)
            tick()
            if spill and n % SPILL_ROWS == 0 and n < len(rows):
                storage.spill(self.kept)

    def kept(self, table: str) -> Callable[[Doc], Doc] | None:
        """What stays in memory of each new record of ``table`` once spilled, for the
        rows after to check; None: nothing. The audit is never read by a rule;
        every other record stays whole unless a kind knows better."""
        return None if table == AUDIT else _whole

    def apply(self, row: Row) -> int | None:
        """Store one row; its record id, or None for a row skipped on purpose."""
        raise NotImplementedError

    def affects(self) -> Affects | None:
        """After the rows were gone through: whether a document others changed
        meanwhile (its table, before, after) changes what they decided. None: any
        change to a table the rows read does (they are checked again)."""
        return None

    def fail(self, line: int, name: str, message: str) -> None:
        self.outcome.problems.append(Problem(line, self.table.label(name), message))

    def too_long(self, row: Row) -> bool:
        """Record every cell longer than its field holds: it is refused, not cut."""
        limits = {column.name: column.limit for column in self.columns}
        found = False
        for name, value in row.fields.items():
            length = len(strip_controls(value).strip())
            if length > limits[name]:
                self.fail(row.line, name, t("import.too_long", length=length, limit=limits[name]))
                found = True
        return found

    def row(self, row: Row) -> None:
        """Apply one row; its rule problems are recorded, never raised."""
        if self.too_long(row):
            return
        try:
            record_id = self.apply(row)
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
        if record_id is not None:
            self.outcome.rows += 1
            self.outcome.ids.append(record_id)

    def point_code(self, fields: dict[str, str]) -> None:
        """A point given by its name (as a spreadsheet may) becomes its code."""
        raw = clean_text(fields.get("point", ""))
        if raw and self.store.point(raw) is None and raw in self.point_by_name:
            fields["point"] = self.point_by_name[raw]

    def person(self, row: Row) -> str | None:
        """The person's key, after checking this file has not named them already."""
        fields = row.fields
        id_type = ID_TYPE.parse(clean_text(fields.get("id_type", "")) or "resident_id")
        number = normalise(clean_text(fields.get("id_number", "")))
        if id_type is None or not number or id_number_problem(number):
            return None  # the row's own checks say what is wrong
        key = person_key(id_type, number)
        if key in self.people:
            raise FieldError("id_number", "import.same_person", row=self.people[key])
        return key

    def skip(self, fields: dict[str, str]) -> bool:
        """Rows of an export that are no longer live records are not imported."""
        if clean_text(fields.get("voided", "")):
            self.outcome.skipped += 1
            return True
        return False
