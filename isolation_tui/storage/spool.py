"""A big journal entry written beside the journal before the writers' lock.

An import's entry is tens or hundreds of megabytes of JSON. Held in memory it would
cost as much again as the records it holds (twice, once joined into one line), and
so would the new snapshot a compaction writes after it. Here the entry's operations
are encoded a chunk at a time straight into a temp file beside the journal (an
unguessable name, made ``O_EXCL|O_NOFOLLOW``, kept locked so that no writer sweeps
it away as a stale temp file), its checksum computed as it goes. The operations come
first in the entry (``{"ops":[…],"seq":…}``: an entry is a JSON object, read by its
keys), so that only the few bytes written inside the lock (its number, time and
author) are added to the checksum there, and the file is copied onto the journal's
end a block at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ..i18n import t
from .errors import StoreWriteFailed
from .files import describe_os_error, temp_replacing, write_all

CHUNK_OPS = 1024
COPY_BLOCK = 1 << 20


class SpoolSpoiled(StoreWriteFailed):
    """The entry's file no longer holds what was written to it: nothing is appended."""


class Spool:
    """The operations of one entry, encoded into a locked temp file beside ``journal``."""

    def __init__(self, journal: Path, like: Path, low: dict[str, int] | None = None) -> None:
        # ``low``: the highest id of each table before the batch; given, the ids the
        # batch hands out are counted (see ``counts``).
        self.journal, self.like, self.low = journal, like, low
        try:
            self.fd, self.path = temp_replacing(journal, like=like, access=os.O_RDWR)
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, journal)) from exc
        self.closed = False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.discard()
            raise StoreWriteFailed(describe_os_error(exc, journal)) from exc
        self._start()

    def _start(self) -> None:
        self.size = 0
        self.crc = 0
        self.count = 0
        # Where each chunk's operations lie (offset, length), to read them back.
        self.chunks: list[tuple[int, int]] = []
        # The tables the operations change, and those they empty or drop.
        self.tables: set[str] = set()
        self.emptied: set[str] = set()
        # Per table, the operations on each id the batch handed out (``low`` + 1 on).
        self.counts: dict[str, bytearray] = {}
        self._write(b'{"ops":[')

    def _write(self, data: bytes) -> None:
        try:
            write_all(self.fd, data)
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, self.journal)) from exc
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)

    def add(self, ops: list[list[Any]]) -> None:
        """Encode ``ops`` after those added before (one ``orjson.dumps`` per chunk:
        one per small document leaves most of the memory it took behind)."""
        for table, key, _ in ops:
            self.tables.add(table)
            if key is None:
                self.emptied.add(table)
            elif self.low is not None and int(key) > self.low.get(table, 0):
                self._count(table, int(key) - self.low.get(table, 0) - 1)
        for start in range(0, len(ops), CHUNK_OPS):
            data = orjson.dumps(ops[start : start + CHUNK_OPS])[1:-1]
            if self.chunks:
                self._write(b",")
            self.chunks.append((self.size, len(data)))
            self._write(data)
            self.count += min(CHUNK_OPS, len(ops) - start)

    def _count(self, table: str, at: int) -> None:
        seen = self.counts.setdefault(table, bytearray())
        if at >= len(seen):
            seen.extend(bytes(at + 1 - len(seen)))
        # More than 255 operations on one id: not counted (no compaction from here).
        seen[at] = min(seen[at] + 1, 255)

    def rewrite(self, ops: list[list[Any]]) -> None:
        """Start again with ``ops`` (a batch renumbered after others' writes)."""
        try:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise StoreWriteFailed(describe_os_error(exc, self.journal)) from exc
        self._start()
        self.add(ops)

    def batches(self) -> Iterator[list[list[Any]]]:
        """The operations back, a chunk at a time."""
        for offset, length in self.chunks:
            yield orjson.loads(b"[" + os.pread(self.fd, length, offset) + b"]")

    def convert(self, change: Callable[[list[list[Any]]], list[list[Any]] | None]) -> bool:
        """Pass every chunk of operations through ``change`` (a renumbering), into a
        new file that takes this one's place; False (and this one kept as it is)
        when ``change`` refuses one."""
        new = Spool(self.journal, self.like, self.low)
        try:
            for ops in self.batches():
                changed = change(ops)
                if changed is None:
                    new.discard()
                    return False
                new.add(changed)
        except BaseException:
            new.discard()
            raise
        self.discard()
        self.__dict__.update(new.__dict__)
        return True

    def entry_size(self, head: dict[str, Any]) -> int:
        return len(self._ends(head)[0]) + self.size + len(self._ends(head)[1])

    def _ends(self, head: dict[str, Any]) -> tuple[bytes, bytes]:
        tail = b"]," + orjson.dumps(head)[1:]
        checksum = zlib.crc32(tail, self.crc)
        return f"{checksum:08x} ".encode(), tail + b"\n"

    def append_to(self, fd: int, head: dict[str, Any]) -> int:
        """Write the whole entry (``head``: its number, time and author) at the end of
        the journal open as ``fd`` (append mode); the bytes written."""
        first, last = self._ends(head)
        write_all(fd, first)
        offset, crc = 0, 0
        while offset < self.size:
            block = os.pread(self.fd, min(COPY_BLOCK, self.size - offset), offset)
            if not block:
                raise SpoolSpoiled(t("store.spool_spoiled", path=self.path))
            write_all(fd, block)
            crc = zlib.crc32(block, crc)
            offset += len(block)
        if crc != self.crc:
            # Someone who may write in the database's folder (a group folder) changed
            # the file while it grew: its checksum would make the journal unreadable.
            raise SpoolSpoiled(t("store.spool_spoiled", path=self.path))
        write_all(fd, last)
        return len(first) + self.size + len(last)

    def discard(self) -> None:
        if self.closed:
            return
        self.closed = True
        os.close(self.fd)
        with contextlib.suppress(OSError):
            self.path.unlink()
