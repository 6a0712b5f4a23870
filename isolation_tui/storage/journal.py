"""On-disk framing: the checksummed snapshot, the append-only journal, the lock record.

A snapshot is one header line ``ISOLATION-TUI-SNAPSHOT <version> <crc32> <length>``
(then `` standalone`` for a file meant to be opened without a journal: a backup, a
fresh demo) followed by the JSON body. A journal starts with ``ISOLATION-TUI-JOURNAL
<version> <base seq> <db id>`` and then holds one entry per line: ``<crc32 hex>
<json>``. An entry is judged by its checksum, not by its newline: a last entry that
passes its checksum counts even when its line end is missing or damaged; a last line
that does not is an unfinished write (a crash's, or a cut) and is reported.

The lock file holds one fixed-width line, ``ISOLATION-TUI-LOCK <version> <db id>
<seq> <crc32>``: the last entry a writer made durable. A journal that ends before it
was cut.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from .errors import StoreCorrupt

SNAPSHOT_MAGIC = b"ISOLATION-TUI-SNAPSHOT"
JOURNAL_MAGIC = b"ISOLATION-TUI-JOURNAL"
LOCK_MAGIC = b"ISOLATION-TUI-LOCK"
STANDALONE = b"standalone"
FORMAT_VERSION = 1
# Files of a database with sealed history (see ``segments``): a program that knows
# no segments would read it as a database without that history, so it must refuse.
SEALED_VERSION = 2
LOCK_RECORD_BYTES = 80
BULK_PARSE_BYTES = 1024 * 1024


@contextlib.contextmanager
def bulk_parse(size: int) -> Iterator[None]:
    """Parse ``size`` bytes of JSON without the cyclic GC rescanning them meanwhile.

    100k documents decode into about half a million containers; with the collector
    on, its passes over them during the parse cost more than the parse itself (0.96 s
    instead of 0.41 s for a 50 MB snapshot). Decoded JSON holds no reference cycles,
    so pausing loses nothing, and afterwards the objects are frozen out of the
    collector's sight for good: reference counting still frees them when they are
    dropped (they form no cycles), and no later pass rescans them.
    """
    if size < BULK_PARSE_BYTES or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()


def crc(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


def encode_snapshot(body: dict[str, Any], *, standalone: bool = False) -> bytes:
    return b"".join(snapshot_parts(body, standalone=standalone))


def snapshot_parts(body: dict[str, Any], *, standalone: bool = False) -> tuple[bytes, bytes]:
    """A snapshot as its header line and its JSON, to write one after the other
    (a big one is not copied to join them)."""
    payload = orjson.dumps(body)
    version = SEALED_VERSION if body.get("segments") else FORMAT_VERSION
    return snapshot_header(payload, standalone=standalone, version=version), payload


PIECE_DOCS = 1024
# Digits of a streamed snapshot's length: its header is written last, in place.
STREAMED_LENGTH_DIGITS = 15


def snapshot_pieces(
    body: dict[str, Any], more: Callable[[str], Iterator[bytes]] | None = None
) -> Iterator[bytes]:
    """A snapshot's JSON in pieces of some thousand documents, to write one after
    another: a big snapshot is never held whole in memory as bytes. ``more(table)``
    gives documents of ``table`` that are not in ``body``, already encoded as the
    inside of a JSON object (``"id":{…},"id":{…}``), in blocks cut anywhere."""
    rest = {key: value for key, value in body.items() if key not in ("tables", "replaced")}
    yield orjson.dumps(rest)[:-1]
    for name in ("tables", "replaced"):
        if name not in body:
            continue
        yield b',"' + name.encode() + b'":{'
        for n, (table, rows) in enumerate(body[name].items()):
            yield (b"," if n else b"") + orjson.dumps(table) + b":{"
            first = True
            for piece in _in_pieces(rows):
                yield (b"" if first else b",") + orjson.dumps(piece)[1:-1]
                first = False
            for n_block, block in enumerate(more(table) if more and name == "tables" else ()):
                yield (b"," if n_block == 0 and not first else b"") + block
            yield b"}"
        yield b"}"
    yield b"}"


def _in_pieces(rows: dict[str, Any]) -> Iterator[dict[str, Any]]:
    items = iter(rows.items())
    while piece := dict(itertools.islice(items, PIECE_DOCS)):
        yield piece


def streamed_snapshot_header(checksum: int, length: int, *, sealed: bool) -> bytes:
    """The header of a snapshot whose JSON was written in pieces after it: always as
    long (its length zero-padded), so it is written in place once the JSON is."""
    version = SEALED_VERSION if sealed else FORMAT_VERSION
    return b"%s %d %08x %0*d\n" % (
        SNAPSHOT_MAGIC,
        version,
        checksum,
        STREAMED_LENGTH_DIGITS,
        length,
    )


def snapshot_header(
    payload: bytes, *, standalone: bool = False, version: int = FORMAT_VERSION
) -> bytes:
    checksum = crc(payload).encode()
    header = b"%s %d %s %d" % (SNAPSHOT_MAGIC, version, checksum, len(payload))
    return header + (b" " + STANDALONE if standalone else b"") + b"\n"


def frame_snapshot(payload: bytes, *, standalone: bool = False) -> bytes:
    """The snapshot file for an encoded ``payload``."""
    return snapshot_header(payload, standalone=standalone) + payload


def snapshot_payload(raw: bytes) -> bytes:
    return raw.partition(b"\n")[2]


def is_standalone(raw: bytes) -> bool:
    """A snapshot made to be opened without a journal (its first writer makes one)."""
    return raw.partition(b"\n")[0].split(b" ")[4:] == [STANDALONE]


def decode_snapshot(raw: bytes, path: str) -> dict[str, Any]:
    header, sep, payload = raw.partition(b"\n")
    parts = header.split(b" ")
    if len(parts) == 5 and parts[4] == STANDALONE:
        parts = parts[:4]
    if not sep or len(parts) != 4 or parts[0] != SNAPSHOT_MAGIC:
        raise StoreCorrupt(f"{path}: not an isolation-tui snapshot (bad header)")
    try:
        version, checksum, length = int(parts[1]), parts[2].decode(), int(parts[3])
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreCorrupt(f"{path}: unreadable snapshot header") from exc
    if version > SEALED_VERSION:
        raise StoreCorrupt(f"{path}: snapshot file format {version} is newer than this program")
    if len(payload) != length:
        raise StoreCorrupt(f"{path}: snapshot is {len(payload)} bytes, its header says {length}")
    if crc(payload) != checksum:
        raise StoreCorrupt(f"{path}: snapshot fails its checksum")
    try:
        with bulk_parse(len(payload)):
            body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise StoreCorrupt(f"{path}: snapshot is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise StoreCorrupt(f"{path}: snapshot body is not an object")
    return body


def journal_header(base_seq: int, db_id: str = "", sealed: str = "") -> bytes:
    """``db_id`` names the database the journal belongs to (the snapshot carries it
    too), so a session notices when the files were replaced under it; ``sealed``
    tells the segments the snapshot listed when the journal was begun, so a
    session following the journal notices a seal and reads the database again."""
    version = SEALED_VERSION if sealed else FORMAT_VERSION
    header = b"%s %d %d" % (JOURNAL_MAGIC, version, base_seq)
    if db_id:
        header += b" " + db_id.encode()
        if sealed:
            header += b" " + sealed.encode()
    return header + b"\n"


def parse_journal_header(line: bytes, path: str) -> tuple[int, str, str]:
    """The journal's base entry number, its database id ("" in older files) and
    the tag of the sealed segments then listed ("" when none)."""
    parts = line.rstrip(b"\n").split(b" ")
    if len(parts) not in (3, 4, 5) or parts[0] != JOURNAL_MAGIC:
        raise StoreCorrupt(f"{path}: not an isolation-tui journal (bad header)")
    try:
        version, base = int(parts[1]), int(parts[2])
        db_id = parts[3].decode("ascii") if len(parts) >= 4 else ""
        sealed = parts[4].decode("ascii") if len(parts) == 5 else ""
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreCorrupt(f"{path}: unreadable journal header") from exc
    if version > SEALED_VERSION:
        raise StoreCorrupt(f"{path}: journal file format {version} is newer than this program")
    return base, db_id, sealed


def encode_entry(entry: dict[str, Any]) -> bytes:
    payload = orjson.dumps(entry)
    return crc(payload).encode() + b" " + payload + b"\n"


def entry_parts(entry: dict[str, Any], ops_json: bytes) -> list[bytes]:
    """One journal line, in pieces to write one after the other: ``ops_json`` is
    ``entry["ops"]`` already encoded (a big batch is encoded before the writers'
    lock is taken) and is written as it is, not copied."""
    head = orjson.dumps({k: v for k, v in entry.items() if k != "ops"})[:-1] + b',"ops":'
    checksum = zlib.crc32(b"}", zlib.crc32(ops_json, zlib.crc32(head)))
    return [f"{checksum:08x} ".encode() + head, ops_json, b"}\n"]


@dataclass(frozen=True)
class ParsedChunk:
    entries: list[dict[str, Any]]
    consumed: int
    """Bytes of whole entries with their line ends; what follows is an unfinished
    entry or nothing. With ``line_end_at``, one more than ``data`` may hold."""
    line_end_at: int | None = None
    """Where the last entry's line end should be but is not (file offset)."""


def _entry(line: bytes) -> dict[str, Any] | None:
    """The entry ``line`` holds if its checksum says so, else None."""
    checksum, _, payload = line.partition(b" ")
    if crc(payload).encode() != checksum:
        return None
    try:
        entry = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None


def parse_entries(data: bytes, start_offset: int, path: str) -> ParsedChunk:
    """Parse the entries of ``data`` (which begins at ``start_offset`` in the file).

    A whole line that fails its checksum is damage, not a torn write, and is refused.
    A last line without its line end still counts when it passes its checksum, alone
    (the line end is missing) or without its last byte (the line end was changed).
    """
    entries: list[dict[str, Any]] = []
    pos = 0
    with bulk_parse(len(data)):
        while True:
            end = data.find(b"\n", pos)
            if end < 0:
                break
            line = data[pos:end]
            checksum, _, payload = line.partition(b" ")
            if crc(payload).encode() != checksum:
                raise StoreCorrupt(
                    f"{path}: journal entry at byte {start_offset + pos} fails its checksum"
                )
            try:
                entry = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise StoreCorrupt(
                    f"{path}: journal entry at byte {start_offset + pos} is not valid JSON"
                ) from exc
            entries.append(entry)
            pos = end + 1
    tail = data[pos:]
    for size in (len(tail), len(tail) - 1):
        last = _entry(tail[:size]) if size > 0 else None
        if last is not None:
            entries.append(last)
            return ParsedChunk(entries, pos + size + 1, start_offset + pos + size)
    return ParsedChunk(entries, pos)


def encode_lock_record(db_id: str, seq: int) -> bytes:
    # The checksum makes a record read while a writer rewrites it unreadable (so it
    # tells nothing) rather than a mix of two numbers.
    fields = b"%s %d %s %d" % (LOCK_MAGIC, FORMAT_VERSION, db_id.encode(), seq)
    line = fields + b" " + crc(fields).encode()
    return line.ljust(LOCK_RECORD_BYTES - 1) + b"\n"


def parse_lock_record(raw: bytes) -> tuple[str, int] | None:
    """(db id, last durable seq) from a lock file; None when it holds no record (a lock
    file of an older version, or one being rewritten: then nothing can be told)."""
    parts = raw.split()
    if len(parts) != 5 or parts[0] != LOCK_MAGIC or parts[1] != b"%d" % FORMAT_VERSION:
        return None
    if crc(b" ".join(parts[:4])).encode() != parts[4]:
        return None
    try:
        return parts[2].decode("ascii"), int(parts[3])
    except (ValueError, UnicodeDecodeError):
        return None
