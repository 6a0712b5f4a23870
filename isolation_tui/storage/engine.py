"""A TinyDB ``Storage`` that is crash-safe, multi-process safe and cheap to write.

State lives in memory as TinyDB expects (``{table: {str(doc_id): doc}}``). On disk
it is a snapshot plus an append-only journal of checksummed entries, one entry per
committed transaction. A commit appends one line and fsyncs it, so its cost does
not grow with the database. Writers serialise on ``<db>-lock`` (``flock``) and,
inside the lock, first read what other processes appended, so ids and rule checks
always see the latest state. When the journal outgrows the snapshot, it is folded
once the writer whose entry crossed the line has let go of the lock (or by a process
of its own the terminal program starts): a new snapshot is written beside the
writers to a temp file and fsynced, and the lock is held only to rename it into
place with a fresh journal of what was appended meanwhile. Readers take no lock;
they follow the journal by offset and notice a compaction by the journal's inode. A
seal (see ``segments``) writes an entry naming what left the live set, so readers
take it as any entry and then switch journals as after a compaction.

The three files belong together: the journal names the database it belongs to, and
the lock file records the last entry a writer made durable. A journal of another
database, a missing journal, one older than its snapshot or cut short is refused.
A *standalone* snapshot (a backup, a fresh demo) is the one file meant to be opened
alone: its first writer gives it a journal and makes it an ordinary snapshot.
File safety (no symlinks, unguessable temp names) lives in ``files``.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ..i18n import t
from .backend import (
    Changed,
    Changes,
    MemoryBackend,
    Rebase,
    Rehearsed,
    _Transaction,
    let_go_of_new,
)
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
    frame_snapshot,
    is_standalone,
    journal_header,
    parse_entries,
    parse_journal_header,
    parse_lock_record,
    snapshot_payload,
    snapshot_pieces,
    streamed_snapshot_header,
)
from .segments import (
    Listed,
    Parsed,
    Segment,
    encode_segment,
    head_of,
    listed_segments,
    may_hold,
    merge_sealed,
    read_segment,
    run_keys,
    seal_note,
    sealed_tag,
    segment_files,
    segment_path,
)
from .spool import COPY_BLOCK, Spool, SpoolSpoiled
from .tables import AUDIT

SCHEMA_VERSION = 1
COMPACT_MIN_BYTES = 4 * 1024 * 1024
# Times a rehearsal is brought up to others' writes outside the lock before it is
# done inside it (others saving faster than that would otherwise hold it off).
REBASES_OUTSIDE_LOCK = 2
LOAD_ATTEMPTS = 4
# Segments kept parsed after a lookup (see ``_last_read``).
SEGMENTS_KEPT = 4

LockWaitHandler = Callable[[Path, float], None]
lock_wait_handler: LockWaitHandler | None = None
"""Told when a writer has waited a second for the lock (the CLI prints it); a
session may set its own ``JournalStorage.on_lock_wait``."""

Doc = dict[str, Any]
Tables = dict[str, dict[str, Doc]]
# One segment to seal: its name, the documents it takes ({table: [id, …]}) and what
# its header says of them.
SealUnit = tuple[str, dict[str, list[str]], Callable[[Tables], dict[str, Any]]]


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
        # An entry of this process took the journal over the compaction line: it is
        # folded once the writers' lock is let go (see ``_fold``), never in the save.
        self._fold_due = False
        self.fold_elsewhere: Callable[[], object] | None = None
        """Folds the journal in a process of its own (the terminal program sets it, so
        that no save and no frame waits for a compaction); None: this process folds,
        beside the writers, once it lets go of their lock."""
        self._tx: _Transaction | None = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[Changes], None]] = []
        # Per table, the last entry that changed it; what changed before a reload
        # (read whole from the files) is not known.
        self._changed_at: dict[str, int] = {}
        self._reset_at: dict[str, int] = {}
        self._reloaded_at = 0
        # While a rehearsal is being stored: each document others' entries changed,
        # with its entry and what it was before (a key of None: a change whose
        # documents are not known, a whole table or a seal), so that the rehearsal
        # can tell whether their changes touch what its rows decided.
        self._watched: list[tuple[int, str, str | None, Doc | None]] | None = None
        self._watched_from = 0  # the last entry read before them
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
        # A rehearsal that spilled (see ``spill``): what it wrote so far, beside the
        # journal; and whether memory lost track of the files (it held part of a
        # spilled rehearsal, or one was stored without being read in), so that the
        # next use reads the files again.
        self._spilled: Spool | None = None
        self._spilling = False
        self._stale = False
        # The last few segments read for lookups, by name: what a stay's detail or a
        # page of a list of the past reads again and again (a page of stays by id
        # spans the months they were discharged in), never the whole history.
        self._last_read: collections.OrderedDict[str, Parsed] = collections.OrderedDict()
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
            self._stale = False
            self._schema_version = version
            self._db_id = db_id
            self._tables = tables
            if self._watched is not None:
                self._watched.clear()  # the entries are read again below
                self._watched_from = int(body.get("seq", 0))
            self._sealed, self._segments = {}, segments
            self._headers, self._replaced = headers, replaced
            self._last_read.clear()
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
        if self._stale:
            self._forget()
            self._load()
            return Changes(reloaded=True)
        changes = Changes()
        on_disk = lstat_or_none(self.journal_path)
        if self._journal_fd is not None:
            if on_disk is not None and on_disk.st_ino == self._journal_ino:
                if on_disk.st_size != self._journal_offset:
                    changes.add(self._read_new_entries())
                return changes
            # Another writer compacted (or the files were replaced): finish the old
            # journal, then switch to the new one.
            changes.add(self._read_new_entries())
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
        changes.add(self._read_new_entries())
        return changes

    def _forget(self) -> None:
        """Let go of what memory holds before the files are read again, when it no
        longer says what is stored (see ``spill``): a big import's stubs and the
        indexes over them would otherwise stay beside the state read, the store held
        twice at the end of the import. The listeners hear a reload of nothing (the
        state read follows at once); the files are read again however that ends."""
        self._tables = {}
        self._last_read.clear()
        self._stale = False
        try:
            self._notify(Changes(reloaded=True))
        finally:
            self._stale = True

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
            # A seal's segments are read (their headers) before anything is applied.
            seal = self._seal_in(entry["sealed"]) if "sealed" in entry else None
            fresh.append((entry, seal))
        changes = Changes()
        watched = self._watched
        for entry, seal in fresh:
            for table, key, doc in entry.get("ops", []):
                before = self._put(table, key, doc)
                if watched is not None:
                    watched.append((entry["seq"], table, key, before))
                self._changed_at[table] = entry["seq"]
                if key is not None:
                    changes.keys.add((table, key))
                else:
                    self._reset_at[table] = entry["seq"]
            self._seq = entry["seq"]
            if seal is not None:
                changes.add(self._take_seal(*seal))
                if watched is not None:
                    watched.append((entry["seq"], "", None, None))
        self._journal_last = last
        self._journal_offset += chunk.consumed
        self._line_end_at = chunk.line_end_at
        return changes

    def _seal_in(self, note: Any) -> tuple[list[Listed], dict[str, list[str]], list[Doc]]:
        """What a seal entry says: its segments, with the header of each one not
        listed yet (read from its file, refused by its name when it is not the one
        listed), and the ids that left the live set."""
        try:
            listed = [Listed(str(one["name"]), str(one["head"])) for one in note["segments"]]
            left = {
                str(table): [str(key) for key in run_keys(runs)]
                for table, runs in note["left"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreCorrupt(f"{self.journal_path}: a seal's entry is unreadable") from exc
        known = {one.name for one in self._segments}
        headers = [
            {}
            if one.name in known
            else read_segment(self.path, self._db_id, one, body=False).header
            for one in listed
        ]
        return listed, left, headers

    def _take_seal(
        self, listed: list[Listed], left: dict[str, list[str]], headers: list[Doc]
    ) -> Changes:
        """Memory after a seal's entry (see ``_list_sealed`` and ``_drop_sealed``)."""
        found = self._list_sealed(listed, headers)
        return Changes() if found is None else self._drop_sealed(left, *found)

    def _list_sealed(
        self, listed: list[Listed], headers: list[Doc]
    ) -> tuple[list[Doc], bool] | None:
        """A seal's segments listed in memory: the headers of those new to it, and
        whether memory holds the live set only (nothing was sealed before, or the
        history is not read in); None when a snapshot opened after the seal lists
        them already."""
        known = {one.name for one in self._segments}
        pairs = zip(listed, headers, strict=True)
        new = [(one, head) for one, head in pairs if one.name not in known]
        if not new:
            return None
        live_only = not self._history_in or not self._segments
        self._segments = [*self._segments, *(one for one, _ in new)]
        self._headers = [*self._headers, *(head for _, head in new)]
        for _, header in new:
            for table, number in header.get("ids", {}).items():
                self._sealed_max[table] = max(self._sealed_max.get(table, 0), number)
        self._sealed_tag = sealed_tag(self._segments)
        return [head for _, head in new], live_only

    def _drop_sealed(
        self, left: dict[str, list[str]], headers: list[Doc], live_only: bool
    ) -> Changes:
        """What a seal took out of the live set leaves memory when it holds the live
        set (as a process opening the database now would), or is kept as sealed
        history when that is read in."""
        self._history_in = self._history_in and not live_only
        changes = Changes()
        for table, keys in left.items():
            rows = self._tables.get(table, {})
            self._changed_at[table] = self._seq
            if live_only:
                changes.keys |= {(table, key) for key in keys if rows.pop(key, None) is not None}
                continue
            done = self._sealed.setdefault(table, {})
            for key in keys:
                if key in rows:
                    done[key] = rows[key]
        if changes.keys:
            # The counters of what left memory come from the headers from now on.
            changes.sealed = headers
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
            if self._fold_due:
                self._fold()

    def over_the_line(self) -> bool:
        """Whether the journal has outgrown the snapshot (a compaction is due)."""
        return self._journal_offset > max(COMPACT_MIN_BYTES, self._snapshot_size)

    def _fold(self) -> None:
        """After the writers' lock is let go, when an entry of this process took the
        journal over the line: the fold is started in a process of its own
        (``fold_elsewhere``), or written here beside the writers, who wait only for
        its renames. The entry is durable whatever happens to the fold: a fold that
        fails changes nothing the caller should hear of, and a journal left unfolded
        (this process killed first) is folded at the next crossing, or by the next
        session to start."""
        self._fold_due = False
        if self.fold_elsewhere is not None:
            self.fold_elsewhere()
            return
        with contextlib.suppress(StoreError, OSError), self._mutex:
            self._compact_beside_writers()

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

    def spill(self, keep: Callable[[str], Callable[[Doc], Doc] | None]) -> None:
        """Inside a rehearsal, between batches of a big one (an import): append what
        it changed so far to the entry it will be, written beside the journal (not
        on a read-only store: a dry run only checks), and let go of the new records
        it made: ``keep(table)`` makes the stub that stays of each (what later rows
        check), or is None: they leave memory (the indexes hear they went). Records that
        were there before stay, changed. Memory no longer says what is stored, so
        when the rehearsal ends, however it ends, the files are read again at the
        next use: never by an import that only stores what it rehearsed."""
        tx = self._tx
        if tx is None or self._held is not None:
            raise RuntimeError("only a rehearsal spills")
        with self._mutex:
            if not self.read_only:
                if self._spilled is None:
                    self._spilled = Spool(self.journal_path, self.path, tx.max_ids_before)
                self._spilled.add(tx.ops)
            self._spilling = True
            self._notify(let_go_of_new(self._tables, tx, keep))

    def _let_go_of_spill(self) -> None:
        if self._spilling:
            self._spilling = False
            self._stale = True
        if self._spilled is not None:
            self._spilled.discard()
            self._spilled = None

    def _commit_spill(
        self, held: _Transaction, rehearsed: Rehearsed, rebase: Rebase
    ) -> set[str] | None:
        """Store a rehearsal that spilled: its entry, finished with its last batch,
        is appended from the file it was written to, after the files are read again
        (memory held only part of it); the entry is not read back into memory. The
        tables it changed, or None when the rehearsal must be done again."""
        spool, self._spilled = self._spilled, None
        assert spool is not None
        try:
            spool.add(held.ops)
            self._spilling = False
            self._stale = True
            self._notify(self._follow_journal())
            if not self._commit_reserving(rehearsed, rebase, spool):
                return None
            if self._journal_offset > max(COMPACT_MIN_BYTES, self._snapshot_size):
                self._compact_spilled(spool)
            return spool.tables
        finally:
            spool.discard()
            self._stale = True

    def _empty_tx(self, who: str) -> _Transaction:
        """A transaction whose operations are in a spilled entry's file only."""
        return _Transaction(who=who, max_ids_before=dict(self._max_ids))

    def _unaffected(self, rehearsed: Rehearsed, rebase: Rebase, spool: Spool) -> bool:
        """Whether what others stored since ``rehearsed`` began leaves it true (it
        may still need its new ids moved)."""
        if self._seq == rehearsed.seq:
            return True
        changed = self._changed_since(rehearsed.seq)
        if changed is None or spool.emptied & changed:
            return False
        if spool.tables & self._reset_since(rehearsed.seq):
            return False
        documents = self._documents_since(rehearsed.seq)
        return rebase(replace(rehearsed, ops=[]), changed, {}, documents) is not None

    def _commit_reserving(self, rehearsed: Rehearsed, rebase: Rebase, spool: Spool) -> bool:
        """Append a spilled rehearsal's entry, never renumbering it inside the lock:
        when others' new ids took the ones it handed out, a first short hold appends
        a tiny entry that reserves as many ids after theirs (a record put at the last
        and taken away: every reader then hands out ids after it), its ids move
        there outside the lock, and a second short hold appends it, others' writes
        meanwhile having taken ids after the reserved ones. False when what others
        stored changes what the rehearsal checked (it is done again)."""
        low = spool.low or {}
        tops = {table: low.get(table, 0) + len(seen) for table, seen in spool.counts.items()}
        with self._locked():
            self._notify(self._follow_journal())
            self._ready_to_append()
            if not self._unaffected(rehearsed, rebase, spool):
                return False
            shift = {t: self._max_ids.get(t, 0) - rehearsed.max_ids.get(t, 0) for t in tops}
            if not any(shift.values()):
                self._commit(self._empty_tx(rehearsed.who), spool, compact=False)
                return True
            ops: list[list[Any]] = []
            for table, top in tops.items():
                if shift[table]:
                    key = str(top + shift[table])
                    ops += [[table, key, {}], [table, key, None]]
            tx = _Transaction(who=rehearsed.who, ops=ops, max_ids_before=dict(self._max_ids))
            for table, key, doc in ops:
                self._put(table, key, doc)
            self._commit(tx, compact=False)
            rehearsed.seq = self._seq
        if not spool.convert(lambda ops: rebase(replace(rehearsed, ops=ops), set(), shift)):
            return False
        rehearsed.max_ids = {
            **rehearsed.max_ids,
            **{table: rehearsed.max_ids.get(table, 0) + moved for table, moved in shift.items()},
        }
        with self._locked():
            self._notify(self._follow_journal())
            self._ready_to_append()
            if not self._unaffected(rehearsed, rebase, spool):
                return False
            self._commit(self._empty_tx(rehearsed.who), spool, compact=False)
            return True

    def _compact_spilled(self, spool: Spool) -> None:
        """Just after ``spool``'s entry was appended, memory holding the state before
        it: fold the journal into a new snapshot, beside the writers as
        ``_compact_beside_writers`` does. The entry is read once: its changes to
        records there before are made in memory, and each new record, as its last
        operation leaves it (``spool.counts``), is encoded into a nameless file of
        its table, copied into the snapshot as it is written. An entry that empties
        a table, or changes one id 255 times, waits for an ordinary compaction."""
        low = spool.low or {}
        counts = {table: bytearray(seen) for table, seen in spool.counts.items()}
        if spool.emptied or any(255 in seen for seen in counts.values()):
            return
        files: dict[str, int] = {}
        try:
            for table in counts:
                self._tables.setdefault(table, {})
                fd, tmp = temp_replacing(self.path, like=self.path, access=os.O_RDWR)
                tmp.unlink()
                files[table] = fd
            written: dict[str, int] = dict.fromkeys(counts, 0)
            for ops in spool.batches():
                pieces: dict[str, dict[str, Doc]] = {}
                for table, key, doc in ops:
                    number, floor = int(key), low.get(table, 0)
                    if number <= floor:
                        self._put(table, key, doc)
                        continue
                    seen = counts[table]
                    seen[number - floor - 1] -= 1
                    if doc is not None and not seen[number - floor - 1]:
                        pieces.setdefault(table, {})[key] = doc
                        if number > self._max_ids.get(table, 0):
                            self._max_ids[table] = number
                for table, piece in pieces.items():
                    data = orjson.dumps(piece)[1:-1]
                    write_all(files[table], b"," + data if written[table] else data)
                    written[table] += len(data)

            def more(table: str) -> Iterator[bytes]:
                fd = files.get(table)
                offset, size = 0, os.lseek(fd, 0, os.SEEK_END) if fd is not None else 0
                while offset < size:
                    block = os.pread(fd, min(COPY_BLOCK, size - offset), offset)  # type: ignore[arg-type]
                    if not block:
                        raise OSError(5, "a new snapshot's piece is shorter than written")
                    offset += len(block)
                    yield block

            self._compact_beside_writers(more)
        except (OSError, StoreError):
            return  # the journal holds the entry: an ordinary compaction folds it later
        finally:
            for fd in files.values():
                os.close(fd)

    def _commit_held(self, held: _Transaction, rehearsed: Rehearsed) -> bool:
        """Store a kept rehearsal as it is, when nobody wrote since it began: its
        changes are in memory already, only its entry is written in the lock."""
        spool = self._spool(held.ops)
        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        aside = (
            self._write_aside(rehearsed.seq + 1)
            if self._journal_offset + spool.size > line
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
                self._commit(held, spool, compact=False)
                if aside is not None and self._put_in_place(aside, self._seq, b""):
                    line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        finally:
            spool.discard()
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
        with self._mutex, self._watching():
            held, self._held = self._held, None
            mine = held is not None and held.ops is rehearsed.ops
            if mine and self._spilled is not None:
                tables = self._commit_spill(held, rehearsed, rebase)  # type: ignore[arg-type]
                if tables is None:
                    return None
                return {
                    table: rehearsed.max_ids.get(table, 0) - first_max.get(table, 0)
                    for table in tables
                }
            if held is not None and self._spilling:
                self._undo(held)
                self._let_go_of_spill()
                return None
            if mine and self._commit_held(held, rehearsed):  # type: ignore[arg-type]
                return {table: 0 for table in {op[0] for op in rehearsed.ops}}
            if held is not None:
                # Others wrote since: undone here, brought up to them below.
                self._undo(held)
            spool = self._spool(rehearsed.ops)
            try:
                compacted = self._commit_spooled(rehearsed, rebase, spool)
            finally:
                spool.discard()
            if compacted is None:
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

    @contextlib.contextmanager
    def _watching(self) -> Iterator[None]:
        """Note what others' entries change while a rehearsal is stored."""
        self._watched, self._watched_from = [], self._seq
        try:
            yield
        finally:
            self._watched = None

    def _spool(self, ops: list[list[Any]]) -> Spool:
        spool = Spool(self.journal_path, self.path)
        try:
            spool.add(ops)
        except BaseException:
            spool.discard()
            raise
        return spool

    def _commit_spooled(self, rehearsed: Rehearsed, rebase: Rebase, spool: Spool) -> bool | None:
        """Append the entry ``spool`` holds, brought up to others' writes first; whether
        the new snapshot it brings was put in place, or None when nothing was written
        because the rehearsal must be done again."""
        for attempt in range(REBASES_OUTSIDE_LOCK + 1):
            last = attempt == REBASES_OUTSIDE_LOCK
            # A batch that takes the journal over the line brings its own new
            # snapshot, written before the lock, put in place in the same hold.
            big = self._journal_offset + spool.size > max(COMPACT_MIN_BYTES, self._snapshot_size)
            aside = self._snapshot_after(rehearsed) if big and attempt == 0 else None
            try:
                with self._locked():
                    self._notify(self._follow_journal())
                    self._ready_to_append()
                    if self._seq == rehearsed.seq or last:
                        if not self._rebase(rehearsed, rebase, spool):
                            return None
                        tx = _Transaction(
                            who=rehearsed.who, ops=rehearsed.ops, max_ids_before=dict(self._max_ids)
                        )
                        self._commit(tx, spool, compact=False)
                        return (
                            aside is not None
                            and self._seq == rehearsed.seq + 1
                            and self._put_in_place(aside, self._seq, b"")
                        )
            finally:
                if aside is not None:
                    aside.discard()
            if not self._rebase(rehearsed, rebase, spool):
                return None
        return None

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

    def _rebase(self, rehearsed: Rehearsed, rebase: Rebase, spool: Spool) -> bool:
        """Bring ``rehearsed`` up to the state now (renumbered, ``spool`` with it);
        False when it must be done again."""
        if self._seq == rehearsed.seq:
            return True
        changed = self._changed_since(rehearsed.seq)
        if changed is None:
            return False
        touched, emptied = spool.tables, spool.emptied
        if emptied & changed or touched & self._reset_since(rehearsed.seq):
            # Emptying a table others wrote to would keep their documents; ids after a
            # table others emptied start again at 1: both are checked again.
            return False
        shift = {
            table: self._max_ids.get(table, 0) - rehearsed.max_ids.get(table, 0)
            for table in touched
        }
        ops = rebase(rehearsed, changed, shift, self._documents_since(rehearsed.seq))
        if ops is None:
            return False
        if ops is not rehearsed.ops:
            spool.rewrite(ops)
        rehearsed.ops = ops
        rehearsed.seq = self._seq
        rehearsed.max_ids = {**rehearsed.max_ids, **self._max_ids}
        return True

    def _compact_beside_writers(self, more: Callable[[str], Iterator[bytes]] | None = None) -> None:
        """Fold the journal into a new snapshot, holding the writers' lock only to
        put the files in place: the snapshot of the state now (with ``more``, see
        ``_write_aside``) is written outside it, and what others append meanwhile
        is read in (when memory lacks an entry, it is read again at its next use)
        and carried over into the new journal."""
        seq, offset, inode = self._seq, self._journal_offset, self._journal_ino
        aside = self._write_aside(seq, more=more)
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
        more: Callable[[str], Iterator[bytes]] | None = None,
        leave_out: Tables | None = None,
    ) -> _Aside | None:
        """The state in memory as the snapshot at entry ``seq`` (see
        ``_snapshot_body``), in a new file beside the database (unguessable name,
        made ``O_EXCL|O_NOFOLLOW``, the database's mode and group), fsynced and kept
        locked so no writer sweeps it away as a stale temp file; None when it cannot
        be written (compaction waits). Written in pieces, never whole in memory;
        ``more(table)`` gives documents of ``table`` memory does not hold, encoded."""
        segments = self._segments if segments is None else segments
        body = self._snapshot_body(seq, sealed, segments, leave_out)
        try:
            fd, tmp = temp_replacing(self.path, like=self.path)
        except (OSError, StoreError):
            return None
        aside = _Aside(tmp, 0, fd, sealed_tag(segments))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            blank = streamed_snapshot_header(0, 0, sealed=bool(segments))
            write_all(fd, blank)
            checksum, length = 0, 0
            for piece in snapshot_pieces(body, more):
                write_all(fd, piece)
                checksum = zlib.crc32(piece, checksum)
                length += len(piece)
            os.pwrite(fd, streamed_snapshot_header(checksum, length, sealed=bool(segments)), 0)
            os.fsync(fd)
        except OSError:
            aside.discard()
            return None
        aside.size = len(blank) + length
        return aside

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

    def _documents_since(self, seq: int) -> list[Changed] | None:
        """The documents others changed after entry ``seq``, each as it was before
        their first change and as it is now; None when that is not known."""
        if self._watched is None or seq < self._watched_from:
            return None
        first: dict[tuple[str, str], Doc | None] = {}
        for at, table, key, before in self._watched:
            if at <= seq:
                continue
            if key is None:
                return None
            first.setdefault((table, key), before)
        return [
            (table, key, before, self._tables.get(table, {}).get(key))
            for (table, key), before in first.items()
        ]

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

    def _commit(
        self,
        tx: _Transaction,
        spool: Spool | None = None,
        *,
        compact: bool = True,
        note: dict[str, Any] | None = None,
    ) -> None:
        """Append ``tx`` as one entry (its ops encoded beside the journal in ``spool``;
        ``note``: what else the entry says, a seal)."""
        head = {
            "seq": self._seq + 1,
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "who": tx.who,
            **(note or {}),
        }
        try:
            parts = [] if spool is not None else [encode_entry({**head, "ops": tx.ops})]
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
            written = spool.append_to(fd, head) if spool is not None else 0
            for part in parts:
                write_all(fd, part)
                written += len(part)
            os.fdatasync(fd)
        except (OSError, SpoolSpoiled) as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_offset)
                os.fsync(fd)
            os.close(fd)
            self._undo(tx)
            if isinstance(exc, SpoolSpoiled):
                raise
            raise StoreWriteFailed(describe_os_error(exc, self.journal_path)) from exc
        os.close(fd)
        self._seq += 1
        for table, key, _ in tx.ops:
            self._changed_at[table] = self._seq
            if key is None:
                self._reset_at[table] = self._seq
        self._journal_last = self._seq
        line = max(COMPACT_MIN_BYTES, self._snapshot_size)
        before, self._journal_offset = self._journal_offset, self._journal_offset + written
        self._write_lock_record()
        # The writer whose entry takes the journal over a multiple of the line has
        # it folded, once the lock is let go (``_fold``): not every writer after a
        # big batch (its writer folds beside the others), and a journal whose writer
        # was killed first still gets folded at the next multiple.
        if compact and before // line != self._journal_offset // line:
            self._fold_due = True

    def compact(self) -> None:
        """Fold the journal into a new snapshot (also done automatically), beside the
        writers: the lock is held to check the journal, then only to put the files
        in place (a standalone file gets its journal in the first hold)."""
        if self.read_only:
            raise StoreReadOnly(t("store.read_only", path=self.path))
        with self._mutex:
            self._drop_held()
            with self._locked():
                self._notify(self._follow_journal())
                self._ready_to_append()
            self._compact_beside_writers()

    def seal(
        self, name: str, keys: dict[str, list[str]], header: Callable[[Tables], dict[str, Any]]
    ) -> tuple[str, int] | None:
        """Move the documents ``keys`` names (those not sealed yet) into a new segment
        of sealed history (see ``segments``); see ``seal_months``."""
        made = self.seal_months([(name, keys, header)])
        return made[0] if made else None

    def seal_months(self, months: list[SealUnit]) -> list[tuple[str, int]]:
        """Move the documents each of ``months`` names (those not sealed yet) into a
        new segment each, listed by one new snapshot, so that other sessions read
        the seal in once. Beside the writers: the segments and the snapshot without
        their documents are written outside the writers' lock, which is held only to
        put them in place, as a compaction. Returns each segment's name (as given,
        made unique) and its number of documents; none when nothing was sealed:
        nothing was left to seal, others changed one of those documents meanwhile,
        or the files could not be written (the old state stays whole)."""
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
            sealed = {table: dict(rows) for table, rows in self._sealed.items()}
            segments = list(self._segments)
            units: list[tuple[str, Tables, list[bytes]]] = []
            for name, keys, header in months:
                documents: Tables = {}
                for table, chosen in keys.items():
                    rows, done = self._tables.get(table, {}), sealed.get(table, {})
                    # Once sealed, never again: a document changed since stays live.
                    again = self._replaced.get(table, {})
                    picked = {
                        key: rows[key]
                        for key in chosen
                        if key in rows and key not in done and key not in again
                    }
                    if picked:
                        documents[table] = picked
                if not documents:
                    continue
                if lstat_or_none(segment_path(self.path, name)) is not None or any(
                    one.name == name for one in segments
                ):
                    name = f"{name}-{secrets.token_hex(3)}"
                ids = {table: max(map(int, rows)) for table, rows in documents.items()}
                head = {**header(documents), "ids": ids}
                parts = encode_segment(self._db_id, name, head, documents)
                segments.append(Listed(name, head_of(parts[0])))
                for table, rows in documents.items():
                    sealed.setdefault(table, {}).update(rows)
                units.append((name, documents, parts))
            if not units:
                return []
            tag = sealed_tag(segments)
            asides = [self._aside(self._segment_temp, parts, tag) for _, _, parts in units]
            # With the history not read in, memory holds the live set, and the new
            # snapshot is that without what is sealed now (then so is memory).
            out: Tables | None = None
            if not self._history_in:
                out = {}
                for _, documents, _ in units:
                    for table, rows in documents.items():
                        out.setdefault(table, {}).update(rows)
            snapshot = self._write_aside(seq, sealed, segments, leave_out=out)
            left: dict[str, list[str]] = {}
            for _, documents, _ in units:
                for table, rows in documents.items():
                    left.setdefault(table, []).extend(rows)
            try:
                if snapshot is None or None in asides:
                    return []
                with self._locked():
                    changes = self._follow_journal()
                    self._notify(changes)
                    touched = {
                        (table, key)
                        for _, documents, _ in units
                        for table, rows in documents.items()
                        for key in rows
                    }
                    if (
                        changes.reloaded
                        or self._journal_ino != inode
                        or self._journal_fd is None
                        or changes.keys & touched
                        or self._reset_since(seq) & {table for table, _ in touched}
                    ):
                        return []
                    # Inside the lock no seal is half done: a segment listed nowhere
                    # was left by one killed between its renames.
                    self._remove_left_segments()
                    names = [segment_path(self.path, name) for name, _, _ in units]
                    listed = {one.name for one in self._segments}
                    if any(lstat_or_none(path) is not None for path in names) or listed & {
                        name for name, _, _ in units
                    }:
                        return []
                    # The segments first: until an entry lists them, they are listed
                    # nowhere and change nothing.
                    placed: list[Path] = []
                    try:
                        for aside, path in zip(asides, names, strict=True):
                            assert aside is not None
                            put_temp(aside.path, path)
                            aside.placed = True
                            placed.append(path)
                        # Then one entry naming them and what left the live set: other
                        # sessions take the seal from it as they take any entry, with
                        # no snapshot to read again; from here on the seal is made.
                        self._ready_to_append()
                        note = seal_note(segments[len(self._segments) :], left)
                        self._commit(_Transaction(who=self.who), compact=False, note=note)
                    except (OSError, StoreError):
                        _remove(placed)
                        return []
                    heads = [orjson.loads(parts[1]) for _, _, parts in units]
                    listing = self._list_sealed(segments[len(self._segments) :], heads)
                    assert listing is not None
                    # The snapshot without what was sealed, and the entries after it
                    # (the seal's own too): what the entry says, it finds done.
                    tail = os.pread(self._journal_fd, self._journal_offset - offset, offset)
                    self._put_in_place(snapshot, seq, tail)
                # Memory, and what listens to it (the counters, the indexes), take the
                # seal beside the writers.
                self._notify(self._drop_sealed(left, *listing))
                return [(name, sum(map(len, docs.values()))) for name, docs, _ in units]
            finally:
                for aside in (*asides, snapshot):
                    if aside is not None:
                        aside.discard()

    @property
    def db_id(self) -> str:
        """The database's own id (its journal and segments name it)."""
        return self._db_id

    def segment_headers(self) -> list[tuple[Path, dict[str, Any]]]:
        """Each listed segment's file and header, as read when it was opened."""
        return [
            (segment_path(self.path, listed.name), header)
            for listed, header in zip(self._segments, self._headers, strict=True)
        ]

    def stray_segments(self) -> list[tuple[Path, str]]:
        """Files named as segments of this database that its snapshot does not list,
        each with what it is: ``left`` (a regular file of ours, left by a seal
        killed between its renames), ``link``, ``not_regular`` or ``not_ours``.
        Looked at between writers (a seal puts its segment and snapshot in place in
        one hold of their lock), after reading what they did."""
        try:
            fd = open_regular(self.lock_path, os.O_RDONLY)
        except (OSError, StoreError):
            fd = -1  # no lock file: nobody ever wrote beside this snapshot
        try:
            if fd >= 0 and not _shared_lock(fd):
                return []  # writers kept it all along: say nothing rather than guess
            with self._mutex:
                if self._tx is None:
                    self._notify(self._follow_journal())
                return self._unlisted()
        finally:
            if fd >= 0:
                os.close(fd)

    def _unlisted(self) -> list[tuple[Path, str]]:
        listed = {segment_path(self.path, one.name) for one in self._segments}
        found = []
        for path in segment_files(self.path):
            if path not in listed:
                with contextlib.suppress(FileNotFoundError):
                    found.append((path, _what(path)))
        return found

    def _remove_left_segments(self) -> None:
        """Inside the lock: remove what seals killed between their renames left (a
        regular file of ours listed nowhere); never a link, a listed file or another
        account's."""
        left = [path for path, what in self._unlisted() if what == "left"]
        if not left:
            return
        try:
            # The snapshot on disk, not only as read: one whose journal could not be
            # replaced after it may list segments this process does not know of.
            raw, _ = read_regular(self.path)
        except (OSError, StoreError):
            return
        prefix = segment_path(self.path, "").name
        for path in left:
            if orjson.dumps(path.name.removeprefix(prefix)) not in raw:
                with contextlib.suppress(OSError):
                    path.unlink()

    def segment_mode_problems(self) -> list[tuple[Path, int, int]]:
        """Listed segments that let others do more than the snapshot lets them (a
        segment is made with the snapshot's mode): each with its mode and the
        snapshot's."""
        found = []
        try:
            mine = stat.S_IMODE(os.stat(self.path).st_mode)
        except OSError:
            return []
        for listed in list(self._segments):
            st = lstat_or_none(segment_path(self.path, listed.name))
            if st is not None and stat.S_IMODE(st.st_mode) & ~mine & 0o077:
                found.append((segment_path(self.path, listed.name), stat.S_IMODE(st.st_mode), mine))
        return found

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
            self._last_read.clear()
            self._notify(Changes(reloaded=True))

    def _current(self) -> None:
        """Read the files again when memory lost track of them (see ``spill``)."""
        if self._stale and self._tx is None:
            with self._mutex:
                self._drop_held()
                self._notify(self._follow_journal())

    def tables(self) -> Tables:
        """Every document, the sealed history read in first when it is not yet."""
        self._current()
        self._load_history()
        return self._tables

    def read(self) -> Tables:
        return self.tables()

    def write(self, data: Tables) -> None:
        self._load_history()
        super().write(data)

    def live_tables(self) -> Tables:
        self._current()
        return self._tables

    def max_id(self, table: str) -> int:
        self._current()
        return super().max_id(table)

    def document(self, table: str, key: str) -> Doc | None:
        """One document; a sealed one is read from the segment holding it alone."""
        self._current()
        doc = self._tables.get(table, {}).get(key)
        if doc is None and self._may_be_sealed(table, key):
            for parsed in self._holding(table, key):
                doc = parsed.tables.get(table, {}).get(key)
                if doc is not None:
                    return doc
        return doc

    def sealed_parts(self, table: str, above: int = 0, since: str = "") -> Iterator[dict[str, Doc]]:
        """The documents of ``table`` in sealed history not in memory, with ids above
        ``above``, in the months from ``since`` on: one segment's at a time, segments
        in the order sealed. Memory holds a few segments, never the whole history."""
        with self._mutex:
            if self._history_in:
                return
            listed = list(zip(self._segments, self._headers, strict=True))
            live, gone = self._tables.get(table, {}), self._replaced.get(table, {})
        for one, header in listed:
            if header.get("ids", {}).get(table, 0) <= above or header.get("month", since) < since:
                continue
            with self._passing(one) as parsed:
                rows = parsed.tables.get(table, {})
                yield {
                    key: doc
                    for key, doc in rows.items()
                    if int(key) > above and key not in gone and key not in live
                }
            del parsed, rows  # the month let go of before the next is read

    def sealed_with(self, table: str, key: str, related: str, field: str) -> list[tuple[str, Doc]]:
        """The documents of ``related`` whose ``field`` names record ``key`` of
        ``table``, sealed with it (its audit, a stay's checks and tests; later ones
        are live), read from the segment holding the record only; none when the
        history is in memory."""
        if self._history_in or not key.isdigit():
            return []
        if key in self._tables.get(table, {}) and key not in self._replaced.get(table, {}):
            return []  # never sealed: all that refers to it is live
        kind = table if related == AUDIT else ""
        for parsed in self._holding(table, key, also_replaced=True):
            if key in parsed.tables.get(table, {}):
                return parsed.referring(related, field, int(key), kind)
        return []

    def _holding(self, table: str, key: str, *, also_replaced: bool = False) -> Iterator[Parsed]:
        """The segments whose header says they may hold ``key`` of ``table``, read
        one by one (a replaced document is there only as it was sealed)."""
        with self._mutex:
            if self._history_in or (key in self._replaced.get(table, {}) and not also_replaced):
                return
            listed = list(zip(self._segments, self._headers, strict=True))
        for one, header in listed:
            if may_hold(header, table, int(key)):
                yield self._parsed(one)

    def _parsed(self, listed: Listed) -> Parsed:
        with self._mutex:
            parsed = self._last_read.get(listed.name)
        if parsed is None:
            # Read and parsed outside the lock: a search walking the history in a
            # worker thread must not hold up the terminal's own reads meanwhile.
            segment = read_segment(self.path, self._db_id, listed, body=True)
            parsed = Parsed(segment.body or {})
        return self._keep(listed.name, parsed)

    @contextlib.contextmanager
    def _passing(self, listed: Listed, parsed: Parsed | None = None) -> Iterator[Parsed]:
        """A segment read in passing (an export, ``check --all``): kept for the
        lookups made while it is worked on, then let go unless kept before, so a
        walk through the history holds one segment at a time."""
        kept = listed.name in self._last_read
        try:
            yield self._keep(listed.name, parsed) if parsed else self._parsed(listed)
        finally:
            if not kept:
                self._last_read.pop(listed.name, None)

    def _keep(self, name: str, parsed: Parsed) -> Parsed:
        with self._mutex:
            self._last_read.pop(name, None)
            self._last_read[name] = parsed
            while len(self._last_read) > SEGMENTS_KEPT:
                self._last_read.popitem(last=False)
            return parsed

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
            segment = read_segment(self.path, self._db_id, listed, body=True)
            if self._history_in:
                yield segment
                continue
            # What is checked in it is looked up in it: read once.
            with self._passing(listed, Parsed(segment.body or {})):
                yield segment

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


def _remove(paths: list[Path]) -> None:
    """Segments just put in place by a seal that then failed: listed nowhere."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _shared_lock(fd: int, tries: int = 40) -> bool:
    """A shared hold of the writers' lock (``fd``), waiting a little for a writer
    to finish (they hold it briefly); False when it stays taken."""
    for _ in range(tries):
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.05)
    return False


def _what(path: Path) -> str:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return "link"
    if not stat.S_ISREG(st.st_mode):
        return "not_regular"
    return "left" if st.st_uid == os.geteuid() else "not_ours"


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
