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

The three files belong together: the journal names the database it belongs to, and
the lock file records the last entry a writer made durable. A journal of another
database, a missing journal, one older than its snapshot or cut short is refused.
A *standalone* snapshot (a backup, a fresh demo) is the one file meant to be opened
alone: its first writer gives it a journal and makes it an ordinary snapshot.
File safety (no symlinks, unguessable temp names) lives in ``files``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ..i18n import t
from .backend import Changes, MemoryBackend, Rebase, Rehearsed, _Transaction
from .errors import (
    SchemaTooNew,
    StoreCorrupt,
    StoreError,
    StoreMissing,
    StoreReadOnly,
    StoreUnsafe,
    StoreWriteFailed,
)
from .files import (
    acquire_lock,
    denied,
    describe_os_error,
    holding_lock,
    lstat_or_none,
    open_private,
    open_regular,
    put_temp,
    read_regular,
    refuse_link,
    replace_file,
    sweep_stale_temps,
    temp_replacing,
    write_all,
    write_new_file,
)
from .journal import (
    LOCK_RECORD_BYTES,
    decode_snapshot,
    encode_entry,
    encode_lock_record,
    encode_snapshot,
    entry_parts,
    frame_snapshot,
    is_standalone,
    journal_header,
    parse_entries,
    parse_journal_header,
    parse_lock_record,
    snapshot_parts,
    snapshot_payload,
)
from .segments import (
    Listed,
    Segment,
    encode_segment,
    head_of,
    listed_segments,
    merge_sealed,
    read_segment,
    sealed_tag,
    segment_path,
)

SCHEMA_VERSION = 1
COMPACT_MIN_BYTES = 4 * 1024 * 1024
# Times a rehearsal is brought up to others' writes outside the lock before it is
# done inside it (others saving faster than that would otherwise hold it off).
REBASES_OUTSIDE_LOCK = 2
LOAD_ATTEMPTS = 4

LockWaitHandler = Callable[[Path, float], None]
lock_wait_handler: LockWaitHandler | None = None
"""Told when a writer has waited a second for the lock (the CLI prints it); a
session may set its own ``JournalStorage.on_lock_wait``."""

Doc = dict[str, Any]
Tables = dict[str, dict[str, Doc]]


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


class _Mismatch(StoreCorrupt):
    """The snapshot and the journal do not belong together; maybe only for a moment,
    while another process replaces them, so opening tries again before refusing."""


@dataclass
class _Aside:
    """A new snapshot written beside the database before the writers' lock, held
    open (and locked) until it is put in place or thrown away."""

    path: Path
    size: int
    fd: int
    # The sealed segments the snapshot lists: it is put in place only while they
    # are still the database's (a seal meanwhile makes it out of date).
    sealed: str = ""
    placed: bool = False

    def discard(self) -> None:
        """Let go of the file; one never put in place is removed."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if not self.placed:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.placed = True


class JournalStorage(MemoryBackend):
    """TinyDB storage over ``path`` (snapshot), ``path-journal`` and ``path-lock``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        read_only: bool = False,
        create_dirs: bool = False,
        who: str = "unknown",
    ) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + "-journal")
        self.lock_path = self.path.with_name(self.path.name + "-lock")
        # What a segment's temp file is named after (it is renamed to its own name).
        self._segment_temp = self.path.with_name(self.path.name + "-sealed")
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
        self._journal_last = 0
        self._line_end_at: int | None = None
        self._standalone = False
        self._record: tuple[str, int] | None = None
        self._lock_fd: int | None = None
        self._swept = False
        self.on_lock_wait: LockWaitHandler | None = None
        self._tx: _Transaction | None = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[Changes], None]] = []
        # Per table, the last entry that changed it; what changed before a reload
        # (read whole from the files) is not known.
        self._changed_at: dict[str, int] = {}
        self._reset_at: dict[str, int] = {}
        self._reloaded_at = 0
        self._held: _Transaction | None = None
        # Sealed history (see ``segments``). Until something asks for it, memory
        # holds the live set only: the snapshot's documents, the segments' headers
        # and the sealed documents replaced since (``_replaced``, their versions as
        # sealed). Once read in (``_history_in``), ``_sealed`` holds the documents
        # as the segments have them, by identity: a snapshot leaves out every one
        # not changed since. ``_sealed_max``: the highest id each table sealed.
        self._sealed: Tables = {}
        self._segments: list[Listed] = []
        self._headers: list[dict[str, Any]] = []
        self._replaced: Tables = {}
        self._history_in = True
        self._sealed_max: dict[str, int] = {}
        self._sealed_tag = ""
        self._journal_sealed = ""
        if lstat_or_none(self.path) is None:
            if not create or read_only:
                raise StoreMissing(t("store.missing", path=self.path))
            self._create(create_dirs)
        self._load()

    # ------------------------------------------------------------------ opening

    def _create(self, create_dirs: bool) -> None:
        if create_dirs:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise StoreWriteFailed(describe_os_error(exc, self.path.parent)) from exc
        elif not self.path.parent.is_dir():
            raise StoreMissing(t("store.missing", path=self.path))
        with self._locked():
            if lstat_or_none(self.path) is not None:
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
            replace_file(self.journal_path, journal_header(0, db_id))
            replace_file(self.path, encode_snapshot(body))

    def _refuse_orphan_journal(self) -> None:
        """A journal without its snapshot holds committed data: never overwrite it.

        Only what an interrupted ``_create`` leaves (a bare header at seq 0) is
        safe to replace.
        """
        try:
            existing, _ = read_regular(self.journal_path)
        except FileNotFoundError:
            return
        except StoreError:
            raise
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

    def _read_lock_record(self) -> tuple[str, int] | None:
        """The last entry a writer made durable, as the lock file records it."""
        try:
            if self._lock_fd is not None:
                raw = os.pread(self._lock_fd, LOCK_RECORD_BYTES, 0)
            else:
                fd = open_regular(self.lock_path, os.O_RDONLY)
                try:
                    raw = os.pread(fd, LOCK_RECORD_BYTES, 0)
                finally:
                    os.close(fd)
        except OSError:
            return None  # no lock file (a copy, a backup): nothing to compare with
        return parse_lock_record(raw)

    def _write_lock_record(self) -> None:
        """Inside the lock, after an entry is durable: what a cut journal is judged by.
        Not fsynced: a record that lags after a power cut only tells less."""
        if self._lock_fd is not None and self._db_id:
            with contextlib.suppress(OSError):
                os.pwrite(self._lock_fd, encode_lock_record(self._db_id, self._seq), 0)

    def _load(self) -> None:
        """Read the snapshot, then the journal; refuse anything damaged or mismatched.

        A compaction or a restore by another process may replace the files between
        the two reads; a mismatch is refused only when it lasts.
        """
        for attempt in range(LOAD_ATTEMPTS):
            try:
                self._load_once()
                return
            except _Mismatch:
                if attempt == LOAD_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def _load_once(self) -> None:
        # The record first: entries it counts are in the journal read after it.
        record = self._read_lock_record()
        try:
            raw, _ = read_regular(self.path)
        except FileNotFoundError as exc:
            raise StoreMissing(t("store.missing", path=self.path)) from exc
        except StoreError:
            raise
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
        db_id = str(body.get("db_id", ""))
        segments = listed_segments(body, str(self.path))
        # Only the headers: sealed documents are read when something asks for them.
        headers = [read_segment(self.path, db_id, one, body=False).header for one in segments]
        replaced = body.get("replaced", {})
        if not isinstance(replaced, dict):
            raise StoreCorrupt(f"{self.path}: snapshot lists its sealed history wrongly")
        with self._mutex:
            self._close_journal()
            self._schema_version = version
            self._db_id = db_id
            self._tables = tables
            self._sealed, self._segments = {}, segments
            self._headers, self._replaced = headers, replaced
            self._history_in = not segments
            self._sealed_max = {}
            for header in headers:
                for table, number in header.get("ids", {}).items():
                    self._sealed_max[table] = max(self._sealed_max.get(table, 0), number)
            self._sealed_tag = sealed_tag(segments)
            self._seq = int(body.get("seq", 0))
            self._max_ids = {k: int(v) for k, v in body.get("max_ids", {}).items()}
            self._snapshot_size = len(raw)
            self._reloaded_at = self._seq
            self._standalone = is_standalone(raw)
            self._record = record
            if not self._open_journal():
                if not self._standalone:
                    raise _Mismatch(
                        t("store.journal_missing", journal=self.journal_path, path=self.path)
                    )
                return
            self._read_new_entries()
            if self._journal_last < self._seq:
                raise _Mismatch(
                    t(
                        "store.journal_older",
                        journal=self.journal_path,
                        path=self.path,
                        last=self._journal_last,
                        seq=self._seq,
                    )
                )
            self._refuse_cut(record)

    def _refuse_cut(self, record: tuple[str, int] | None) -> None:
        if record is not None and record[0] == self._db_id and record[1] > self._seq:
            raise StoreCorrupt(
                t(
                    "store.journal_cut",
                    journal=self.journal_path,
                    seq=self._seq,
                    byte=self._journal_offset,
                    committed=record[1],
                    lock=self.lock_path,
                )
            )

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
        self._journal_fd = None
        self._journal_ino = None
        self._journal_offset = 0
        self._line_end_at = None

    def _open_journal(self) -> bool:
        """Open the journal of the state in memory; False when there is none.

        A journal of another database, or one that starts after the state in memory,
        means the files were replaced (or do not belong together): ``_Mismatch``.
        """
        try:
            fd = open_regular(self.journal_path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        except PermissionError as exc:
            raise denied(exc, self.journal_path) from exc
        header = os.pread(fd, 4096, 0).partition(b"\n")
        if not header[1]:
            os.close(fd)
            raise StoreCorrupt(f"{self.journal_path}: journal header is incomplete")
        first = header[0] + b"\n"
        base, db_id, sealed = parse_journal_header(first, str(self.journal_path))
        if db_id != self._db_id:
            os.close(fd)
            raise _Mismatch(
                t(
                    "store.journal_foreign",
                    journal=self.journal_path,
                    path=self.path,
                    theirs=db_id or "-",
                    ours=self._db_id or "-",
                )
            )
        if base > self._seq:
            os.close(fd)
            raise _Mismatch(
                f"{self.path}: the snapshot ends at entry {self._seq}, but "
                f"{self.journal_path} starts later, so entries in between are missing "
                "(was one of the two files restored from a backup?); restore both from "
                "the same backup. Nothing was changed."
            )
        self._journal_fd = fd
        self._journal_ino = os.fstat(fd).st_ino
        self._journal_sealed = sealed
        self._journal_offset = len(first)
        self._journal_last = base
        return True

    def _follow_journal(self) -> Changes:
        """Apply entries appended since we last looked. Cheap when nothing changed."""
        changes = Changes()
        on_disk = lstat_or_none(self.journal_path)
        if self._journal_fd is not None:
            if on_disk is not None and on_disk.st_ino == self._journal_ino:
                if on_disk.st_size != self._journal_offset:
                    changes.keys |= self._read_new_entries().keys
                return changes
            # Another writer compacted (or the files were replaced): finish the old
            # journal, then switch to the new one.
            changes.keys |= self._read_new_entries().keys
            self._close_journal()
        elif on_disk is None and self._standalone:
            return changes  # a standalone file nobody has written to yet
        try:
            opened = self._open_journal()
        except _Mismatch:
            opened = False
        if not opened or self._journal_sealed != self._sealed_tag:
            # Replaced files, or history sealed by another process: what is in
            # memory no longer says which documents the snapshot leaves out.
            self._load()
            return Changes(reloaded=True)
        self._standalone = False
        with contextlib.suppress(OSError):
            self._snapshot_size = os.stat(self.path).st_size
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
        last = self._journal_last
        fresh = []
        for entry in chunk.entries:
            seq = entry.get("seq")
            if not isinstance(seq, int):
                raise StoreCorrupt(f"{self.journal_path}: journal entry without a sequence number")
            last = seq
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
                self._changed_at[table] = entry["seq"]
                if key is not None:
                    changes.keys.add((table, key))
                else:
                    self._reset_at[table] = entry["seq"]
            self._seq = entry["seq"]
        self._journal_last = last
        self._journal_offset += chunk.consumed
        self._line_end_at = chunk.line_end_at
        return changes

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def _locked(self, wait: bool = True) -> Iterator[bool]:
        """Hold the writers' lock; ``wait=False`` yields False at once when it is
        held elsewhere (another process, or another thread of this one)."""
        if wait and self._lock_fd is not None:
            yield True
            return
        try:
            fd = open_private(self.lock_path, os.O_RDWR)
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, self.lock_path)) from exc
        try:
            if wait:
                acquire_lock(fd, self.lock_path, self.on_lock_wait or lock_wait_handler)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        except BaseException:
            os.close(fd)
            raise
        try:
            self._lock_fd = fd
            if not self._swept:
                sweep_stale_temps((self.path, self.journal_path, self._segment_temp))
                self._swept = True
            yield True
        finally:
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ------------------------------------------------------------------ files

    def file_problems(self) -> list[str]:
        """What is wrong with files that could still be read: a last entry that lost
        its line end, or an unfinished one after the last whole entry; and a sealed
        segment whose documents fail their checksum (read, not parsed)."""
        found = []
        with self._mutex:
            for listed in self._segments:
                try:
                    read_segment(self.path, self._db_id, listed, body=True, parse=False)
                except StoreCorrupt as exc:
                    found.append(str(exc))
            if self._line_end_at is not None:
                found.append(
                    t(
                        "store.line_end_lost",
                        journal=self.journal_path,
                        byte=self._line_end_at,
                        seq=self._journal_last,
                    )
                )
            if self._journal_fd is not None:
                size = os.fstat(self._journal_fd).st_size
                if size > self._journal_offset:
                    record = self._record
                    known = record is not None and record[0] == self._db_id
                    found.append(
                        t(
                            "store.torn_tail" if known else "store.torn_or_cut",
                            journal=self.journal_path,
                            byte=self._journal_offset,
                            count=size - self._journal_offset,
                        )
                    )
        return found

    def standalone_copy(self) -> bytes:
        """Sealed history and all: a backup holds everything in one file."""
        with self._mutex:
            self._load_history()
            return super().standalone_copy()

    def movable_copy(self) -> tuple[bytes, list[Path]]:
        """The database to move elsewhere whole without reading its history in (a
        demo put in place): a standalone snapshot that still lists its segments and
        keeps this database's id, which they carry, and the segment files, to go
        beside it under its name. Without sealed history, :meth:`standalone_copy`."""
        with self._mutex:
            if not self._segments:
                return self.standalone_copy(), []
            body = self._snapshot_body(self._seq)
            files = [segment_path(self.path, listed.name) for listed in self._segments]
            return encode_snapshot(body, standalone=True), files

    def writers_lock(self, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """Hold the writers' lock across the writes made inside (yields True). A
        session's worker thread waits for it here, so that the writes, made on the
        thread that owns the data in memory, never wait. ``wait=False``: yield False
        at once when another process or thread holds it."""
        return self._locked(wait)

    # ------------------------------------------------------------------ public API

    def refresh(self) -> Changes:
        """Bring in what other processes committed; a stat call when nothing did."""
        if self._tx is not None:
            return Changes()
        with self._mutex:
            self._drop_held()
            return self._notify(self._follow_journal())

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
            self._ready_to_append()
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
                self._commit(tx)

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
                on_disk = lstat_or_none(self.journal_path)
                if on_disk is None or (on_disk.st_ino, on_disk.st_size) != (
                    self._journal_ino,
                    self._journal_offset,
                ):
                    return False
                self._ready_to_append()
                self._commit(held, entry, compact=False)
                if aside is not None and self._put_in_place(aside, self._seq, b""):
                    line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        finally:
            if aside is not None:
                aside.discard()
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
                self._undo(held)
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
                        self._ready_to_append()
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
                            break
                finally:
                    if aside is not None:
                        aside.discard()
                if not self._rebase(rehearsed, rebase, encoded):
                    return None
            # The documents join this process's state after the lock.
            for table, key, doc in rehearsed.ops:
                self._put(table, key, doc)
            self._notify(
                Changes(keys={(table, key) for table, key, _ in rehearsed.ops if key is not None})
            )
            if not compacted and self._journal_offset > max(COMPACT_MIN_BYTES, self._snapshot_size):
                self._compact_beside_writers()
        return {
            table: rehearsed.max_ids.get(table, 0) - first_max.get(table, 0)
            for table in {op[0] for op in rehearsed.ops}
        }

    def _snapshot_after(self, rehearsed: Rehearsed) -> _Aside | None:
        """The snapshot of the state once ``rehearsed`` is committed next, written
        beside the database (None when it cannot be)."""
        tx = _Transaction(who=rehearsed.who, max_ids_before=dict(self._max_ids))
        for table, key, doc in rehearsed.ops:
            tx.names_before.setdefault(table, table in self._tables)
            before = self._put(table, key, doc)
            if key is not None:
                tx.undo.append((table, key, before))
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
        touched = {op[0] for op in rehearsed.ops}
        emptied = {op[0] for op in rehearsed.ops if op[1] is None}
        if emptied & changed or touched & self._reset_since(rehearsed.seq):
            # Emptying a table others wrote to would keep their documents; ids after a
            # table others emptied start again at 1: both are checked again.
            return False
        shift = {
            table: self._max_ids.get(table, 0) - rehearsed.max_ids.get(table, 0)
            for table in touched
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
            aside.discard()

    def _snapshot_body(
        self,
        seq: int,
        sealed: Tables | None = None,
        segments: list[Listed] | None = None,
        leave_out: Tables | None = None,
    ) -> dict[str, Any]:
        """The state in memory as the snapshot at entry ``seq``: without the sealed
        documents (by default, those of the segments listed now) not changed since;
        with the history not read in, without those ``leave_out`` names."""
        sealed = self._sealed if sealed is None else sealed
        segments = self._segments if segments is None else segments
        body: dict[str, Any] = {
            "schema_version": self._schema_version,
            "db_id": self._db_id,
            "seq": seq,
            "max_ids": self._max_ids,
            "tables": self._tables,
        }
        if not segments:
            return body
        body["segments"] = [listed.as_json() for listed in segments]
        if not self._history_in:
            # Memory holds the live set, as the snapshot read had it: a change to a
            # sealed document reads the history in first (see ``_put``).
            if self._replaced:
                body["replaced"] = self._replaced
            if leave_out:
                body["tables"] = {
                    table: {k: d for k, d in rows.items() if k not in leave_out[table]}
                    if table in leave_out
                    else rows
                    for table, rows in self._tables.items()
                }
            return body
        tables: Tables = {}
        replaced: Tables = {}
        for table, rows in self._tables.items():
            done = sealed.get(table)
            tables[table] = (
                {key: doc for key, doc in rows.items() if done.get(key) is not doc}
                if done
                else rows
            )
        for table, done in sealed.items():
            rows = self._tables.get(table, {})
            changed = {key: doc for key, doc in done.items() if rows.get(key) is not doc}
            if changed:
                replaced[table] = changed
        body["tables"] = tables
        if replaced:
            body["replaced"] = replaced
        return body

    def _write_aside(
        self,
        seq: int,
        sealed: Tables | None = None,
        segments: list[Listed] | None = None,
        leave_out: Tables | None = None,
    ) -> _Aside | None:
        """The state in memory as the snapshot at entry ``seq`` (see
        ``_snapshot_body``), in a new file beside the database (unguessable name,
        made ``O_EXCL|O_NOFOLLOW``, the database's mode and group), fsynced and kept
        locked so no writer sweeps it away as a stale temp file; None when it cannot
        be written (compaction waits)."""
        segments = self._segments if segments is None else segments
        parts = snapshot_parts(self._snapshot_body(seq, sealed, segments, leave_out))
        return self._aside(self.path, parts, sealed_tag(segments))

    def _aside(
        self, target: Path, parts: list[bytes] | tuple[bytes, ...], sealed: str
    ) -> _Aside | None:
        """``parts`` in a new locked temp file beside ``target`` (the snapshot, or the
        fixed name segments are written under before they get theirs), with the
        database's mode and group."""
        try:
            fd, tmp = temp_replacing(target, like=self.path)
        except (OSError, StoreError):
            return None
        aside = _Aside(tmp, sum(map(len, parts)), fd, sealed)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for part in parts:
                write_all(fd, part)
            os.fsync(fd)
        except OSError:
            aside.discard()
            return None
        return aside

    def _put_in_place(self, aside: _Aside, seq: int, tail: bytes) -> bool:
        """Inside the lock: the snapshot written aside (at entry ``seq``) becomes the
        database, and a new journal holds what was appended after it (``tail``)."""
        if aside.sealed != self._sealed_tag:
            return False  # written before a seal: it lists the segments of before
        try:
            put_temp(aside.path, self.path)
            aside.placed = True
            header = journal_header(seq, self._db_id, self._sealed_tag)
            replace_file(self.journal_path, header + tail)
        except (OSError, StoreUnsafe):
            # The journal still holds every committed entry: compaction can wait (a
            # file swapped for a link is refused; the next open says why).
            return False
        self._snapshot_size = aside.size
        self._close_journal()
        if not self._open_journal():
            raise StoreCorrupt(
                t("store.journal_missing", journal=self.journal_path, path=self.path)
            )
        assert self._journal_fd is not None
        self._journal_offset = os.fstat(self._journal_fd).st_size
        self._journal_last = self._seq
        self._write_lock_record()
        return True

    def _changed_since(self, seq: int) -> set[str] | None:
        """Tables changed by entries after ``seq``; None when that is not known."""
        if self._reloaded_at > seq:
            return None
        return {table for table, at in self._changed_at.items() if at > seq}

    def _reset_since(self, seq: int) -> set[str]:
        """Tables emptied or dropped (ids restarted) by entries after ``seq``."""
        return {table for table, at in self._reset_at.items() if at > seq}

    # ------------------------------------------------------------------ Storage

    def close(self) -> None:
        with self._mutex:
            self._close_journal()

    # ------------------------------------------------------------------ commit

    def _ready_to_append(self) -> None:
        """Inside the lock, before an entry is appended: refuse a cut journal, give a
        standalone file its journal, put back a lost line end, and drop an unfinished
        last entry (a crashed writer's: the lock record says it was never durable)."""
        self._refuse_cut(self._read_lock_record())
        if self._journal_fd is None:
            self._give_journal()
            return
        size = os.fstat(self._journal_fd).st_size
        if self._line_end_at is None and size < self._journal_offset:
            raise StoreCorrupt(
                t(
                    "store.journal_shrank",
                    journal=self.journal_path,
                    size=size,
                    offset=self._journal_offset,
                )
            )
        if self._line_end_at is None and size == self._journal_offset:
            return
        try:
            fd = open_regular(self.journal_path, os.O_WRONLY)
            try:
                if self._line_end_at is not None:
                    os.pwrite(fd, b"\n", self._line_end_at)
                    self._line_end_at = None
                os.ftruncate(fd, self._journal_offset)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, self.journal_path)) from exc

    def _give_journal(self) -> None:
        """A standalone snapshot's first writer: journal first, then the snapshot
        without its mark (a crash between leaves a standalone file with a journal)."""
        try:
            raw, _ = read_regular(self.path)
            header = journal_header(self._seq, self._db_id, self._sealed_tag)
            replace_file(self.journal_path, header)
            replace_file(self.path, frame_snapshot(snapshot_payload(raw)))
        except StoreError:
            raise
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, self.path)) from exc
        self._standalone = False
        if not self._open_journal():
            missing = t("store.journal_missing", journal=self.journal_path, path=self.path)
            raise StoreCorrupt(missing)
        self._write_lock_record()

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
            self._undo(tx)
            raise
        try:
            fd = open_regular(self.journal_path, os.O_WRONLY | os.O_APPEND)
            if os.fstat(fd).st_ino != self._journal_ino:
                os.close(fd)
                raise _Mismatch(t("store.journal_swapped", journal=self.journal_path))
        except (OSError, StoreError) as exc:
            self._undo(tx)
            if isinstance(exc, StoreError):
                raise
            raise StoreWriteFailed(describe_os_error(exc, self.journal_path)) from exc
        try:
            for part in parts:
                write_all(fd, part)
            os.fdatasync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_offset)
                os.fsync(fd)
            os.close(fd)
            self._undo(tx)
            raise StoreWriteFailed(describe_os_error(exc, self.journal_path)) from exc
        os.close(fd)
        written = sum(map(len, parts))
        self._seq += 1
        for table, key, _ in tx.ops:
            self._changed_at[table] = self._seq
            if key is None:
                self._reset_at[table] = self._seq
        self._journal_last = self._seq
        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        before, self._journal_offset = self._journal_offset, self._journal_offset + written
        self._write_lock_record()
        # The writer whose entry takes the journal over a multiple of the line
        # compacts: not every writer after a big batch (its writer compacts beside
        # the others), and a journal whose writer was killed first still gets folded.
        if compact and before // line != self._journal_offset // line:
            # The entry is durable: a compaction refused now (a file swapped for a
            # link) must not make the caller think otherwise; the next open says why.
            with contextlib.suppress(StoreUnsafe):
                self._compact()

    def compact(self) -> None:
        """Fold the journal into a new snapshot (also done automatically)."""
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex, self._locked():
            self._notify(self._follow_journal())
            self._ready_to_append()
            self._compact()

    def seal(
        self, name: str, keys: dict[str, list[str]], header: Callable[[Tables], dict[str, Any]]
    ) -> tuple[str, int] | None:
        """Move the documents ``keys`` names (those not sealed yet) into a new segment
        of sealed history (see ``segments``), beside the writers: the segment and the
        snapshot without them are written outside the writers' lock, which is held
        only to put them in place, as a compaction. Returns the segment's name
        (``name``, made unique) and its number of documents, or None when nothing
        was sealed: nothing was left to seal, others changed one of those documents
        meanwhile, or the files could not be written (the old state stays whole)."""
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        if self._tx is not None:
            raise RuntimeError("history is sealed outside a transaction")
        with self._mutex:
            self._drop_held()
            self._notify(self._follow_journal())
            if self._journal_fd is None:
                with self._locked():
                    # A standalone file (a backup, a fresh demo) gets its journal, as
                    # for its first save: the seal carries the journal over.
                    self._notify(self._follow_journal())
                    self._ready_to_append()
            seq, offset, inode = self._seq, self._journal_offset, self._journal_ino
            documents: Tables = {}
            for table, chosen in keys.items():
                rows = self._tables.get(table, {})
                # Once sealed, never again: a document changed since stays live.
                done = self._sealed.get(table) or self._replaced.get(table, {})
                picked = {key: rows[key] for key in chosen if key in rows and key not in done}
                if picked:
                    documents[table] = picked
            if not documents:
                return None
            if lstat_or_none(segment_path(self.path, name)) is not None:
                name = f"{name}-{secrets.token_hex(3)}"
            ids = {table: max(map(int, rows)) for table, rows in documents.items()}
            parts = encode_segment(self._db_id, name, {**header(documents), "ids": ids}, documents)
            segments = [*self._segments, Listed(name, head_of(parts[0]))]
            sealed = {table: dict(rows) for table, rows in self._sealed.items()}
            for table, rows in documents.items():
                sealed.setdefault(table, {}).update(rows)
            segment = self._aside(self._segment_temp, parts, sealed_tag(segments))
            # With the history not read in, memory holds the live set, and the new
            # snapshot is that without what is sealed now (then so is memory).
            out = None if self._history_in else documents
            snapshot = self._write_aside(seq, sealed, segments, leave_out=out)
            try:
                if segment is None or snapshot is None:
                    return None
                with self._locked():
                    changes = self._follow_journal()
                    self._notify(changes)
                    touched = {(table, key) for table, rows in documents.items() for key in rows}
                    if (
                        changes.reloaded
                        or self._journal_ino != inode
                        or self._journal_fd is None
                        or changes.keys & touched
                        or self._reset_since(seq) & set(documents)
                    ):
                        return None
                    tail = os.pread(self._journal_fd, self._journal_offset - offset, offset)
                    # The segment first: until the snapshot that lists it is in place,
                    # it is listed nowhere and changes nothing.
                    try:
                        put_temp(segment.path, segment_path(self.path, name))
                    except (OSError, StoreUnsafe):
                        return None
                    segment.placed = True
                    before = self._sealed, self._segments, self._sealed_tag, self._sealed_max
                    self._sealed, self._segments = sealed, segments
                    self._sealed_tag = snapshot.sealed
                    self._sealed_max = {
                        table: max(number, self._sealed_max.get(table, 0))
                        for table, number in ids.items()
                    } | {t: n for t, n in self._sealed_max.items() if t not in ids}
                    if not self._put_in_place(snapshot, seq, tail):
                        self._sealed, self._segments, self._sealed_tag, self._sealed_max = before
                        return None
                    self._headers.append(orjson.loads(parts[1]))
                    if out is not None:
                        self._sealed = {}
                        for table, rows in documents.items():
                            live = self._tables[table]
                            for key in rows:
                                del live[key]
                        self._notify(Changes(reloaded=True))
                    return name, sum(len(rows) for rows in documents.values())
            finally:
                for aside in (segment, snapshot):
                    if aside is not None:
                        aside.discard()

    # ------------------------------------------------------------------ history

    def _load_history(self) -> None:
        """Read the sealed history into memory, once: what everything but the live
        work needs (lists of the past, exports, ``check``, changing a sealed record).
        The listeners hear it as a reload."""
        if self._history_in:
            return
        with self._mutex:
            if self._history_in:
                return
            found = [read_segment(self.path, self._db_id, one, body=True) for one in self._segments]
            self._sealed = merge_sealed(self._tables, self._replaced, found)
            self._history_in, self._replaced = True, {}
            self._notify(Changes(reloaded=True))

    def tables(self) -> Tables:
        """Every document, the sealed history read in first when it is not yet."""
        self._load_history()
        return self._tables

    def read(self) -> Tables:
        return self.tables()

    def write(self, data: Tables) -> None:
        self._load_history()
        super().write(data)

    def live_tables(self) -> Tables:
        return self._tables

    def document(self, table: str, key: str) -> Doc | None:
        doc = self._tables.get(table, {}).get(key)
        if doc is None and self._may_be_sealed(table, key):
            self._load_history()
            doc = self._tables.get(table, {}).get(key)
        return doc

    def sealed_outside(self) -> tuple[list[dict[str, Any]], Tables]:
        if self._history_in:
            return [], {}
        return self._headers, self._replaced

    def _may_be_sealed(self, table: str, key: str) -> bool:
        """Whether ``key`` may be a sealed document not in memory (ids are handed out
        in order, so none after the highest sealed one is; and every id is a number)."""
        if self._history_in or key in self._tables.get(table, {}):
            return False
        return key.isdigit() and 0 < int(key) <= self._sealed_max.get(table, 0)

    def _put(self, table: str, key: str | None, doc: Doc | None) -> Doc | None:
        # A change to a sealed document (or a whole table) reads the history in, so
        # that what it replaces is known: the snapshot keeps its version as sealed.
        if not self._history_in and (key is None or self._may_be_sealed(table, key)):
            self._load_history()
        return super()._put(table, key, doc)

    def stage_table(self, table: str, *, keep: bool) -> None:
        self._load_history()
        super().stage_table(table, keep=keep)

    def sealed_segments(self) -> Iterator[Segment]:
        """The segments the snapshot read lists, each read again from its file."""
        for listed in list(self._segments):
            yield read_segment(self.path, self._db_id, listed, body=True)

    def restore(self, tables: Tables, max_ids: dict[str, int], seq: int) -> None:
        """Make a new, empty store hold a recovered state (see ``salvage``)."""
        with self._mutex, self._locked():
            if self._seq or any(self._tables.values()):
                raise StoreWriteFailed(f"{self.path}: not empty; recover into a new file")
            self._ready_to_append()
            self._tables, self._max_ids, self._seq = tables, dict(max_ids), seq
            self._compact()

    def _compact(self) -> None:
        snapshot = encode_snapshot(self._snapshot_body(self._seq))
        try:
            replace_file(self.path, snapshot)
            header = journal_header(self._seq, self._db_id, self._sealed_tag)
            replace_file(self.journal_path, header)
        except OSError:
            # The journal still holds every committed entry; compaction can wait.
            return
        self._snapshot_size = len(snapshot)
        self._close_journal()
        self._open_journal()
        self._write_lock_record()


def put_in_place(storage: JournalStorage, dest: Path, *, replace: bool) -> None:
    """Make ``dest`` hold what ``storage`` holds, as one standalone file that appears
    whole or not at all; ``FileExistsError`` when one is there. With ``replace``, it
    takes the place of the database there, inside that database's lock, and the old
    journal goes with it. Its sealed history goes first, each segment renamed for
    ``dest``: listed by nothing there until ``dest`` appears."""
    data, segments = storage.movable_copy()
    journal = dest.with_name(dest.name + "-journal")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not replace and lstat_or_none(dest) is not None:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dest))
        for segment in segments:
            name = segment.name[len(storage.path.name) :]
            write_new_file(dest.with_name(dest.name + name), read_regular(segment)[0], replace=True)
        if not replace:
            write_new_file(dest, data)
            return
        with holding_lock(dest.with_name(dest.name + "-lock"), lock_wait_handler):
            write_new_file(dest, data, replace=True)
            if refuse_link(journal) is not None:
                journal.unlink()
    except (FileExistsError, StoreError):
        raise
    except OSError as exc:
        raise StoreWriteFailed(describe_os_error(exc, Path(exc.filename or dest))) from exc
