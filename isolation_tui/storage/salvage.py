"""Recover what can be recovered from a damaged database, into a new one.

The damaged files are only read, never changed: the supervisor keeps them for
whoever investigates, and decides whether the new copy replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import t
from .backend import apply_op
from .engine import SCHEMA_VERSION, JournalStorage
from .errors import StoreCorrupt, StoreError, StoreMissing
from .files import lstat_or_none, read_regular
from .journal import decode_snapshot, parse_entries, parse_journal_header
from .segments import listed_segments, merge_sealed, read_segment


@dataclass(frozen=True)
class Salvage:
    seq: int
    kept_entries: int
    lost_lines: int
    problem: str


def salvage(source: Path, dest: Path) -> Salvage:
    """Write to ``dest`` the state of ``source`` up to its first damaged entry."""
    journal = source.with_name(source.name + "-journal")
    if lstat_or_none(dest) is not None:
        raise StoreError(f"{dest}: already exists; choose a new file for the recovered copy")
    if lstat_or_none(source) is None and lstat_or_none(journal) is None:
        raise StoreMissing(t("store.missing", path=source))
    problem = ""
    try:
        body: dict[str, Any] = decode_snapshot(read_regular(source)[0], str(source))
    except (StoreCorrupt, OSError) as exc:
        problem = str(exc)
        body = {"schema_version": SCHEMA_VERSION, "seq": 0, "max_ids": {}, "tables": {}}
    tables: dict[str, dict[str, Any]] = body.get("tables", {})
    # Sealed history whose segments can be read comes back; a damaged one is named.
    found = []
    for listed in listed_segments(body, str(source)) if not problem else []:
        try:
            found.append(read_segment(source, str(body.get("db_id", "")), listed, body=True))
        except StoreCorrupt as exc:
            problem = problem or str(exc)
    merge_sealed(tables, body.get("replaced", {}), found)
    max_ids: dict[str, int] = {k: int(v) for k, v in body.get("max_ids", {}).items()}
    seq = int(body.get("seq", 0))
    kept = lost = 0
    try:
        raw = read_regular(journal)[0]
    except OSError:
        raw = b""
    header, _, rest = raw.partition(b"\n")
    if raw:
        base, db_id, _ = parse_journal_header(header + b"\n", str(journal))
        if "db_id" in body and db_id != body["db_id"]:
            # Never merge another database's changes into this one.
            foreign = t(
                "store.journal_foreign",
                journal=journal,
                path=source,
                theirs=db_id or "-",
                ours=body["db_id"] or "-",
            )
            problem = problem or foreign
            lost = sum(1 for line in rest.split(b"\n") if line)
            rest = b""
        elif base > seq:
            raise StoreCorrupt(
                f"{source}: the snapshot is damaged and the journal does not reach back to "
                "the start; only a backup can restore this database"
            )
        lines = rest.split(b"\n")
        offset = len(header) + 1  # where each line starts in the file, as check names it
        for number, line in enumerate(lines):
            start, offset = offset, offset + len(line) + 1
            if not line:
                continue
            # The last line is judged by its checksum alone, as the store does.
            whole = line + b"\n" if number < len(lines) - 1 else line
            try:
                (entry,) = parse_entries(whole, start, str(journal)).entries
            except (StoreCorrupt, ValueError) as exc:
                unfinished = t("store.torn_or_cut", journal=journal, byte=start, count=len(line))
                problem = problem or (str(exc) if isinstance(exc, StoreCorrupt) else unfinished)
                lost = sum(1 for later in lines[number:] if later)
                break
            if entry["seq"] <= seq:
                continue
            if entry["seq"] != seq + 1:
                problem = problem or f"{journal}: journal jumps from entry {seq} to {entry['seq']}"
                lost = sum(1 for later in lines[number:] if later)
                break
            for table, key, doc in entry["ops"]:
                apply_op(tables, max_ids, table, key, doc)
            seq = entry["seq"]
            kept += 1
    store = JournalStorage(dest, create=True, create_dirs=True)
    store.restore(tables, max_ids, seq)
    store.close()
    return Salvage(seq=seq, kept_entries=kept, lost_lines=lost, problem=problem)
