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
import secrets
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tinydb.storages import Storage

from ..i18n import t
from .errors import StoreError, StoreWriteFailed
from .files import describe_os_error, write_new_file
from .journal import encode_snapshot
from .segments import Segment

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


@dataclass
class Changes:
    """What a refresh or commit brought in: changed (table, doc id) pairs."""

    keys: set[tuple[str, str]] = field(default_factory=set)
    reloaded: bool = False
    # The headers of segments a seal listed, when the documents it took left memory
    # (their keys are in ``keys``): what counts them from now on.
    sealed: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.reloaded or bool(self.keys)

    def add(self, more: Changes) -> None:
        """Take in what came after (not a reload: that is said by itself)."""
        self.keys |= more.keys
        self.sealed += more.sealed

    def tables(self) -> set[str]:
        return {table for table, _ in self.keys}


@dataclass
class _Transaction:
    who: str
    ops: list[list[Any]] = field(default_factory=list)
    undo: list[tuple[str, str, Doc | None]] = field(default_factory=list)
    max_ids_before: dict[str, int] = field(default_factory=dict)
    # Whether each table touched had a name before: a rollback restores exactly that.
    names_before: dict[str, bool] = field(default_factory=dict)


@dataclass
class Rehearsed:
    """What a rehearsal would have written, and the state it was checked against:
    enough to commit it later, inside the lock, without doing the work again."""

    who: str
    seq: int = 0
    max_ids: dict[str, int] = field(default_factory=dict)
    ops: list[list[Any]] = field(default_factory=list)
    # Set inside the rehearsal to keep its changes in memory for
    # ``commit_rehearsed``: if nobody writes meanwhile, nothing is done twice.
    keep: bool = False


# A document others changed since a rehearsal began: its table and id, and what it
# was before their first change and is now (None: absent).
Changed = tuple[str, str, Doc | None, Doc | None]


class Rebase(Protocol):
    """Given a rehearsal, the tables others changed since, per table how far their
    new ids moved its own on and, where the backend knows them, the documents they
    changed: its changes renumbered, or None when it must be done again (what it
    read was changed). Without ``documents`` every change to a table it read counts."""

    def __call__(
        self,
        rehearsed: Rehearsed,
        changed: set[str],
        shift: dict[str, int],
        documents: list[Changed] | None = None,
    ) -> list[list[Any]] | None: ...


def apply_op(
    tables: Tables, max_ids: dict[str, int], table: str, key: str | None, doc: Doc | None
) -> Doc | None:
    """Apply one journal operation; return the document it replaced.

    A ``None`` key is about the table itself (its documents are removed one by one
    before): ``{}`` keeps its name, ``None`` drops it, and both restart its ids at
    1, as TinyDB's ``truncate`` and ``drop_tables`` do.
    """
    if key is None:
        max_ids.pop(table, None)
        if doc is None:
            tables.pop(table, None)
        else:
            tables[table] = {}
        return None
    rows = tables.setdefault(table, {})
    before = rows.get(key)
    if doc is None:
        rows.pop(key, None)
    else:
        rows[key] = doc
        number = int(key)
        if number > max_ids.get(table, 0):
            max_ids[table] = number
    return before


def let_go_of_new(
    tables: Tables, tx: _Transaction, keep: Callable[[str], Callable[[Doc], Doc] | None]
) -> Changes:
    """A spill's part in memory: the new records ``tx`` made leave ``tables`` (their
    changes are stored elsewhere now), but for the stub ``keep(table)`` makes of each
    (what later rows check); records there before stay, changed. ``tx`` starts
    again empty. Returns the records that went, for the listeners."""
    gone = Changes()
    for table, key, _ in tx.ops:
        rows = tables.get(table, {})
        if key is None or key not in rows or int(key) <= tx.max_ids_before.get(table, 0):
            continue
        stub = keep(table)
        if stub is not None:
            rows[key] = stub(rows[key])
        else:
            del rows[key]
            gone.keys.add((table, key))
    tx.ops.clear()
    tx.undo.clear()
    return gone


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
        """Every document, ``{table: {str(id): doc}}`` (sealed history read in first
        where it is kept apart): read it, never change it."""

    @abstractmethod
    def live_tables(self) -> Tables:
        """The documents in memory now, read only: the live set, without the sealed
        history a backend may keep outside memory until :meth:`tables` (or a change
        to a sealed document) asks for it; all of them where there is none."""

    @abstractmethod
    def document(self, table: str, key: str) -> Doc | None:
        """One document, from the live set, or from sealed history (read in then)."""

    @abstractmethod
    def sealed_outside(self) -> tuple[list[dict[str, Any]], Tables]:
        """What counting needs of the sealed history not in memory: the headers of
        its sealed units (``header`` of :meth:`seal`), and the documents among them
        replaced since, as sealed (their counts are no longer the header's); none
        once the history is in memory."""

    def sealed_parts(self, table: str, above: int = 0, since: str = "") -> Iterator[dict[str, Doc]]:
        """The documents of ``table`` with ids above ``above`` in sealed history not
        in memory (beside :meth:`live_tables`, every document), in the sealed units
        of months from ``since`` (``YYYY-MM``) on, one unit's at a time; none where
        there is none."""
        return iter(())

    def sealed_with(self, table: str, key: str, related: str, field: str) -> list[tuple[str, Doc]]:
        """The documents of ``related`` whose ``field`` names record ``key`` of
        ``table`` (its audit: ``AUDIT, "record"``), sealed with it and not in memory,
        reading only the sealed unit that holds it; none where there is none."""
        return []

    @abstractmethod
    def max_id(self, table: str) -> int:
        """The highest id ``table`` ever held (ids are never handed out twice)."""

    @abstractmethod
    def refresh(self) -> Changes:
        """Bring in what other sessions committed. Called a few times a second by the
        terminal program, so it must cost next to nothing when nothing changed."""

    def follow_in_background(self) -> None:
        """For the terminal program: from now on, hear and read other sessions'
        commits, and reconnect, off the calling thread, so that :meth:`refresh` never
        waits on the network; it raises :class:`~.errors.StoreUnavailable` while the
        link is down, and writes are refused at once meanwhile. Nothing to do where
        :meth:`refresh` is a cheap local check (the file store)."""

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
    def rehearsal(self, who: str | None = None) -> contextlib.AbstractContextManager[Rehearsed]:
        """A transaction that is always undone and takes no writers' lock (a dry run):
        what the writes inside would do to the latest state, while others commit.
        What it would have written is left in the :class:`Rehearsed` it yields; set
        its ``keep`` inside to keep the changes in memory for :meth:`commit_rehearsed`."""

    @abstractmethod
    def commit_rehearsed(self, rehearsed: Rehearsed, rebase: Rebase) -> dict[str, int] | None:
        """Store what ``rehearsed`` would have written, as one transaction, holding the
        writers' lock as briefly as the backend can. When others committed since it
        began, ``rebase`` may renumber its new documents after theirs (the backend
        decides whether it tries). Returns how far each table's new ids moved (0 when
        they did not), or None when nothing was written because the rehearsal must be
        done again against the state now."""

    @abstractmethod
    def allocate_id(self, table: str) -> int:
        """The next document id of ``table``; inside a transaction only."""

    @abstractmethod
    def stage(self, table: str, key: str, doc: Doc | None) -> None:
        """Change one document (``None`` removes it) inside the current transaction."""

    @abstractmethod
    def stage_table(self, table: str, *, keep: bool) -> None:
        """Inside the current transaction: remove every document of ``table`` and
        restart its ids at 1; ``keep`` leaves its name as an empty table."""

    @abstractmethod
    def compact(self) -> None:
        """Fold the history of commits into the stored state (also done automatically)."""

    @abstractmethod
    def seal(
        self, name: str, keys: dict[str, list[str]], header: Callable[[Tables], dict[str, Any]]
    ) -> tuple[str, int] | None:
        """Set finished history apart, beside the writers, never inside a save: the
        documents ``keys`` names (``{table: [id, …]}``, chosen by the repository:
        they change no more) become one sealed unit called ``name``, with
        ``header(documents)`` (counters over exactly those it holds) kept beside
        them. What every session reads stays the same. The file store moves them
        into an immutable, checksummed segment (see ``segments``) and returns its
        name and how many documents it holds; a store whose history is rows read by
        query (PostgreSQL) has nothing to move and returns None, as does a seal with
        nothing left to seal, or refused because others changed one of those
        documents meanwhile."""

    def seal_months(
        self, months: list[tuple[str, dict[str, list[str]], Callable[[Tables], dict[str, Any]]]]
    ) -> list[tuple[str, int]]:
        """:meth:`seal` for several units at once (a month each), which a backend may
        set apart together, so that other sessions read the change in once."""
        made = (self.seal(name, keys, header) for name, keys, header in months)
        return [one for one in made if one is not None]

    @abstractmethod
    def sealed_segments(self) -> Iterator[Segment]:
        """Each sealed unit of history with its header and its documents, read now
        (``check`` counts them again); none where history is rows (PostgreSQL)."""

    @abstractmethod
    def restore(self, tables: Tables, max_ids: dict[str, int], seq: int) -> None:
        """Make a new, empty store hold ``tables`` as of transaction ``seq`` (a
        recovery, or a copy from another store). Refused on a store with data."""

    @abstractmethod
    def writers_lock(self, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """For the terminal program, whose writes must not wait on its screen's
        thread: yields whether a write can take the writers' lock now
        (``wait=False``), or waits until it can (``wait=True``, from a worker thread;
        a time limit gives :class:`~.errors.StoreBusy`)."""

    @abstractmethod
    def file_problems(self) -> list[str]:
        """What ``check`` must report about the stored medium that can still be read
        (a file store's lost line end or unfinished last entry)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of files or connections; the object is not used afterwards."""


class MemoryBackend(Backend):
    """The in-memory half every backend shares: the tables, ids, listeners, and the
    undo log of the open transaction. A subclass reads and writes its medium and
    sets ``_tables``, ``_max_ids``, ``_seq``, ``_schema_version``, ``_tx``,
    ``_listeners``, ``read_only`` and ``who``."""

    _tables: Tables
    _max_ids: dict[str, int]
    _seq: int
    _schema_version: int
    _tx: _Transaction | None
    _listeners: list[Callable[[Changes], None]]
    _mutex: threading.RLock
    # A rehearsal's changes kept in memory for ``commit_rehearsed``; any other use of
    # the state (a refresh, a transaction, another rehearsal) undoes them first.
    _held: _Transaction | None = None

    @property
    def seq(self) -> int:
        """Number of the last committed transaction this process has seen."""
        return self._seq

    @property
    def schema_version(self) -> int:
        return self._schema_version

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    def tables(self) -> Tables:
        return self._tables

    def max_id(self, table: str) -> int:
        return self._max_ids.get(table, 0)

    def live_tables(self) -> Tables:
        return self._tables

    def document(self, table: str, key: str) -> Doc | None:
        return self._tables.get(table, {}).get(key)

    def sealed_outside(self) -> tuple[list[dict[str, Any]], Tables]:
        return [], {}

    def add_listener(self, callback: Callable[[Changes], None]) -> None:
        """Call ``callback(changes)`` whenever the data in memory changes: a document
        staged in a transaction, a rollback, or another process's commit read in."""
        self._listeners.append(callback)

    def _notify(self, changes: Changes) -> Changes:
        if changes:
            for listener in self._listeners:
                listener(changes)
        return changes

    @contextlib.contextmanager
    def rehearsal(self, who: str | None = None) -> Iterator[Rehearsed]:
        """A transaction that is always undone and takes no writers' lock: what the
        writes inside would do to the state read now (a dry run), while other
        sessions go on committing. Nothing is written, even on a read-only store.
        What it would have written is left in the :class:`Rehearsed` it yields, for
        :meth:`commit_rehearsed`; with ``keep`` set its changes stay in memory until
        then (or until the state is used otherwise)."""
        if self._tx is not None:
            raise RuntimeError("a rehearsal cannot join a transaction")
        with self._mutex:
            self._drop_held()
            self.refresh()
            tx = _Transaction(who=who or self.who, max_ids_before=dict(self._max_ids))
            rehearsed = Rehearsed(who=tx.who, seq=self._seq, max_ids=dict(self._max_ids))
            self._tx = tx
            kept = False
            try:
                yield rehearsed
                kept = rehearsed.keep and bool(tx.ops)
            finally:
                self._tx = None
                rehearsed.ops = tx.ops
                if kept:
                    self._held = tx
                else:
                    self._undo(tx)
                    self._let_go_of_spill()

    def spill(self, keep: Callable[[str], Callable[[Doc], Doc] | None]) -> None:
        """Inside a rehearsal, between batches of a big one: let go of the records it
        made so far, so that memory holds one batch, not the whole file. ``keep``
        tells, per table, what of its new records stays (a stub of each: what later
        rows check), or None when they go. Where a backend cannot, nothing happens."""

    def _let_go_of_spill(self) -> None:
        """A rehearsal that spilled is over without being stored (nothing where none
        can spill)."""

    def _drop_held(self) -> None:
        """Undo a kept rehearsal's changes: anything else sees the stored state."""
        held, self._held = self._held, None
        if held is not None:
            self._undo(held)
            self._let_go_of_spill()

    def _undo(self, tx: _Transaction) -> None:
        """Roll ``tx`` back and tell the listeners what it had changed."""
        self._rollback(tx)
        self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))

    def _stage_ops(self, ops: list[list[Any]]) -> None:
        """Inside the current transaction: make the changes a rehearsal recorded."""
        tx = self._tx
        if tx is None:
            raise RuntimeError("documents are changed inside a transaction only")
        for table, key, doc in ops:
            if key is not None:
                self.stage(table, key, doc)
                continue
            tx.names_before.setdefault(table, table in self._tables)
            self._put(table, None, doc)
            tx.ops.append([table, None, doc])

    def allocate_id(self, table: str) -> int:
        """The next document id of ``table``; only inside a transaction (ids are chosen
        inside the lock, so two processes never hand out the same one)."""
        tx = self._tx
        if tx is None:
            raise RuntimeError("document ids are allocated inside a transaction only")
        self._max_ids[table] = self._max_ids.get(table, 0) + 1
        return self._max_ids[table]

    def stage(self, table: str, key: str, doc: Doc | None) -> None:
        """Change one document inside the current transaction."""
        tx = self._tx
        if tx is None:
            raise RuntimeError("documents are changed inside a transaction only")
        tx.names_before.setdefault(table, table in self._tables)
        before = self._put(table, key, doc)
        tx.undo.append((table, key, before))
        tx.ops.append([table, key, doc])
        self._notify(Changes(keys={(table, key)}))

    def stage_table(self, table: str, *, keep: bool) -> None:
        """Inside the current transaction: remove every document of ``table`` and
        restart its ids at 1; ``keep`` leaves it as an empty table (TinyDB's
        ``truncate`` and ``persist_empty``), otherwise its name goes too."""
        tx = self._tx
        if tx is None:
            raise RuntimeError("tables are changed inside a transaction only")
        tx.names_before.setdefault(table, table in self._tables)
        for key in list(self._tables.get(table, {})):
            self.stage(table, key, None)
        op: Doc | None = {} if keep else None
        self._put(table, None, op)
        tx.ops.append([table, None, op])

    def read(self) -> Tables:
        return self._tables

    def write(self, data: Tables) -> None:
        """Whole-database writes (``drop_tables``) become per-document changes; a
        table left out is dropped, its ids with it."""
        with self.transaction():
            for table in set(self._tables) | set(self._max_ids):
                if table not in data:
                    self.stage_table(table, keep=False)
            for table, rows in list(self._tables.items()):
                new_rows = data.get(table, {})
                for key in list(rows):
                    if key not in new_rows:
                        self.stage(table, key, None)
            for table, new_rows in data.items():
                if table not in self._tables:
                    self.stage_table(table, keep=True)
                rows = self._tables.get(table, {})
                for key, doc in new_rows.items():
                    if rows.get(key) != doc:
                        self.stage(table, str(key), dict(doc))

    def _rollback(self, tx: _Transaction) -> None:
        for table, key, before in reversed(tx.undo):
            rows = self._tables.setdefault(table, {})
            if before is None:
                rows.pop(key, None)
            else:
                rows[key] = before
        for table, existed in tx.names_before.items():
            if not existed:
                self._tables.pop(table, None)
            else:
                self._tables.setdefault(table, {})
        self._max_ids = tx.max_ids_before

    def _put(self, table: str, key: str | None, doc: Doc | None) -> Doc | None:
        return apply_op(self._tables, self._max_ids, table, key, doc)

    def standalone_copy(self) -> bytes:
        """The state in memory (whole transactions only) as a standalone snapshot
        with a database id of its own: a backup, or a demo to put in place. The
        same file whichever store it comes from: it opens alone as a file store."""
        with self._mutex:
            body = {
                "schema_version": self._schema_version,
                "db_id": secrets.token_hex(8),
                "seq": self._seq,
                "max_ids": self._max_ids,
                "tables": self._tables,
            }
            return encode_snapshot(body, standalone=True)

    def backup(self, dest: Path) -> None:
        """Write :meth:`standalone_copy` to the new file ``dest``: 0600, fsynced,
        created beside nothing (``O_EXCL``) and through no link."""
        try:
            write_new_file(dest, self.standalone_copy())
        except FileExistsError as exc:
            raise StoreError(t("store.backup_exists", path=dest)) from exc
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, dest)) from exc


def backend_for(location: Location) -> Callable[..., Backend]:
    """The backend class for ``location``; PostgreSQL's driver is imported only when
    a PostgreSQL database is named, so the file store starts as fast as before."""
    if isinstance(location, DatabaseUrl):
        from .postgres import PostgresStorage

        return PostgresStorage
    from .engine import JournalStorage

    return JournalStorage


def backup_database(source: Location, dest: Path) -> tuple[int, int]:
    """Copy the database at ``source`` into the new file ``dest``, consistent while
    others write, without taking the writers' lock: a file store's journal holds
    whole transactions only, and PostgreSQL is read in one repeatable-read, read-only
    transaction (one snapshot of the server). Returns the transaction it is as of
    and its records."""
    storage = backend_for(source)(source, read_only=True)
    try:
        storage.backup(dest)
        return storage.seq, sum(len(rows) for rows in storage.tables().values())
    finally:
        storage.close()


def store_exists(location: Location) -> bool:
    """Whether ``location`` holds a database (a PostgreSQL one counts once it has data)."""
    if isinstance(location, DatabaseUrl):
        from .postgres import has_data

        return has_data(location)
    from .files import lstat_or_none
    from .paths import database_files

    # A dangling link counts: the program must not write through it.
    return any(lstat_or_none(f) for f in database_files(location)[:2])


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
    from .segments import segment_files

    for path in [*database_files(location)[: 3 if with_lock else 2], *segment_files(location)]:
        path.unlink(missing_ok=True)
