"""Sealed history: finished records moved out of the snapshot into immutable files.

A segment is written once, beside the database, as ``<db>-sealed-<name>`` (e.g.
``isolation.db-sealed-2022-04-1234``: the month of history it holds and the entry
it was sealed at) and never changed. Its first line says what it is and checksums
the rest: ``ISOLATION-TUI-SEGMENT <version> <db id> <name> <crc32 of the header>
<header length> <crc32 of the body> <body length>``; then the header, a small JSON
object (how many documents of each table it holds, and ``tally``: the counters'
marks per point over them, so counting need not read the body; ``ids``: the highest
id of each table; ``keys``: which ids of each table but the audit it holds, as runs,
so a lookup by id reads only a segment that holds it), a line end, and the body,
``{table: {id: document}}``. The header's ``at`` (see ``sealing``) lists the
stays and discharges it holds per point. ``keys`` and ``at`` came after the format's
first segments without changing its version: a program before them ignores them,
and a segment without them (sealed before) may hold any id up to its highest, so
it is read to know.

The snapshot lists the segments that belong to it, each with the checksum of its
first line (which checksums everything after it), so a segment that is missing,
replaced, or damaged is refused by its name. Segments are named by the snapshot
that lists them, so one made by a seal that was killed before its snapshot was put
in place is listed nowhere and changes nothing: the next seal removes it.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .errors import StoreCorrupt
from .files import lstat_or_none, open_regular
from .journal import bulk_parse, crc

SEGMENT_MAGIC = b"ISOLATION-TUI-SEGMENT"
SEGMENT_VERSION = 1
SEALED_MARK = "-sealed-"
# A first line is short: its fields are a few numbers, a database id and a name.
FIRST_LINE_MAX = 512

Tables = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Listed:
    """A segment as the snapshot lists it."""

    name: str
    head: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "head": self.head}


def segment_path(db_path: Path, name: str) -> Path:
    return db_path.with_name(f"{db_path.name}{SEALED_MARK}{name}")


def listed_segments(body: dict[str, Any], path: str) -> list[Listed]:
    """The segments a snapshot's body lists (none in a snapshot of before sealing)."""
    found = body.get("segments", [])
    if not isinstance(found, list):
        raise StoreCorrupt(f"{path}: snapshot lists its sealed history wrongly")
    try:
        return [Listed(str(item["name"]), str(item["head"])) for item in found]
    except (KeyError, TypeError) as exc:
        raise StoreCorrupt(f"{path}: snapshot lists its sealed history wrongly") from exc


def encode_segment(db_id: str, name: str, header: dict[str, Any], body: Tables) -> list[bytes]:
    """The segment file in pieces (its first line first), to write one after the other."""
    head_json = orjson.dumps(header)
    body_json = orjson.dumps(body)
    first = b"%s %d %s %s %s %d %s %d\n" % (
        SEGMENT_MAGIC,
        SEGMENT_VERSION,
        db_id.encode(),
        name.encode(),
        crc(head_json).encode(),
        len(head_json),
        crc(body_json).encode(),
        len(body_json),
    )
    return [first, head_json, b"\n", body_json]


def sealed_tag(segments: list[Listed]) -> str:
    """A short name for the list of segments (none: ""), carried by the journal."""
    if not segments:
        return ""
    return crc(orjson.dumps([listed.as_json() for listed in segments]))


def head_of(first_line: bytes) -> str:
    """What the snapshot records of a segment: the checksum of its first line."""
    return crc(first_line)


@dataclass(frozen=True)
class Segment:
    """One segment as read: its file, its header and, when asked for, its documents."""

    path: Path
    header: dict[str, Any]
    body: Tables | None


def read_segment(
    db_path: Path, db_id: str, listed: Listed, *, body: bool, parse: bool = True
) -> Segment:
    """Read and verify the segment ``listed`` (its header only, or all of it: its
    documents too, unless ``parse`` is false); ``StoreCorrupt`` naming the file when
    it is missing, replaced or damaged."""
    path = segment_path(db_path, listed.name)
    if lstat_or_none(path) is None:
        raise StoreCorrupt(
            f"{path}: this sealed history segment is missing; the database lists it. "
            "Restore it from a backup (a backup holds every segment). Nothing was changed."
        )
    try:
        fd = open_regular(path, os.O_RDONLY)
    except OSError as exc:
        raise StoreCorrupt(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        start = os.pread(fd, FIRST_LINE_MAX, 0)
        first, sep, _ = start.partition(b"\n")
        if not sep or head_of(first + sep) != listed.head:
            raise StoreCorrupt(
                f"{path}: this sealed history segment is damaged or is not the one the "
                "database lists; restore it from a backup. Nothing was changed."
            )
        fields = first.split(b" ")
        if len(fields) != 8 or fields[0] != SEGMENT_MAGIC:
            raise StoreCorrupt(f"{path}: not an isolation-tui segment (bad first line)")
        version = int(fields[1])
        if version > SEGMENT_VERSION:
            raise StoreCorrupt(f"{path}: segment format {version} is newer than this program")
        if fields[2].decode() != db_id or fields[3].decode() != listed.name:
            raise StoreCorrupt(f"{path}: this segment belongs to another database")
        head_crc, head_len = fields[4].decode(), int(fields[5])
        body_crc, body_len = fields[6].decode(), int(fields[7])
        at = len(first) + 1
        head_json = os.pread(fd, head_len, at)
        if len(head_json) != head_len or crc(head_json) != head_crc:
            raise StoreCorrupt(f"{path}: sealed history segment fails its checksum")
        documents: Tables | None = None
        if body:
            body_json = os.pread(fd, body_len, at + head_len + 1)
            if len(body_json) != body_len or crc(body_json) != body_crc:
                raise StoreCorrupt(f"{path}: sealed history segment fails its checksum")
            if parse:
                with bulk_parse(len(body_json)):
                    documents = orjson.loads(body_json)
        return Segment(path, orjson.loads(head_json), documents)
    except (ValueError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise StoreCorrupt(f"{path}: unreadable sealed history segment") from exc
    finally:
        os.close(fd)


def merge_sealed(tables: Tables, replaced: Tables, found: list[Segment]) -> Tables:
    """Put the documents of the segments ``found`` into a snapshot's ``tables``,
    but those ``replaced`` lists (changed since their seal: the snapshot holds them
    as they are now, or not at all when they were removed), and return them as read."""
    sealed: Tables = {}
    for segment in found:
        for table, rows in (segment.body or {}).items():
            sealed.setdefault(table, {}).update(rows)
    for table, rows in sealed.items():
        gone = replaced.get(table, {})
        live = tables.get(table)
        merged = {key: doc for key, doc in rows.items() if key not in gone}
        if live is None and not merged:
            continue
        merged.update(live or {})
        # In id order, as if never sealed: TinyDB lists a table in that order.
        tables[table] = dict(sorted(merged.items(), key=lambda item: int(item[0])))
    return sealed


def segment_files(db_path: Path) -> list[Path]:
    """Every file named as a segment of ``db_path``, listed or not."""
    prefix = f"{db_path.name}{SEALED_MARK}"
    try:
        names = os.listdir(db_path.parent)
    except OSError:
        return []
    return sorted(db_path.with_name(name) for name in names if name.startswith(prefix))


# The audit is looked up by the record it is about, which lies in the same segment:
# its ids (most of a segment, interleaved) need no runs of their own.
UNINDEXED = frozenset({"audit"})


def key_runs(keys: Iterable[str]) -> list[int]:
    """Ids as runs ``[first, last, first, last, …]``, ascending: a header's index."""
    runs: list[int] = []
    for number in sorted(map(int, keys)):
        if runs and runs[-1] + 1 == number:
            runs[-1] = number
        else:
            runs += [number, number]
    return runs


def run_keys(runs: list[int]) -> Iterator[int]:
    """The ids ``runs`` holds (see ``key_runs``)."""
    for first, last in zip(runs[::2], runs[1::2], strict=True):
        yield from range(first, last + 1)


def seal_note(listed: list[Listed], left: dict[str, list[str]]) -> dict[str, Any]:
    """What a seal's journal entry says: the segments it lists, and the ids of each
    table that left the live set into them (as runs)."""
    return {
        "sealed": {
            "segments": [one.as_json() for one in listed],
            "left": {table: key_runs(keys) for table, keys in left.items()},
        }
    }


def may_hold(header: dict[str, Any], table: str, number: int) -> bool:
    """Whether the segment with ``header`` may hold document ``number`` of ``table``."""
    if number > header.get("ids", {}).get(table, 0):
        return False
    runs = header.get("keys", {}).get(table)
    if runs is None:
        return True
    at = bisect.bisect_right(runs, number)
    return at % 2 == 1 or (at > 0 and runs[at - 1] == number)


class Parsed:
    """A segment's documents as read for lookups, with the documents that refer to
    a record indexed on first use (an export asks who entered each of thousands)."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self._indexes: dict[tuple[str, str], dict[tuple[str, int], list[str]]] = {}

    def referring(
        self, table: str, field: str, number: int, kind: str = ""
    ) -> list[tuple[str, dict[str, Any]]]:
        """The documents of ``table`` whose ``field`` is ``number`` (and, in the
        audit, whose ``table`` is ``kind``)."""
        rows = self.tables.get(table, {})
        index = self._indexes.get((table, field))
        if index is None:
            index = self._indexes[(table, field)] = {}
            for key, doc in rows.items():
                index.setdefault((doc.get("table", ""), doc[field]), []).append(key)
        return [(key, rows[key]) for key in index.get((kind, number), [])]
