"""The store on PostgreSQL: what the file store does with a snapshot, an append-only
journal and a lock file, done with a table of documents, a journal table and an
advisory lock, with LISTEN/NOTIFY in place of watching the file.

A transaction is one SQL transaction: it takes the writers' advisory lock, reads the
journal entries newer than this session's state (so ids and rule checks see the
latest data, whichever host wrote it), and at the end writes one journal row, the
changed documents, the new sequence number and a NOTIFY, committed together. Other
sessions hear the NOTIFY and read the entries after their own. A big import is sent
to the server batch by batch as it is checked, into a transaction of its own, and
stored as one journal entry per batch, committed together (see ``spill`` and
``_commit_streamed``). A lost connection
becomes a :class:`StoreUnavailable` message; PostgreSQL rolls back what it was
writing, and the session reconnects on its next call.
"""

from __future__ import annotations

import contextlib
import secrets
import select
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import psycopg
from psycopg import sql

from ..i18n import t
from .backend import (
    Changes,
    DatabaseUrl,
    Doc,
    MemoryBackend,
    Rebase,
    Rehearsed,
    Tables,
    _Transaction,
    let_go_of_new,
)
from .engine import SCHEMA_VERSION
from .errors import (
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreMissing,
    StoreReadOnly,
    StoreUnavailable,
    StoreWriteFailed,
)
from .files import LOCK_TIMEOUT_ENV, lock_timeout
from .journal import BULK_PARSE_BYTES, bulk_parse
from .segments import Segment

# Followers more than this many commits behind read every document again instead.
JOURNAL_KEEP = 2000
RETRY_SECONDS = 3.0
CONNECT_TIMEOUT = 5
# The follower's wait for news on its socket, and how long a quiet link goes before
# it is asked whether it is still there.
FOLLOW_WAIT = 0.25
PROBE_SECONDS = 5.0
# A TCP link that dies without a word is noticed within about this many seconds
# (libpq's keepalives; a Unix socket needs none).
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS documents ("
    " tbl text NOT NULL, id bigint NOT NULL, doc json NOT NULL, PRIMARY KEY (tbl, id))",
    "CREATE TABLE IF NOT EXISTS journal ("
    " seq bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
    " who text NOT NULL, ops json NOT NULL)",
)
BATCH = 5000
UPSERT = (
    "INSERT INTO documents (tbl, id, doc) "
    "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[]::json[]) "
    "ON CONFLICT (tbl, id) DO UPDATE SET doc = EXCLUDED.doc"
)
DELETE = (
    "DELETE FROM documents d USING unnest(%s::text[], %s::bigint[]) AS gone (tbl, id) "
    "WHERE d.tbl = gone.tbl AND d.id = gone.id"
)
# A big import's batches, sent as they are made into its own transaction, which no
# other session sees: one row per batch, its operations as its journal entry will
# hold them; and, once they are in, the last operation on each record that was
# there before (applied inside the writers' lock).
STAGE = (
    "CREATE TEMP TABLE isolation_import (part integer PRIMARY KEY, ops json NOT NULL)"
    " ON COMMIT DROP",
    "CREATE TEMP TABLE isolation_import_old (tbl text, id bigint, doc json) ON COMMIT DROP",
)
STAGE_PART = "INSERT INTO isolation_import (part, ops) VALUES (%s, %s::json)"
# The records the import made go straight into the documents table (their ids are
# reserved: nobody else writes them); the others wait for the lock.
STAGED_DOCUMENTS = (
    "WITH last AS ("
    " SELECT DISTINCT ON (tbl, id) tbl, id, doc,"
    "  id > coalesce((%s::jsonb ->> tbl)::bigint, 0) AS new"
    " FROM (SELECT e ->> 0 AS tbl, (e ->> 1)::bigint AS id, e -> 2 AS doc, part, n"
    "  FROM isolation_import, json_array_elements(ops) WITH ORDINALITY AS op (e, n)) AS ops"
    " ORDER BY tbl, id, part DESC, n DESC),"
    " made AS (INSERT INTO documents (tbl, id, doc)"
    "  SELECT tbl, id, doc FROM last WHERE new AND json_typeof(doc) <> 'null')"
    " INSERT INTO isolation_import_old SELECT tbl, id, doc FROM last WHERE NOT new"
)
STAGED_CHANGES = (
    "INSERT INTO documents (tbl, id, doc)"
    " SELECT tbl, id, doc FROM isolation_import_old WHERE json_typeof(doc) <> 'null'"
    " ON CONFLICT (tbl, id) DO UPDATE SET doc = EXCLUDED.doc",
    "DELETE FROM documents d USING isolation_import_old o"
    " WHERE json_typeof(o.doc) = 'null' AND d.tbl = o.tbl AND d.id = o.id",
)
STAGED_ENTRIES = (
    "INSERT INTO journal (seq, at, who, ops)"
    " SELECT %s + part, clock_timestamp(), %s, ops FROM isolation_import"
)
# The tables others' entries after a transaction changed, and whether they emptied one.
CHANGED_SINCE = (
    "SELECT e ->> 0, bool_or(json_typeof(e -> 1) = 'null')"
    " FROM journal, json_array_elements(ops) AS e WHERE seq > %s GROUP BY 1"
)


def _connect(location: DatabaseUrl, read_only: bool) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(
            location.dsn,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="isolation-tui",
            **KEEPALIVE,
        )
    except psycopg.Error as exc:
        raise StoreUnavailable(_lost_message(location, exc)) from exc
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return conn


def _detail(exc: BaseException) -> str:
    """The first line of what the driver said (the cause of our own wrapper)."""
    if isinstance(exc, StoreUnavailable) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _lost_message(location: DatabaseUrl, exc: BaseException) -> str:
    return t("store.pg_unavailable", path=location, error=_detail(exc))


def _names(conn: psycopg.Connection[Any]) -> tuple[str, str]:
    """The writers' lock and the notification channel: one per schema, so two
    databases in two schemas of one server never wait for each other."""
    row = conn.execute("SELECT current_schema()").fetchone()
    schema = row[0] if row and row[0] else "public"
    return f"isolation-tui:{schema}", f"isolation_tui:{schema}"


def _has_schema(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
    return bool(row and row[0])


def _meta(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def _set_meta(conn: psycopg.Connection[Any], **values: Any) -> None:
    for key, value in values.items():
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s::jsonb) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, orjson.dumps(value).decode()),
        )


def _lock(conn: psycopg.Connection[Any], lock: str) -> None:
    """Take the writers' lock, until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))


def _append_entry(
    conn: psycopg.Connection[Any], seq: int, who: str, ops: str, max_ids: dict[str, int]
) -> None:
    """Inside the writers' lock: journal entry ``seq`` and the counters after it."""
    conn.execute("INSERT INTO journal (seq, who, ops) VALUES (%s, %s, %s::json)", (seq, who, ops))
    _set_meta(conn, seq=seq, max_ids=max_ids)


@contextlib.contextmanager
def _locked(conn: psycopg.Connection[Any], lock: str) -> Iterator[None]:
    """A transaction holding the writers' lock; committed when the block ends."""
    conn.execute("BEGIN")
    try:
        _lock(conn, lock)
        yield
    except BaseException:
        if not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
        raise
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.execute("COMMIT")


@dataclass
class _State:
    """Every document and counter as of one committed transaction."""

    schema_version: int
    db_id: str
    seq: int
    max_ids: dict[str, int]
    tables: Tables


@dataclass
class _Fetched:
    """What the follower read for the screen's thread: the journal entries after a
    transaction of database ``db_id``, the whole state, or why it could not."""

    db_id: str = ""
    entries: list[tuple[int, list[Any]]] = field(default_factory=list)
    state: _State | None = None
    error: StoreError | None = None


def _read_state(conn: psycopg.Connection[Any], location: DatabaseUrl) -> _State:
    """Every document (inside a repeatable-read transaction: one committed state)."""
    meta = _meta(conn)
    version = int(meta.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{location}: written with data schema {version}, this program knows "
            f"schema {SCHEMA_VERSION} at most; install a newer isolation-tui. "
            "Nothing was changed."
        )
    tables: Tables = {name: {} for name in meta.get("names", [])}
    # Without the cyclic GC's passes over the documents decoded so far: a third of
    # the time to read the demo (as for the file store's snapshot).
    with bulk_parse(BULK_PARSE_BYTES), conn.cursor() as cur:
        cur.execute("SELECT tbl, id, doc::text FROM documents ORDER BY tbl, id")
        for table, number, doc in cur:
            tables.setdefault(table, {})[str(number)] = orjson.loads(doc)
    return _State(
        schema_version=version,
        db_id=str(meta.get("db_id", "")),
        seq=int(meta.get("seq", 0)),
        max_ids={k: int(v) for k, v in meta.get("max_ids", {}).items()},
        tables=tables,
    )


def _read_entries(
    conn: psycopg.Connection[Any], location: DatabaseUrl, db_id: str, after: int
) -> list[tuple[int, list[Any]]] | None:
    """The journal entries after ``after``, or None when they cannot tell what
    changed since (the database was replaced, or the entries were folded away)."""
    meta = _meta(conn)
    if meta.get("db_id") != db_id or int(meta.get("journal_base", 0)) > after:
        return None
    rows = conn.execute(
        "SELECT seq, ops::text FROM journal WHERE seq > %s ORDER BY seq", (after,)
    ).fetchall()
    entries = []
    expected = after
    # A big import's entries decode into as many containers as reading the store
    # does: without the cyclic GC's passes over them meanwhile (see ``_read_state``).
    with bulk_parse(sum(len(ops) for _, ops in rows)):
        for seq, ops in rows:
            if seq != expected + 1:
                raise StoreCorrupt(f"{location}: journal jumps from entry {expected} to {seq}")
            expected = seq
            entries.append((seq, orjson.loads(ops)))
    return entries


class PostgresStorage(MemoryBackend):
    """TinyDB storage over a PostgreSQL database (tables ``meta``, ``documents`` and
    ``journal``, created on first use)."""

    def __init__(
        self,
        location: DatabaseUrl,
        *,
        create: bool = False,
        read_only: bool = False,
        create_dirs: bool = False,
        who: str = "unknown",
    ) -> None:
        del create_dirs  # a file store's option: PostgreSQL has no folder to make
        self.path = location
        self.who = who
        self.read_only = read_only
        self._tables: Tables = {}
        self._max_ids: dict[str, int] = {}
        self._seq = 0
        self._schema_version = SCHEMA_VERSION
        self._tx: _Transaction | None = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[Changes], None]] = []
        self._db_id = ""
        self._heard = False
        self._conn: psycopg.Connection[Any] | None = None
        self._last_try = 0.0
        self._last_error = ""
        self._last_detail = ""
        # Following in the background (the terminal program): the thread, what it
        # read for this one, and why the link is down ("" while it is up).
        self._follower: threading.Thread | None = None
        self._stop = threading.Event()
        self._fetched: list[_Fetched] = []
        self._fetched_lock = threading.Lock()
        self._want_all = False
        self._link_down = ""
        # A big import in the making (see ``spill``): its transaction, on a
        # connection of its own, holding the batches sent so far, and the tables
        # they change. Memory no longer says what is stored once one spilled: it is
        # read again at the next use (``_stale``).
        self._import: psycopg.Connection[Any] | None = None
        self._parts = 0
        self._staged_tables: set[str] = set()
        self._spilling = False
        self._stale = False
        self._no_temp_tables = False
        with self._errors():
            conn = _connect(location, read_only)
            self._lock, self._channel = _names(conn)
            if not _has_schema(conn):
                if not create or read_only:
                    conn.close()
                    raise StoreMissing(t("store.missing", path=location))
                self._create(conn)
            self._listen(conn)
            self._conn = conn
            self._load()

    # ------------------------------------------------------------------ connection

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """PostgreSQL's errors as the store's: a lost server is "unavailable" (try
        again later), a refusal (no privilege, a full disk) is a failed write."""
        try:
            yield
        except psycopg.OperationalError as exc:
            self._drop_connection()
            self._last_detail = _detail(exc)
            self._last_error = _lost_message(self.path, exc)
            raise StoreUnavailable(self._last_error) from exc
        except psycopg.Error as exc:
            raise StoreWriteFailed(
                t("store.pg_refused", path=self.path, error=str(exc).strip())
            ) from exc

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        self._last_try = time.monotonic()

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        conn.add_notify_handler(self._heard_commit)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))

    def _heard_commit(self, notify: psycopg.Notify) -> None:
        db_id, _, seq = notify.payload.partition(" ")
        if db_id != self._db_id or not seq.isdecimal() or int(seq) > self._seq:
            self._heard = True

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection, or a new one (at most every few seconds while the
        server is away), caught up with what was committed meanwhile. While following
        in the background, never a new one: connecting can wait for the connect
        timeout, and the follower does it off this thread."""
        conn = self._conn
        if self._follower is not None:
            usable = conn is not None and not conn.closed
            down = self._link_down or ("" if usable else self._last_detail)
            if down:
                raise StoreUnavailable(t("store.pg_link_down", path=self.path, error=down))
        if conn is not None and not conn.closed:
            return conn
        if time.monotonic() - self._last_try < RETRY_SECONDS and self._last_error:
            raise StoreUnavailable(self._last_error)
        self._last_try = time.monotonic()
        conn = _connect(self.path, self.read_only)
        self._listen(conn)
        self._conn = conn
        self._heard = True
        return conn

    # ------------------------------------------------------------------ following

    def follow_in_background(self) -> None:
        """Hear and read other sessions' commits, and reconnect, on a thread of its
        own: :meth:`refresh` then only applies what it read, and never waits on the
        network (a TCP link that hangs makes a connect wait for its timeout)."""
        if self._follower is not None:
            return
        # The follower's connection hears for this one, which now reads nothing it
        # is not asked for: notifications left unread would pile up in the server.
        with contextlib.suppress(StoreUnavailable), self._mutex, self._errors():
            self._connection().execute("UNLISTEN *")
        self._follower = threading.Thread(
            target=self._follow, name="isolation-tui follower", daemon=True
        )
        self._follower.start()

    def _take_fetched(self) -> Changes:
        """On the screen's thread: apply what the follower read; say when the link is
        down (after applying what came before)."""
        with self._mutex:
            self._drop_held()
            with self._fetched_lock:
                batch, self._fetched = self._fetched, []
            changes = Changes()
            for fetched in batch:
                if fetched.error is not None:
                    raise fetched.error
                state = fetched.state
                if state is not None:
                    if state.db_id != self._db_id or state.seq > self._seq:
                        changes = self._install(state)
                elif fetched.db_id != self._db_id:
                    self._want_all = True
                else:
                    changes.keys |= self._apply(fetched.entries).keys
            self._notify(changes)
        if self._link_down:
            raise StoreUnavailable(t("store.pg_unavailable", path=self.path, error=self._link_down))
        return changes

    def _follow(self) -> None:
        """The follower's loop: its own connection LISTENs; on news it reads the new
        entries in one repeatable-read transaction; a lost link is retried every few
        seconds, and the session's own connection is made again here too."""
        conn: psycopg.Connection[Any] | None = None
        news = [True]
        db_id, seq = self._db_id, self._seq
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = _connect(self.path, read_only=True)
                    conn.add_notify_handler(lambda _: news.__setitem__(0, True))
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    news[0] = True
                main = self._conn
                if main is None or main.closed:
                    self._hand_over(_connect(self.path, self.read_only))
                if news[0] or self._want_all:
                    news[0] = False
                    db_id, seq = self._fetch(conn, db_id, seq)
                self._link_down = ""
                ready = select.select([conn.fileno()], [], [], FOLLOW_WAIT)[0]
                if ready or time.monotonic() - quiet_since > PROBE_SECONDS:
                    conn.execute("SELECT 1")  # reads the notifications (or the hang-up)
                    quiet_since = time.monotonic()
            except (psycopg.Error, StoreUnavailable, OSError) as exc:
                self._link_down = _detail(exc)
                # The session's connection went the same way, even if it does not
                # know yet: it is made again with the follower's.
                with self._mutex:
                    self._drop_connection()
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                conn = None
                tried = time.monotonic()
                # RETRY_SECONDS read at each turn: a test may shorten a wait begun.
                while time.monotonic() - tried < RETRY_SECONDS and not self._stop.wait(0.05):
                    pass
            except StoreError as exc:
                with self._fetched_lock:
                    self._fetched.append(_Fetched(error=exc))
                return
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _fetch(self, conn: psycopg.Connection[Any], db_id: str, seq: int) -> tuple[str, int]:
        """Read what was committed after ``seq`` of ``db_id`` (or after what the
        screen's thread holds, when that is further); return where it now ends."""
        if self._db_id == db_id:
            seq = max(seq, self._seq)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            entries = None if self._want_all else _read_entries(conn, self.path, db_id, seq)
            if entries is None:
                self._want_all = False
                state = _read_state(conn, self.path)
                fetched = _Fetched(state=state)
                db_id, seq = state.db_id, state.seq
            else:
                fetched = _Fetched(db_id=db_id, entries=entries)
                seq = entries[-1][0] if entries else seq
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        if fetched.state is not None or fetched.entries:
            with self._fetched_lock:
                self._fetched.append(fetched)
        return db_id, seq

    def _hand_over(self, conn: psycopg.Connection[Any]) -> None:
        """Give the session a connection made on the follower's thread."""
        with self._mutex:
            if not self._stop.is_set() and (self._conn is None or self._conn.closed):
                self._conn = conn  # no LISTEN: the follower's own connection hears
                return
        conn.close()

    # ------------------------------------------------------------------ reading

    def _create(self, conn: psycopg.Connection[Any]) -> None:
        with _locked(conn, self._lock):
            for statement in SCHEMA:
                conn.execute(statement)  # type: ignore[arg-type]
            initial = {
                "schema_version": SCHEMA_VERSION,
                "db_id": secrets.token_hex(8),
                "seq": 0,
                "journal_base": 0,
                "max_ids": {},
                "names": [],
            }
            for key, value in initial.items():
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES (%s, %s::jsonb) ON CONFLICT DO NOTHING",
                    (key, orjson.dumps(value).decode()),
                )

    def _load(self) -> Changes:
        """Every document as of one committed state (a repeatable-read snapshot)."""
        conn = self._connection()
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            return self._read_all(conn)
        finally:
            conn.execute("ROLLBACK")

    def _read_all(self, conn: psycopg.Connection[Any]) -> Changes:
        """Replace the state in memory by the stored one (inside a transaction)."""
        return self._install(_read_state(conn, self.path))

    def _install(self, state: _State) -> Changes:
        with self._mutex:
            self._stale = False
            self._schema_version = state.schema_version
            self._db_id = state.db_id
            self._seq = state.seq
            self._max_ids = state.max_ids
            self._tables = state.tables
        return Changes(reloaded=True)

    def _apply(self, entries: list[tuple[int, list[Any]]]) -> Changes:
        """Apply the entries after our state; True in ``_want_all`` when one is
        missing (then the follower reads everything again)."""
        changes = Changes()
        for seq, ops in entries:
            if seq <= self._seq:
                continue  # read already, by a write of ours
            if seq != self._seq + 1:
                self._want_all = True
                break
            for table, key, doc in ops:
                self._put(table, key, doc)
                if key is not None:
                    changes.keys.add((table, key))
            self._seq = seq
        return changes

    def _catch_up(self) -> Changes:
        """Apply the journal entries after ours; read everything again when the
        entries we miss were folded away, the database was replaced, or memory lost
        track of it (a big import's records were let go)."""
        conn = self._connection()
        if self._stale:
            return self._read_all(conn)
        entries = _read_entries(conn, self.path, self._db_id, self._seq)
        if entries is None:
            return self._read_all(conn)
        return self._apply(entries)

    def refresh(self) -> Changes:
        """Bring in other sessions' commits: a ``select()`` on the connection's socket
        when nothing was notified, one query per batch of notifications."""
        if self._tx is not None:
            return Changes()
        if self._follower is not None:
            return self._take_fetched()
        with self._mutex, self._errors():
            self._drop_held()
            return self._notify(self._read_news())

    def _read_news(self) -> Changes:
        """What other sessions committed since this one's state, read in one
        repeatable-read transaction when they said so; nothing otherwise."""
        conn = self._connection()
        if select.select([conn.fileno()], [], [], 0)[0]:
            conn.execute("SELECT 1")  # reads the notifications (or the hang-up)
        if not self._heard and not self._stale:
            return Changes()
        self._heard = False
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            return self._catch_up()
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def transaction(self, who: str | None = None) -> Iterator[None]:
        """One SQL transaction, holding the writers' advisory lock, with the entries
        other sessions committed read in first. Nested calls join the outer one."""
        if self._tx is not None:
            yield
            return
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex, self._errors():
            self._drop_held()
            # What others committed (a big import) is read before the lock, so that
            # the lock is held only to read what comes in meanwhile.
            self._notify(self._read_news())
            conn = self._connection()
            with _locked(conn, self._lock):
                self._heard = False
                self._notify(self._catch_up())
                tx = _Transaction(who=who or self.who, max_ids_before=dict(self._max_ids))
                self._tx = tx
                seq_before = self._seq
                try:
                    yield
                    if tx.ops:
                        self._save(tx)
                except BaseException:
                    self._seq = seq_before
                    self._undo(tx)
                    raise
                finally:
                    self._tx = None

    def commit_rehearsed(self, rehearsed: Rehearsed, rebase: Rebase) -> dict[str, int] | None:
        """Store what a rehearsal would have written. A small one (it never spilled)
        is stored in one normal transaction when nobody committed since it began;
        otherwise None, and the import is done again (a few times, then refused):
        its few statements hold the lock briefly. A big one was sent to the server
        batch by batch as it was made (see ``spill``) and is stored by
        :meth:`_commit_streamed`."""
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        if self._tx is not None:
            raise RuntimeError("a rehearsal cannot be committed inside a transaction")
        with self._mutex:
            held = self._held
            if held is not None and held.ops is rehearsed.ops and self._import is not None:
                self._held = None
                try:
                    with self._errors():
                        return self._commit_streamed(held, rehearsed, rebase)
                finally:
                    self._let_go_of_spill()
        with self.transaction(rehearsed.who):
            if self._seq != rehearsed.seq:
                return None
            self._stage_ops(rehearsed.ops)
        return {table: 0 for table in {op[0] for op in rehearsed.ops}}

    # ------------------------------------------------------------------ big imports

    def spill(self, keep: Callable[[str], Callable[[Doc], Doc] | None]) -> None:
        """Inside a rehearsal, between batches of a big one (an import): send what it
        changed so far into the import's own transaction on the server (not on a
        read-only store: a dry run only checks), where no other session sees it
        and it holds no lock on what they write, and let go of the new records it
        made but for the stub ``keep(table)`` makes of each (what later rows check).
        A batch that empties a table (no import does) stays in memory, as does
        everything where the role may not make a temporary table."""
        tx = self._tx
        if tx is None or self._held is not None:
            raise RuntimeError("only a rehearsal spills")
        if any(key is None for _, key, _ in tx.ops):
            return
        with self._mutex, self._errors():
            if not self.read_only and not self._send_batch(tx.ops):
                return
            self._spilling = True
            self._notify(let_go_of_new(self._tables, tx, keep))

    def _send_batch(self, ops: list[list[Any]]) -> bool:
        """Add ``ops`` to the import's transaction, begun with the first batch;
        False where temporary tables are not allowed (nothing was sent)."""
        conn = self._import
        if conn is None:
            if self._no_temp_tables:
                return False
            conn = _connect(self.path, read_only=False)
            try:
                conn.execute("BEGIN")
                for statement in STAGE:
                    conn.execute(statement)  # type: ignore[arg-type]
            except psycopg.errors.InsufficientPrivilege:
                conn.close()
                self._no_temp_tables = True
                return False
            except BaseException:
                conn.close()
                raise
            self._import, self._parts, self._staged_tables = conn, 0, set()
        self._parts += 1
        conn.execute(STAGE_PART, (self._parts, orjson.dumps(ops).decode()))
        self._staged_tables.update(table for table, _, _ in ops)
        return True

    def _let_go_of_spill(self) -> None:
        """The import's transaction ends (rolled back unless it was committed) and
        memory is read again at its next use."""
        if self._spilling:
            self._spilling = False
            self._stale = True
        conn, self._import = self._import, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _commit_streamed(
        self, held: _Transaction, rehearsed: Rehearsed, rebase: Rebase
    ) -> dict[str, int] | None:
        """Store an import whose batches are in its transaction on the server, as
        the file store stores a spilled one, never holding the writers' lock for
        more than a few statements:

        1. a first short hold (on the session's own connection, committed at once)
           checks what others stored since the rehearsal began (the tables it
           changed, read on the server) and reserves the ids the import made after
           theirs: a tiny entry, a record put at the last and taken away;
        2. outside the lock, the batches are renumbered into those ids when others'
           took the first ones (a batch at a time through this process), and the
           new records are copied into the documents table inside the import's
           transaction (their ids are nobody else's, so no one waits for them);
        3. a second short hold, inside the import's transaction, checks again what
           others stored meanwhile, applies the import's changes to records there
           before, appends its batches as consecutive journal entries and commits.

        Others see all of it or nothing; a killed importer's transaction is rolled
        back by the server. Returns how far each table's new ids moved, or None when
        others changed what the rows checked (the import is done again)."""
        conn = self._import
        assert conn is not None
        if any(key is None for _, key, _ in held.ops):
            return None
        if held.ops:
            self._send_batch(held.ops)
        made = {
            table: self._max_ids.get(table, 0) - rehearsed.max_ids.get(table, 0)
            for table in self._staged_tables
        }
        reserved = self._reserve(rehearsed, rebase, {t: n for t, n in made.items() if n > 0})
        if reserved is None:
            return None
        shift, after, tops = reserved
        if any(shift.values()):
            for part in range(1, self._parts + 1):
                row = conn.execute(
                    "SELECT ops::text FROM isolation_import WHERE part = %s", (part,)
                ).fetchone()
                assert row is not None
                ops = rebase(replace(rehearsed, ops=orjson.loads(row[0])), set(), shift)
                if ops is None:
                    return None
                conn.execute(
                    "UPDATE isolation_import SET ops = %s::json WHERE part = %s",
                    (orjson.dumps(ops).decode(), part),
                )
        conn.execute(STAGED_DOCUMENTS, (orjson.dumps(rehearsed.max_ids).decode(),))
        _lock(conn, self._lock)
        meta = _meta(conn)
        if not self._unaffected(conn, meta, rehearsed, rebase, after):
            return None
        for statement in STAGED_CHANGES:
            conn.execute(statement)  # type: ignore[arg-type]
        seq = int(meta.get("seq", 0))
        conn.execute(STAGED_ENTRIES, (seq, rehearsed.who))
        stored = {k: int(v) for k, v in meta.get("max_ids", {}).items()}
        for table, top in tops.items():
            stored[table] = max(stored.get(table, 0), top)
        _set_meta(conn, seq=seq + self._parts, max_ids=stored)
        conn.execute(
            "SELECT pg_notify(%s, %s)", (self._channel, f"{self._db_id} {seq + self._parts}")
        )
        conn.execute("COMMIT")
        return {table: shift.get(table, 0) for table in self._staged_tables}

    def _reserve(
        self, rehearsed: Rehearsed, rebase: Rebase, made: dict[str, int]
    ) -> tuple[dict[str, int], int, dict[str, int]] | None:
        """The first hold of :meth:`_commit_streamed`: how far each table's new ids
        move, the transaction that reserved them and the highest of each; None when
        what others stored since the rehearsal began changes what it checked."""
        conn = self._connection()
        with _locked(conn, self._lock):
            meta = _meta(conn)
            if not self._unaffected(conn, meta, rehearsed, rebase, rehearsed.seq):
                conn.execute("ROLLBACK")
                return None
            seq = int(meta.get("seq", 0))
            max_ids = {k: int(v) for k, v in meta.get("max_ids", {}).items()}
            shift = {
                table: max_ids.get(table, 0) - rehearsed.max_ids.get(table, 0) for table in made
            }
            tops = {table: max_ids.get(table, 0) + count for table, count in made.items()}
            if tops:
                ops = [[table, str(top), doc] for table, top in tops.items() for doc in ({}, None)]
                max_ids.update(tops)
                seq += 1
                _append_entry(conn, seq, rehearsed.who, orjson.dumps(ops).decode(), max_ids)
                conn.execute("SELECT pg_notify(%s, %s)", (self._channel, f"{self._db_id} {seq}"))
        return shift, seq, tops

    def _unaffected(
        self,
        conn: psycopg.Connection[Any],
        meta: dict[str, Any],
        rehearsed: Rehearsed,
        rebase: Rebase,
        after: int,
    ) -> bool:
        """Inside the writers' lock: whether what others stored after transaction
        ``after`` leaves the import's checks true (its new ids may still move)."""
        if meta.get("db_id") != self._db_id or int(meta.get("journal_base", 0)) > after:
            return False
        if int(meta.get("seq", 0)) == after:
            return True
        rows = conn.execute(CHANGED_SINCE, (after,)).fetchall()
        # Ids after a table others emptied start again at 1: checked again.
        if self._staged_tables & {table for table, emptied in rows if emptied}:
            return False
        return rebase(replace(rehearsed, ops=[]), {table for table, _ in rows}, {}) is not None

    def _current(self) -> None:
        """Read the store again when memory lost track of it (see ``spill``)."""
        if self._stale and self._tx is None:
            with self._mutex, self._errors():
                self._drop_held()
                if self._stale:
                    self._notify(self._load())

    def tables(self) -> Tables:
        self._current()
        return self._tables

    def live_tables(self) -> Tables:
        self._current()
        return self._tables

    def document(self, table: str, key: str) -> Doc | None:
        self._current()
        return self._tables.get(table, {}).get(key)

    def max_id(self, table: str) -> int:
        self._current()
        return self._max_ids.get(table, 0)

    @contextlib.contextmanager
    def writers_lock(self, wait: bool = True) -> Iterator[bool]:
        """Whether a write can take the writers' lock now (``wait=False``), or wait
        until it can (``wait=True``: a worker thread, on a connection of its own).
        PostgreSQL's lock lives inside the write's own SQL transaction, so this only
        looks: the write then takes it again (waiting a moment if another session
        came first)."""
        if not wait:
            with self._mutex, self._errors():
                conn = self._connection()
                conn.execute("BEGIN")
                try:
                    row = conn.execute(
                        "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock,)
                    ).fetchone()
                finally:
                    conn.execute("ROLLBACK")
            yield bool(row and row[0])
            return
        limit = lock_timeout()
        try:
            with _connect(self.path, self.read_only) as conn:
                conn.execute(
                    "SELECT set_config('lock_timeout', %s, false)", (f"{limit * 1000:.0f}",)
                )
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (self._lock,))
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (self._lock,))
        except psycopg.errors.LockNotAvailable as exc:
            raise StoreBusy(
                t("store.lock_timeout", path=self.path, seconds=f"{limit:g}", name=LOCK_TIMEOUT_ENV)
            ) from exc
        except psycopg.OperationalError as exc:
            # The session's own connection is the UI thread's: only this one is lost.
            raise StoreUnavailable(_lost_message(self.path, exc)) from exc
        yield True

    def file_problems(self) -> list[str]:
        """None: the server keeps its own files (PostgreSQL's ``amcheck`` checks them)."""
        return []

    def _save(self, tx: _Transaction) -> None:
        conn = self._connection()
        seq = self._seq + 1
        # Encoded first: a document JSON cannot hold is refused before anything is sent.
        ops = orjson.dumps(tx.ops).decode()
        final: dict[tuple[str, str], Any] = {}
        renamed = False
        for table, key, doc in tx.ops:
            if key is None:
                renamed = True
            else:
                final[(table, key)] = doc
        # Documents the transaction made are copied in (no row can be in the way: ids
        # are chosen under the lock); those it changed are upserted.
        existed: dict[tuple[str, str], bool] = {}
        for table, key, before in tx.undo:
            existed.setdefault((table, key), before is not None)
        made = [(t, k, d) for (t, k), d in final.items() if d is not None and not existed[(t, k)]]
        changed = [(t, k, d) for (t, k), d in final.items() if d is not None and existed[(t, k)]]
        deletes = [(t, k) for (t, k), d in final.items() if d is None]
        _append_entry(conn, seq, tx.who, ops, self._max_ids)
        if made:
            with conn.cursor().copy("COPY documents (tbl, id, doc) FROM STDIN") as copy:
                for table, key, doc in made:
                    copy.write_row((table, int(key), orjson.dumps(doc).decode()))
        for start in range(0, len(changed), BATCH):
            part = changed[start : start + BATCH]
            conn.execute(
                UPSERT,
                (
                    [table for table, _, _ in part],
                    [int(key) for _, key, _ in part],
                    [orjson.dumps(doc).decode() for _, _, doc in part],
                ),
            )
        for start in range(0, len(deletes), BATCH):
            part_keys = deletes[start : start + BATCH]
            conn.execute(
                DELETE,
                ([table for table, _ in part_keys], [int(key) for _, key in part_keys]),
            )
        if renamed:
            # A table emptied or dropped as a whole: its name (kept or gone) is stored
            # beside the documents, since an empty table has none.
            _set_meta(conn, names=sorted(self._tables))
        if seq % JOURNAL_KEEP == 0:
            conn.execute("DELETE FROM journal WHERE seq <= %s", (seq - JOURNAL_KEEP,))
            _set_meta(conn, journal_base=seq - JOURNAL_KEEP)
        conn.execute("SELECT pg_notify(%s, %s)", (self._channel, f"{self._db_id} {seq}"))
        # Ours before COMMIT returns: our own NOTIFY, read with its result, is no news.
        self._seq = seq
        conn.execute("COMMIT")

    def compact(self) -> None:
        """Drop the journal entries every document already holds."""
        with self.transaction(), self._errors():
            conn = self._connection()
            conn.execute("DELETE FROM journal WHERE seq <= %s", (self._seq,))
            _set_meta(conn, journal_base=self._seq)
            conn.execute("COMMIT")

    def seal(
        self, name: str, keys: dict[str, list[str]], header: Callable[[Tables], dict[str, Any]]
    ) -> tuple[str, int] | None:
        """History stays rows of the documents table, read by query: nothing to move."""
        return None

    def sealed_segments(self) -> Iterator[Segment]:
        return iter(())

    def restore(self, tables: Tables, max_ids: dict[str, int], seq: int) -> None:
        with self.transaction(), self._errors():
            if self._seq or any(self._tables.values()):
                raise StoreWriteFailed(t("store.not_empty", path=self.path))
            conn = self._connection()
            with conn.cursor().copy("COPY documents (tbl, id, doc) FROM STDIN") as copy:
                for table, rows in tables.items():
                    for key, doc in rows.items():
                        copy.write_row((table, int(key), orjson.dumps(doc).decode()))
            _set_meta(conn, seq=seq, journal_base=seq, max_ids=max_ids, names=sorted(tables))
            conn.execute("SELECT pg_notify(%s, %s)", (self._channel, f"{self._db_id} {seq}"))
            conn.execute("COMMIT")
            self._tables = {name: dict(rows) for name, rows in tables.items()}
            self._max_ids = dict(max_ids)
            self._seq = seq

    def close(self) -> None:
        # The follower may be waiting on a connect: it stops when that ends.
        self._stop.set()
        with self._mutex:
            self._let_go_of_spill()
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    self._conn.close()
            self._conn = None


def has_data(location: DatabaseUrl) -> bool:
    """Whether the database holds an isolation-tui store with at least one commit."""
    conn = _connect(location, read_only=True)
    try:
        if not _has_schema(conn):
            return False
        return int(_meta(conn).get("seq", 0)) > 0
    except psycopg.Error as exc:
        raise StoreUnavailable(_lost_message(location, exc)) from exc
    finally:
        conn.close()


def clear(location: DatabaseUrl) -> None:
    """Empty the store for a new database (``demo --force``). It gets a new id, so
    sessions still open read it afresh instead of mixing two databases."""
    conn = _connect(location, read_only=False)
    try:
        if not _has_schema(conn):
            return
        lock, channel = _names(conn)
        db_id = secrets.token_hex(8)
        with _locked(conn, lock):
            conn.execute("DELETE FROM journal")
            conn.execute("DELETE FROM documents")
            _set_meta(conn, db_id=db_id, seq=0, journal_base=0, max_ids={}, names=[])
            conn.execute("SELECT pg_notify(%s, %s)", (channel, f"{db_id} 0"))
    except psycopg.Error as exc:
        raise StoreUnavailable(_lost_message(location, exc)) from exc
    finally:
        conn.close()
