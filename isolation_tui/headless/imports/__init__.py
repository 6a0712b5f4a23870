"""``import``: CSV files of rooms, arrivals, discharges, incidents and lab tests.

:mod:`.reading` turns a file into rows; one module per kind says what a row does;
:mod:`.command` applies them all in one transaction, or none.
"""

from .command import import_table, run_import
from .kinds import COLUMNS, KINDS, split_rows
from .reading import decode

__all__ = ["COLUMNS", "KINDS", "decode", "import_table", "run_import", "split_rows"]
