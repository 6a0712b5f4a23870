"""Folding the journal into a new snapshot in a process of its own.

The terminal program never folds in a save: when one of its entries takes the
journal over the compaction line, it starts ``compact --background`` (see
``fold_in_background``), which folds beside the writers while the session goes on.
``<db>-compacting`` (``flock``) keeps it to one at a time: sessions crossing the line
together, or starting together on a journal left over it, start one fold.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..storage.backend import DatabaseUrl, Location
from ..storage.engine import JournalStorage
from ..storage.errors import StoreError
from ..storage.files import refuse_link, taking_turn
from ..storage.repository import Store


def turn_path(db_path: Path) -> Path:
    """``<db>-compacting``: held by the process folding the database's journal."""
    return db_path.with_name(db_path.name + "-compacting")


def run_compaction(db_path: Location, *, background: bool) -> int:
    """Fold the journal now. ``background`` (the fold a session asked for): quietly,
    only when no other process folds this database now and its journal is still over
    the line (another fold, or a seal, may have done it meanwhile)."""
    if isinstance(db_path, DatabaseUrl):
        return 0  # the server keeps no journal
    with taking_turn(turn_path(Path(db_path)), wait=not background) as turn:
        if turn is None:
            return 0
        storage = JournalStorage(Path(db_path), who="compaction")
        try:
            if storage.over_the_line() or not background:
                storage.compact()
        finally:
            storage.close()
    return 0


def start_background_compaction(storage: JournalStorage) -> subprocess.Popen[bytes] | None:
    """Start the fold of ``storage``'s journal in a process of its own (nothing when
    that cannot be: the journal holds every entry, the next crossing folds)."""
    try:
        # Its turn file planted as a link or a pipe: the fold would refuse it too.
        refuse_link(turn_path(storage.path))
        command = [sys.executable, "-m", "isolation_tui", "compact", "--background"]
        return subprocess.Popen(
            [*command, "--db", str(storage.path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, StoreError):
        return None


class BackgroundFolds:
    """A session's folds: started when its save crossed the line, and once at start
    when the journal is over it (its writer was killed before folding); each process
    kept to be reaped."""

    def __init__(self, store: Store) -> None:
        storage = store.db.storage
        self.storage = storage if isinstance(storage, JournalStorage) else None
        self.started: list[subprocess.Popen[bytes]] = []
        if self.storage is not None and not self.storage.read_only:
            self.storage.fold_elsewhere = self.start

    def start(self) -> None:
        self.started = [proc for proc in self.started if proc.poll() is None]
        if self.storage is not None:
            proc = start_background_compaction(self.storage)
            if proc is not None:
                self.started.append(proc)

    def if_over_the_line(self) -> None:
        storage = self.storage
        if storage is not None and not storage.read_only and storage.over_the_line():
            self.start()
