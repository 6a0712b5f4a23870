"""The kinds of record a CSV file may hold, and the columns of each."""

from __future__ import annotations

from .arrivals import ArrivalsImporter
from .base import Importer
from .discharges import DischargesImporter
from .incidents import IncidentsImporter
from .reading import Column, Table
from .reading import split_rows as _split
from .rooms import RoomsImporter
from .staff import StaffImporter
from .supplies import SuppliesImporter
from .tests import TestsImporter

IMPORTERS: dict[str, type[Importer]] = {
    "rooms": RoomsImporter,
    "arrivals": ArrivalsImporter,
    "discharges": DischargesImporter,
    "incidents": IncidentsImporter,
    "tests": TestsImporter,
    "staff": StaffImporter,
    "supplies": SuppliesImporter,
}
KINDS = tuple(IMPORTERS)
COLUMNS: dict[str, tuple[Column, ...]] = {kind: cls.columns for kind, cls in IMPORTERS.items()}


def split_rows(text: str, kind: str) -> Table:
    """``text`` split into rows of ``kind``."""
    return _split(text, COLUMNS[kind], IMPORTERS[kind].one_of)
