"""The store's contract: what TinyDB, the repository and the screens ask of a backend.

Two backends keep it: :class:`~.engine.JournalStorage` (a snapshot, an append-only
journal and a lock file beside them) and :class:`~.postgres.PostgresStorage` (a
table of documents, a journal table and an advisory lock, with LISTEN/NOTIFY). Both
hold the whole state in memory as TinyDB expects it (``{table: {str(id): doc}}``),
so every rule, index and counter above this seam is the same code on either, and
both give the same figures by construction. :func:`backend_for` picks one from the
``--db`` value, the only place that knows there are two.
"""

from __future__ import annotations

import contextlib
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tinydb.storages import Storage

from ..i18n import t
from .errors import StoreReadOnly

if TYPE_CHECKING:
    from .engine import Changes, _Transaction

Doc = dict[str, Any]
Tables = dict[str, dict[str, Doc]]
URL_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL connection string. It shows itself without its password, so no
    message, log or screen ever prints one."""

    dsn: str

    def __str__(self) -> str:
        parts = urlsplit(self.dsn)
        netloc = parts.netloc
        if "@" in netloc:
            account, _, host = netloc.rpartition("@")
            if ":" in account:
                netloc = account.partition(":")[0] + ":***@" + host
        query = urlencode(
            [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query)],
            safe="/",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))


Location = Path | DatabaseUrl


def parse_location(value: str | Path) -> Location:
    """``postgresql://…`` or ``postgres://…`` is a PostgreSQL database; anything else
    a file path."""
    text = str(value)
    if text.startswith(URL_SCHEMES):
        return DatabaseUrl(text)
    return Path(value).expanduser()


class Backend(Storage):
    """One store of documents, transactional and shared between sessions.

    Attributes every backend sets: ``path`` (what messages call the store: a file
    path, or a connection string without its password), ``read_only`` and ``who``
    (the default author of a transaction).
    """

    path: Location
    read_only: bool
    who: str

    @property
    @abstractmethod
    def seq(self) -> int:
        """Number of the last committed transaction this session has seen."""

    @property
    @abstractmethod
    def schema_version(self) -> int:
        """Version of the data schema the stored documents follow."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether this session is inside :meth:`transaction` now."""

    @abstractmethod
    def tables(self) -> Tables:
        """The live state, ``{table: {str(id): doc}}``: read it, never change it."""

    @abstractmethod
    def max_id(self, table: str) -> int:
        """The highest id ``table`` ever held (ids are never handed out twice)."""

    @abstractmethod
    def refresh(self) -> Changes:
        """Bring in what other sessions committed. Called a few times a second by the
        terminal program, so it must cost next to nothing when nothing changed."""

    @abstractmethod
    def add_listener(self, callback: Callable[[Changes], None]) -> None:
        """Call ``callback(changes)`` whenever the data in memory changes: a document
        staged in a transaction, a rollback, or another session's commit read in."""

    @abstractmethod
    def transaction(self, who: str | None = None) -> contextlib.AbstractContextManager[None]:
        """All writes inside are committed together, durably, or none are.

        On entry the writers' lock is taken and other sessions' commits are read in,
        so ids and rule checks see the latest state. Nested calls join the outer one.
        """

    @abstractmethod
    def allocate_id(self, table: str) -> int:
        """The next document id of ``table``; inside a transaction only."""

    @abstractmethod
    def stage(self, table: str, key: str, doc: Doc | None) -> None:
        """Change one document (``None`` removes it) inside the current transaction."""

    @abstractmethod
    def compact(self) -> None:
        """Fold the history of commits into the stored state (also done automatically)."""

    @abstractmethod
    def restore(self, tables: Tables, max_ids: dict[str, int], seq: int) -> None:
        """Make a new, empty store hold ``tables`` as of transaction ``seq`` (a
        recovery, or a copy from another store). Refused on a store with data."""

    @abstractmethod
    def close(self) -> None:
        """Let go of files or connections; the object is not used afterwards."""


class MemoryBackend(Backend):
    """The in-memory half every backend shares: the tables, ids, listeners and the
    undo log of the open transaction. A subclass supplies where commits go:
    :meth:`_writing` (take the lock, read others' commits in) and :meth:`_save`."""

    def __init__(self, who: str, read_only: bool) -> None:
        self.who = who
        self.read_only = read_only
        self._tables: Tables = {}
        self._max_ids: dict[str, int] = {}
        self._seq = 0
        self._schema_version = 0
        self._tx: _Transaction | None = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[Changes], None]] = []

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def schema_version(self) -> int:
        return self._schema_version

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    def tables(self) -> Tables:
        return self._tables

    def read(self) -> Tables:
        return self._tables

    def max_id(self, table: str) -> int:
        return self._max_ids.get(table, 0)

    def add_listener(self, callback: Callable[[Changes], None]) -> None:
        self._listeners.append(callback)

    def _notify(self, changes: Changes) -> Changes:
        if changes:
            for listener in self._listeners:
                listener(changes)
        return changes

    def _put(self, table: str, key: str, doc: Doc | None) -> Doc | None:
        rows = self._tables.setdefault(table, {})
        before = rows.get(key)
        if doc is None:
            rows.pop(key, None)
        else:
            rows[key] = doc
            number = int(key)
            if number > self._max_ids.get(table, 0):
                self._max_ids[table] = number
        return before

    def _apply(self, ops: list[list[Any]]) -> set[tuple[str, str]]:
        for table, key, doc in ops:
            self._put(table, key, doc)
        return {(table, key) for table, key, _ in ops}

    @abstractmethod
    def _writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the writers' lock, with other sessions' commits read in, for the
        length of a transaction; undo whatever the store began if it fails."""

    @abstractmethod
    def _save(self, tx: _Transaction) -> None:
        """Make ``tx`` durable and visible to other sessions, or raise (nothing saved)."""

    @contextlib.contextmanager
    def transaction(self, who: str | None = None) -> Iterator[None]:
        from .engine import _Transaction

        if self._tx is not None:
            yield
            return
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex, self._writing():
            tx = _Transaction(who=who or self.who, max_ids_before=dict(self._max_ids))
            self._tx = tx
            try:
                yield
            except BaseException:
                self._undo(tx)
                raise
            finally:
                self._tx = None
            if tx.ops:
                try:
                    self._save(tx)
                except BaseException:
                    self._undo(tx)
                    raise
                self._seq += 1

    def _undo(self, tx: _Transaction) -> None:
        from .engine import Changes

        for table, key, before in reversed(tx.undo):
            rows = self._tables.setdefault(table, {})
            if before is None:
                rows.pop(key, None)
            else:
                rows[key] = before
        self._max_ids = tx.max_ids_before
        self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))

    def allocate_id(self, table: str) -> int:
        if self._tx is None:
            raise RuntimeError("document ids are allocated inside a transaction only")
        self._max_ids[table] = self._max_ids.get(table, 0) + 1
        return self._max_ids[table]

    def stage(self, table: str, key: str, doc: Doc | None) -> None:
        from .engine import Changes

        tx = self._tx
        if tx is None:
            raise RuntimeError("documents are changed inside a transaction only")
        before = self._put(table, key, doc)
        tx.undo.append((table, key, before))
        tx.ops.append([table, key, doc])
        self._notify(Changes(keys={(table, key)}))

    def write(self, data: Tables) -> None:
        """Whole-database writes (TinyDB's ``drop_tables``) become per-document changes."""
        with self.transaction():
            for table, rows in list(self._tables.items()):
                new_rows = data.get(table, {})
                for key in list(rows):
                    if key not in new_rows:
                        self.stage(table, key, None)
            for table, new_rows in data.items():
                rows = self._tables.get(table, {})
                for key, doc in new_rows.items():
                    if rows.get(key) != doc:
                        self.stage(table, str(key), dict(doc))


def backend_for(location: Location) -> Callable[..., Backend]:
    """The backend class for ``location``; PostgreSQL's driver is imported only when
    a PostgreSQL database is named, so the file store starts as fast as before."""
    if isinstance(location, DatabaseUrl):
        from .postgres import PostgresStorage

        return PostgresStorage
    from .engine import JournalStorage

    return JournalStorage


def store_exists(location: Location) -> bool:
    """Whether ``location`` holds a database (a PostgreSQL one counts once it has data)."""
    if isinstance(location, DatabaseUrl):
        from .postgres import has_data

        return has_data(location)
    from .paths import database_files

    return any(f.exists() for f in database_files(location)[:2])


def remove_store(location: Location, *, with_lock: bool = False) -> None:
    """Take the database at ``location`` away (``demo --force``): the files, or every
    table's rows in PostgreSQL (sessions still open notice and read the new one).
    An empty PostgreSQL store is left as it is: it is no database yet. The lock file
    stays unless ``with_lock``: sessions still running on the old data hold it, and
    must keep taking turns with the new one (they notice it by its id)."""
    if isinstance(location, DatabaseUrl):
        from .postgres import clear, has_data

        if has_data(location):
            clear(location)
        return
    from .paths import database_files

    for path in database_files(location)[: 3 if with_lock else 2]:
        path.unlink(missing_ok=True)
