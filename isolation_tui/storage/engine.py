"""A TinyDB ``Storage`` that is crash-safe, multi-process safe and cheap to write.

State lives in memory as TinyDB expects (``{table: {str(doc_id): doc}}``). On disk
it is a snapshot plus an append-only journal of checksummed entries, one entry per
committed transaction. A commit appends one line and fsyncs it, so its cost does
not grow with the database. Writers serialise on ``<db>-lock`` (``flock``) and,
inside the lock, first read what other processes appended, so ids and rule checks
always see the latest state. When the journal outgrows the snapshot, the writer
compacts: new snapshot to a temp file, fsync, rename, fsync the directory, then a
fresh journal the same way. Readers take no lock; they follow the journal by
offset and notice a compaction by the journal's inode.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

from ..i18n import t
from .errors import SchemaTooNew, StoreCorrupt, StoreMissing, StoreReadOnly, StoreWriteFailed
from .journal import (
    decode_snapshot,
    encode_entry,
    encode_snapshot,
    entry_parts,
    journal_header,
    parse_entries,
    parse_journal_header,
    snapshot_parts,
)

SCHEMA_VERSION = 1
COMPACT_MIN_BYTES = 4 * 1024 * 1024
# Times a rehearsal is brought up to others' writes outside the lock before it is
# done inside it (others saving faster than that would otherwise hold it off).
REBASES_OUTSIDE_LOCK = 2
FILE_MODE = 0o600

Doc = dict[str, Any]
Tables = dict[str, dict[str, Doc]]


@dataclass
class Changes:
    """What a refresh or commit brought in: changed (table, doc id) pairs."""

    keys: set[tuple[str, str]] = field(default_factory=set)
    reloaded: bool = False

    def __bool__(self) -> bool:
        return self.reloaded or bool(self.keys)

    def tables(self) -> set[str]:
        return {table for table, _ in self.keys}


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


# Given a rehearsal, the tables others changed since and, per table, how far their
# new ids moved its own on: its changes renumbered, or None when it must be done
# again (what it read was changed).
Rebase = Callable[[Rehearsed, set[str], dict[str, int]], list[list[Any]] | None]


@dataclass
class _Transaction:
    who: str
    ops: list[list[Any]] = field(default_factory=list)
    undo: list[tuple[str, str, Doc | None]] = field(default_factory=list)
    max_ids_before: dict[str, int] = field(default_factory=dict)


class _EncodedOps:
    """A batch of changes as journal JSON, made outside the writers' lock, in chunks
    (one ``orjson.dumps`` per small document leaves most of the memory it took
    behind); when the batch is renumbered, only chunks that changed are encoded
    again."""

    CHUNK = 1024

    def __init__(self, ops: list[list[Any]]) -> None:
        self.chunks = [
            orjson.dumps(ops[start : start + self.CHUNK])
            for start in range(0, len(ops), self.CHUNK)
        ]

    def update(self, old: list[list[Any]], new: list[list[Any]]) -> None:
        for n in range(len(self.chunks)):
            start = n * self.CHUNK
            if any(
                a is not b
                for a, b in zip(
                    old[start : start + self.CHUNK], new[start : start + self.CHUNK], strict=True
                )
            ):
                self.chunks[n] = orjson.dumps(new[start : start + self.CHUNK])

    def joined(self) -> bytes:
        return b"[" + b",".join(chunk[1:-1] for chunk in self.chunks) + b"]"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _describe_os_error(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return t("store.disk_full", path=path, error=exc.strerror)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return t("store.cannot_write", path=path, error=exc.strerror)
    return t("store.io_error", path=path, error=exc.strerror or exc)


class JournalStorage(Storage):
    """TinyDB storage over ``path`` (snapshot), ``path-journal`` and ``path-lock``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        read_only: bool = False,
        who: str = "unknown",
    ) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + "-journal")
        self.lock_path = self.path.with_name(self.path.name + "-lock")
        self.read_only = read_only
        self.who = who
        self._tables: Tables = {}
        self._max_ids: dict[str, int] = {}
        self._seq = 0
        self._schema_version = SCHEMA_VERSION
        self._db_id = ""
        self._snapshot_size = 0
        self._journal_fd: int | None = None
        self._journal_ino: int | None = None
        self._journal_offset = 0
        self._lock_fd: int | None = None
        self._tx: _Transaction | None = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[Changes], None]] = []
        # Per table, the last entry that changed it; what changed before a reload
        # (read whole from the files) is not known.
        self._changed_at: dict[str, int] = {}
        self._reloaded_at = 0
        self._held: _Transaction | None = None
        if not self.path.exists():
            if not create or read_only:
                raise StoreMissing(t("store.missing", path=self.path))
            self._create()
        self._load()

    # ------------------------------------------------------------------ opening

    def _open_private(self, path: Path, flags: int) -> int:
        """Open ``path``; a file made now is the owner's only (0600 whatever the umask),
        one already there keeps the mode it has (an administrator may share it)."""
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return os.open(path, flags & ~os.O_CREAT)
        with contextlib.suppress(OSError):
            os.fchmod(fd, FILE_MODE)
        return fd

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._locked():
            if self.path.exists():
                return
            self._refuse_orphan_journal()
            db_id = secrets.token_hex(8)
            body = {
                "schema_version": SCHEMA_VERSION,
                "db_id": db_id,
                "seq": 0,
                "max_ids": {},
                "tables": {},
            }
            self._replace_file(self.journal_path, journal_header(0, db_id))
            self._replace_file(self.path, encode_snapshot(body))

    def _refuse_orphan_journal(self) -> None:
        """A journal without its snapshot holds committed data: never overwrite it.

        Only what an interrupted ``_create`` leaves (a bare header at seq 0) is
        safe to replace.
        """
        try:
            existing = self.journal_path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreCorrupt(f"{self.journal_path}: cannot read ({exc.strerror})") from exc
        header, _, entries = existing.partition(b"\n")
        if entries or parse_journal_header(header + b"\n", str(self.journal_path))[0] != 0:
            raise StoreCorrupt(
                f"{self.path}: the snapshot is missing but {self.journal_path} holds "
                f"{len(existing)} bytes of committed data; restore {self.path} from a "
                "backup, or move the journal away to start an empty database. "
                "Nothing was changed."
            )

    def _replace_file(self, target: Path, data: bytes) -> None:
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        fd = self._open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            before = os.stat(target)
        except FileNotFoundError:
            before = None
        if before is not None:
            # Keep what an administrator set (e.g. mode 0660 and a supervisors' group,
            # for several OS users on one database): a compaction must not take it away.
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, before.st_gid)
            with contextlib.suppress(OSError):
                os.fchmod(fd, stat.S_IMODE(before.st_mode))
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        os.replace(tmp, target)
        _fsync_dir(target.parent)

    def _load(self, stale_seq: int | None = None) -> None:
        """Read the snapshot, then the journal; refuse anything damaged.

        ``stale_seq``: the journal was found to start after this entry. A compaction
        renames the new snapshot into place before the new journal, so the snapshot
        read now must go further; if it does not, it is older than the journal.
        """
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise StoreCorrupt(f"{self.path}: cannot read ({exc.strerror})") from exc
        body = decode_snapshot(raw, str(self.path))
        version = body.get("schema_version")
        if not isinstance(version, int):
            raise StoreCorrupt(f"{self.path}: snapshot has no schema version")
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path}: written with data schema {version}, this program knows "
                f"schema {SCHEMA_VERSION} at most; install a newer isolation-tui. "
                "Nothing was changed."
            )
        tables = body.get("tables")
        if not isinstance(tables, dict):
            raise StoreCorrupt(f"{self.path}: snapshot has no tables")
        if stale_seq is not None and int(body.get("seq", 0)) <= stale_seq:
            raise StoreCorrupt(
                f"{self.path}: the snapshot ends at entry {body.get('seq', 0)}, but "
                f"{self.journal_path} starts later, so entries in between are missing "
                "(was one of the two files restored from a backup?); restore both from "
                "the same backup. Nothing was changed."
            )
        with self._mutex:
            self._schema_version = version
            self._db_id = str(body.get("db_id", ""))
            self._tables = tables
            self._seq = int(body.get("seq", 0))
            self._max_ids = {k: int(v) for k, v in body.get("max_ids", {}).items()}
            self._snapshot_size = len(raw)
            self._reloaded_at = self._seq
            self._close_journal()
            self._follow_journal()

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
        self._journal_fd = None
        self._journal_ino = None
        self._journal_offset = 0

    def _open_journal(self) -> str:
        """Open the journal: "ok"; "behind" when it starts after our state, or
        "replaced" when it belongs to another database (the files were replaced, by
        a restore or ``demo --force``): either way, read the snapshot again."""
        try:
            fd = os.open(self.journal_path, os.O_RDONLY)
        except FileNotFoundError:
            if self.read_only:
                return "ok"
            with self._locked():
                if not self.journal_path.exists():
                    self._replace_file(self.journal_path, journal_header(self._seq, self._db_id))
            fd = os.open(self.journal_path, os.O_RDONLY)
        with os.fdopen(os.dup(fd), "rb") as fh:
            first = fh.readline()
        if not first.endswith(b"\n"):
            os.close(fd)
            raise StoreCorrupt(f"{self.journal_path}: journal header is incomplete")
        base, db_id = parse_journal_header(first, str(self.journal_path))
        if db_id != self._db_id:
            os.close(fd)
            return "replaced"
        if base > self._seq:
            os.close(fd)
            return "behind"
        self._journal_fd = fd
        self._journal_ino = os.fstat(fd).st_ino
        self._journal_offset = len(first)
        return "ok"

    def _follow_journal(self) -> Changes:
        """Apply entries appended since we last looked. Cheap when nothing changed."""
        changes = Changes()
        if self._journal_fd is None:
            try:
                on_disk = os.stat(self.journal_path)
            except FileNotFoundError:
                on_disk = None
        else:
            try:
                on_disk = os.stat(self.journal_path)
            except FileNotFoundError:
                on_disk = None
            if on_disk is not None and on_disk.st_ino != self._journal_ino:
                # Another writer compacted: finish the old file, then switch.
                changes.keys |= self._read_new_entries().keys
                self._close_journal()
                with contextlib.suppress(OSError):
                    self._snapshot_size = os.stat(self.path).st_size
            elif on_disk is not None and on_disk.st_size == self._journal_offset:
                return changes
        if self._journal_fd is None:
            if on_disk is None and self.read_only:
                return changes
            opened = self._open_journal()
            if opened != "ok":
                self._load(stale_seq=self._seq if opened == "behind" else None)
                return Changes(reloaded=True)
        changes.keys |= self._read_new_entries().keys
        return changes

    def _read_new_entries(self) -> Changes:
        assert self._journal_fd is not None
        size = os.fstat(self._journal_fd).st_size
        if size <= self._journal_offset:
            return Changes()
        data = os.pread(self._journal_fd, size - self._journal_offset, self._journal_offset)
        chunk = parse_entries(data, self._journal_offset, str(self.journal_path))
        # Check the whole chunk before applying any of it: a refused entry must not
        # leave earlier ones applied behind the listeners' backs.
        expected = self._seq
        fresh = []
        for entry in chunk.entries:
            seq = entry.get("seq")
            if not isinstance(seq, int):
                raise StoreCorrupt(f"{self.journal_path}: journal entry without a sequence number")
            if seq <= expected:
                continue
            if seq != expected + 1:
                raise StoreCorrupt(
                    f"{self.journal_path}: journal jumps from entry {expected} to {seq}"
                )
            expected = seq
            fresh.append(entry)
        changes = Changes()
        for entry in fresh:
            for table, key, doc in entry.get("ops", []):
                self._put(table, key, doc)
                changes.keys.add((table, key))
                self._changed_at[table] = entry["seq"]
            self._seq = entry["seq"]
        self._journal_offset += chunk.consumed
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

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_fd is not None:
            yield
            return
        try:
            fd = self._open_private(self.lock_path, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise StoreWriteFailed(_describe_os_error(exc, self.lock_path)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
            yield
        finally:
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ------------------------------------------------------------------ public API

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

    def refresh(self) -> Changes:
        """Bring in what other processes committed; a stat call when nothing did."""
        if self._tx is not None:
            return Changes()
        with self._mutex:
            self._drop_held()
            return self._notify(self._follow_journal())

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
    def transaction(self, who: str | None = None) -> Iterator[None]:
        """All writes inside are committed as one durable journal entry, or none are.

        Nested calls join the outer transaction.
        """
        if self._tx is not None:
            yield
            return
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex:
            self._drop_held()
            # Read what others wrote (a big import) before taking the lock, so that
            # the lock is held only to read what comes in meanwhile.
            self._notify(self._follow_journal())
        with self._mutex, self._locked():
            self._notify(self._follow_journal())
            self._cut_torn_tail()
            tx = _Transaction(who=who or self.who, max_ids_before=dict(self._max_ids))
            self._tx = tx
            try:
                yield
            except BaseException:
                self._rollback(tx)
                self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))
                raise
            finally:
                self._tx = None
            if tx.ops:
                self._commit(tx)

    @contextlib.contextmanager
    def rehearsal(self, who: str | None = None) -> Iterator[Rehearsed]:
        """A transaction that is always undone and takes no writers' lock: what the
        writes inside would do to the state read now (a dry run), while other
        processes go on committing. Nothing reaches the disk, even on a read-only
        store. What it would have written is left in the :class:`Rehearsed` it
        yields, for :meth:`commit_rehearsed`."""
        if self._tx is not None:
            raise RuntimeError("a rehearsal cannot join a transaction")
        with self._mutex:
            self._drop_held()
            self._notify(self._follow_journal())
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
                    self._rollback(tx)
                    self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))

    def _drop_held(self) -> None:
        """Undo a kept rehearsal's changes: anything else sees the stored state."""
        held, self._held = self._held, None
        if held is not None:
            self._rollback(held)
            self._notify(Changes(keys={(table, key) for table, key, _ in held.undo}))

    def _commit_held(self, held: _Transaction, rehearsed: Rehearsed) -> bool:
        """Store a kept rehearsal as it is, when nobody wrote since it began: its
        changes are in memory already, only its entry is written in the lock."""
        entry = _EncodedOps(held.ops).joined()
        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        aside = (
            self._write_aside(rehearsed.seq + 1)
            if self._journal_offset + len(entry) > line
            else None
        )
        try:
            with self._locked():
                try:
                    on_disk = os.stat(self.journal_path)
                except FileNotFoundError:
                    return False
                if (on_disk.st_ino, on_disk.st_size) != (self._journal_ino, self._journal_offset):
                    return False
                self._commit(held, entry, compact=False)
                if aside is not None:
                    if self._put_in_place(aside, self._seq, b""):
                        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
                    aside = None
        finally:
            if aside is not None:
                with contextlib.suppress(OSError):
                    aside[0].unlink()
        if self._journal_offset > line:
            self._compact_beside_writers()
        return True

    def commit_rehearsed(self, rehearsed: Rehearsed, rebase: Rebase) -> dict[str, int] | None:
        """Store what a rehearsal would have written, holding the writers' lock only
        to read what others wrote since, append and fsync: the work was done outside.

        When others wrote meanwhile, ``rebase`` says whether the rehearsal still holds
        and renumbers its new documents after theirs; that is done outside the lock
        too, unless others keep overtaking it. Returns how far each table's new ids
        moved (0 when they did not), or None when nothing was written because the
        rehearsal must be done again against the state now.
        """
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        if self._tx is not None:
            raise RuntimeError("a rehearsal cannot be committed inside a transaction")
        first_max = dict(rehearsed.max_ids)
        with self._mutex:
            held, self._held = self._held, None
            mine = held is not None and held.ops is rehearsed.ops
            if mine and self._commit_held(held, rehearsed):  # type: ignore[arg-type]
                return {table: 0 for table in {op[0] for op in rehearsed.ops}}
            if held is not None:
                # Others wrote since: undone here, brought up to them below.
                self._rollback(held)
                self._notify(Changes(keys={(table, key) for table, key, _ in held.undo}))
            encoded = _EncodedOps(rehearsed.ops)
            compacted = False
            for attempt in range(REBASES_OUTSIDE_LOCK + 1):
                last = attempt == REBASES_OUTSIDE_LOCK
                entry = encoded.joined()
                # A batch that takes the journal over the line brings its own new
                # snapshot, written before the lock, put in place in the same hold.
                big = self._journal_offset + len(entry) > max(
                    COMPACT_MIN_BYTES, self._snapshot_size
                )
                aside = self._snapshot_after(rehearsed) if big and attempt == 0 else None
                try:
                    with self._locked():
                        self._notify(self._follow_journal())
                        self._cut_torn_tail()
                        if self._seq == rehearsed.seq or last:
                            if self._seq != rehearsed.seq:
                                if not self._rebase(rehearsed, rebase, encoded):
                                    return None
                                entry = encoded.joined()
                            tx = _Transaction(
                                who=rehearsed.who,
                                ops=rehearsed.ops,
                                max_ids_before=dict(self._max_ids),
                            )
                            self._commit(tx, entry, compact=False)
                            if aside is not None and self._seq == rehearsed.seq + 1:
                                compacted = self._put_in_place(aside, self._seq, b"")
                                aside = None
                            break
                finally:
                    if aside is not None:
                        with contextlib.suppress(OSError):
                            aside[0].unlink()
                if not self._rebase(rehearsed, rebase, encoded):
                    return None
            # The documents join this process's state after the lock.
            for table, key, doc in rehearsed.ops:
                self._put(table, key, doc)
            self._notify(Changes(keys={(table, key) for table, key, _ in rehearsed.ops}))
            if not compacted and self._journal_offset > max(COMPACT_MIN_BYTES, self._snapshot_size):
                self._compact_beside_writers()
        return {
            table: rehearsed.max_ids.get(table, 0) - first_max.get(table, 0)
            for table in {op[0] for op in rehearsed.ops}
        }

    def _snapshot_after(self, rehearsed: Rehearsed) -> tuple[Path, int] | None:
        """The snapshot of the state once ``rehearsed`` is committed next, written
        beside the database (None when it cannot be)."""
        tx = _Transaction(who=rehearsed.who, max_ids_before=dict(self._max_ids))
        for table, key, doc in rehearsed.ops:
            tx.undo.append((table, key, self._put(table, key, doc)))
        try:
            return self._write_aside(rehearsed.seq + 1)
        finally:
            self._rollback(tx)

    def _rebase(self, rehearsed: Rehearsed, rebase: Rebase, encoded: _EncodedOps) -> bool:
        """Bring ``rehearsed`` up to the state now (renumbered, ``encoded`` with it);
        False when it must be done again."""
        if self._seq == rehearsed.seq:
            return True
        changed = self._changed_since(rehearsed.seq)
        if changed is None:
            return False
        shift = {
            table: self._max_ids.get(table, 0) - rehearsed.max_ids.get(table, 0)
            for table in {op[0] for op in rehearsed.ops}
        }
        ops = rebase(rehearsed, changed, shift)
        if ops is None:
            return False
        encoded.update(rehearsed.ops, ops)
        rehearsed.ops = ops
        rehearsed.seq = self._seq
        rehearsed.max_ids = {**rehearsed.max_ids, **self._max_ids}
        return True

    def _compact_beside_writers(self) -> None:
        """Fold the journal into a new snapshot, holding the writers' lock only to
        put the files in place: the snapshot of the state now is written outside
        it, and what others append meanwhile is carried over into the new journal."""
        seq, offset, inode = self._seq, self._journal_offset, self._journal_ino
        aside = self._write_aside(seq)
        if aside is None:
            return
        try:
            with self._locked():
                self._notify(self._follow_journal())
                if self._journal_ino != inode or self._journal_fd is None:
                    return  # another writer compacted meanwhile
                tail = os.pread(self._journal_fd, self._journal_offset - offset, offset)
                self._put_in_place(aside, seq, tail)
        finally:
            with contextlib.suppress(OSError):
                aside[0].unlink()

    def _write_aside(self, seq: int) -> tuple[Path, int] | None:
        """The state in memory as the snapshot at entry ``seq``, in a new file beside
        the database, fsynced; None when it cannot be written (compaction waits)."""
        body = {
            "schema_version": self._schema_version,
            "db_id": self._db_id,
            "seq": seq,
            "max_ids": self._max_ids,
            "tables": self._tables,
        }
        parts = snapshot_parts(body)
        tmp = self.path.with_name(f"{self.path.name}.tmp-{secrets.token_hex(8)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        except OSError:
            return None
        try:
            with contextlib.suppress(OSError):
                before = os.stat(self.path)
                os.fchown(fd, -1, before.st_gid)
                os.fchmod(fd, stat.S_IMODE(before.st_mode))
            for part in parts:
                _write_all(fd, part)
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return None
        finally:
            os.close(fd)
        return tmp, sum(map(len, parts))

    def _put_in_place(self, aside: tuple[Path, int], seq: int, tail: bytes) -> bool:
        """Inside the lock: the snapshot written aside (at entry ``seq``) becomes the
        database, and a new journal holds what was appended after it (``tail``)."""
        tmp, size = aside
        try:
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
            self._replace_file(self.journal_path, journal_header(seq, self._db_id) + tail)
        except OSError:
            # The journal still holds every committed entry; compaction can wait.
            return False
        self._snapshot_size = size
        self._close_journal()
        self._open_journal()
        assert self._journal_fd is not None
        self._journal_offset = os.fstat(self._journal_fd).st_size
        return True

    def _changed_since(self, seq: int) -> set[str] | None:
        """Tables changed by entries after ``seq``; None when that is not known."""
        if self._reloaded_at > seq:
            return None
        return {table for table, at in self._changed_at.items() if at > seq}

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
        before = self._put(table, key, doc)
        tx.undo.append((table, key, before))
        tx.ops.append([table, key, doc])
        self._notify(Changes(keys={(table, key)}))

    # ------------------------------------------------------------------ Storage

    def read(self) -> Tables:
        return self._tables

    def write(self, data: Tables) -> None:
        """Whole-database writes (``drop_tables``) become per-document changes."""
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

    def close(self) -> None:
        with self._mutex:
            self._close_journal()

    # ------------------------------------------------------------------ commit

    def _rollback(self, tx: _Transaction) -> None:
        for table, key, before in reversed(tx.undo):
            rows = self._tables.setdefault(table, {})
            if before is None:
                rows.pop(key, None)
            else:
                rows[key] = before
        self._max_ids = tx.max_ids_before

    def _cut_torn_tail(self) -> None:
        """Inside the lock: drop an unfinished last line left by a crashed writer."""
        assert self._journal_fd is not None
        size = os.fstat(self._journal_fd).st_size
        if size > self._journal_offset:
            try:
                fd = os.open(self.journal_path, os.O_WRONLY)
                try:
                    os.ftruncate(fd, self._journal_offset)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StoreWriteFailed(_describe_os_error(exc, self.journal_path)) from exc

    def _commit(self, tx: _Transaction, ops_json: bytes = b"", *, compact: bool = True) -> None:
        """Append ``tx`` as one entry (its ops already encoded when ``ops_json``)."""
        entry = {
            "seq": self._seq + 1,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": tx.who,
            "ops": tx.ops,
        }
        try:
            parts = entry_parts(entry, ops_json) if ops_json else [encode_entry(entry)]
        except Exception:
            # A document JSON cannot hold (a set, a non-string key): nothing was
            # written, so the staged documents must not stay in memory either.
            self._rollback(tx)
            self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))
            raise
        try:
            fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            self._rollback(tx)
            self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))
            raise StoreWriteFailed(_describe_os_error(exc, self.journal_path)) from exc
        try:
            for part in parts:
                _write_all(fd, part)
            os.fdatasync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_offset)
                os.fsync(fd)
            os.close(fd)
            self._rollback(tx)
            self._notify(Changes(keys={(table, key) for table, key, _ in tx.undo}))
            raise StoreWriteFailed(_describe_os_error(exc, self.journal_path)) from exc
        os.close(fd)
        self._seq += 1
        for table, _, _ in tx.ops:
            self._changed_at[table] = self._seq
        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        written = sum(map(len, parts))
        before, self._journal_offset = self._journal_offset, self._journal_offset + written
        # The writer whose entry takes the journal over a multiple of the line
        # compacts: not every writer after a big batch (its writer compacts beside
        # the others), and a journal whose writer was killed first still gets folded.
        if compact and before // line != self._journal_offset // line:
            self._compact()

    def compact(self) -> None:
        """Fold the journal into a new snapshot (also done automatically)."""
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex, self._locked():
            self._notify(self._follow_journal())
            self._compact()

    def restore(self, tables: Tables, max_ids: dict[str, int], seq: int) -> None:
        """Make a new, empty store hold a recovered state (see ``salvage``)."""
        with self._mutex, self._locked():
            if self._seq or any(self._tables.values()):
                raise StoreWriteFailed(f"{self.path}: not empty; recover into a new file")
            self._tables, self._max_ids, self._seq = tables, dict(max_ids), seq
            self._compact()

    def _compact(self) -> None:
        body = {
            "schema_version": self._schema_version,
            "db_id": self._db_id,
            "seq": self._seq,
            "max_ids": self._max_ids,
            "tables": self._tables,
        }
        snapshot = encode_snapshot(body)
        try:
            self._replace_file(self.path, snapshot)
            self._replace_file(self.journal_path, journal_header(self._seq, self._db_id))
        except OSError:
            # The journal still holds every committed entry; compaction can wait.
            return
        self._snapshot_size = len(snapshot)
        self._close_journal()
        self._open_journal()
