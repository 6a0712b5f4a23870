"""Pytest plugin that makes TinyDB's own test suite open this project's store.

Loaded with ``-p tinydb_suite_plugin`` before the suite's modules are imported, it
puts this module's ``TinyDB`` (a ``Database``, named so that ``repr`` reads as
TinyDB's) where they import ``TinyDB`` from. ``TinyDB(path)`` opens
``Database(path)``; ``TinyDB(storage=MemoryStorage)`` opens a ``Database`` on a
fresh file (the store is always on disk); any other storage is refused. TinyDB's
storage classes used on their own are left alone: the project does not replace them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tinydb
import tinydb.database
from tinydb.storages import JSONStorage, MemoryStorage

from isolation_tui.storage.database import Database

_MEMORY_DIR = tempfile.TemporaryDirectory(prefix="tinydb-suite-")


class TinyDB(Database):
    """``TinyDB``'s constructor, opening the project's store."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        storage: Any = JSONStorage,
        access_mode: str = "r+",
        create_dirs: bool = False,
        **json_options: Any,  # indent, sort_keys...: the store writes no JSON text to shape
    ) -> None:
        if storage is MemoryStorage and path is None:
            path = Path(tempfile.mkdtemp(dir=_MEMORY_DIR.name)) / "memory.db"
        elif storage is not JSONStorage or path is None:
            raise TypeError(f"the project's store has its own storage, not {storage!r}")
        read_only = access_mode == "r"
        super().__init__(path, create=not read_only, create_dirs=create_dirs, read_only=read_only)


tinydb.TinyDB = TinyDB  # type: ignore[misc]
tinydb.database.TinyDB = TinyDB  # type: ignore[misc]
