"""Which history is finished, and sealing it month by month (see ``segments``).

A stay is finished when it was voided, or discharged (by a discharge not voided);
with it go every discharge, check and test of that stay and their audit entries. An
incident is finished when it was voided or handled and every stay it is about is
finished. Each goes into the month it finished in (the discharge's, the arrival's
for a voided stay, the latest of an incident's own and its stays'), and a month is
sealed only when it ended before ``until``: supervisors still look back over the
weeks just gone. Points, settings and handovers are never sealed.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.handover import DEFAULT_SHIFTS
from ..domain.records import is_live
from .backend import Backend, Tables
from .errors import StoreError
from .files import open_regular, taking_turn
from .segments import UNINDEXED, key_runs, may_hold
from .tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, SETTINGS, STAYS, TESTS

if TYPE_CHECKING:
    from .repository import Store

Rows = Mapping[str, dict[str, Any]]
Marks = Mapping[str, Callable[[Any], tuple[str, ...]]]
# The lists of the past (F2, F3, F4) page through these by point, newest first.
LISTED_BY_POINT = (STAYS, DISCHARGES, INCIDENTS)


def default_until(today: date) -> str:
    """The last month kept live besides the current one: two months stay open."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _month(text: str) -> str:
    return text[:7]


def _finished_stays(tables: Mapping[str, Rows]) -> dict[int, str]:
    """Each finished stay's id and the month it finished in."""
    stays, discharges = tables.get(STAYS, {}), tables.get(DISCHARGES, {})
    finished: dict[int, str] = {}
    for key, stay in stays.items():
        if not is_live(stay):
            finished[int(key)] = _month(stay["arrived_at"])
        elif stay["status"] == "discharged":
            discharge = discharges.get(str(stay.get("discharge")))
            if discharge is not None and is_live(discharge):
                finished[int(key)] = _month(discharge["at"])
    return finished


def seal_due(storage: Backend, until: str) -> bool:
    """Whether the live set holds a stay not sealed yet that finished before
    ``until``: what makes a session start the automatic seal (its stays only, to
    cost little)."""
    return any(month < until for month in _finished_stays(unsealed(storage)).values())


def unsealed(storage: Backend) -> Mapping[str, Rows]:
    """The live set less the sealed documents changed since their seal (they are
    never sealed again: their segment keeps them as sealed)."""
    live = storage.live_tables()
    _, replaced = storage.sealed_outside()
    if not replaced:
        return live
    return {
        table: {key: doc for key, doc in rows.items() if key not in replaced.get(table, {})}
        for table, rows in live.items()
    }


def sealed_months(headers: Sequence[Mapping[str, Any]]) -> Callable[[int], str | None]:
    """The month a stay not in the live set was sealed with, by the segments'
    headers (None: not known, a segment sealed before headers listed ids)."""

    def month_of(stay_id: int) -> str | None:
        for header in headers:
            if STAYS in header.get("keys", {}) and may_hold(header, STAYS, stay_id):
                return str(header["month"])
        return None

    return month_of


def finished_by_month(
    tables: Mapping[str, Rows],
    until: str,
    sealed: Callable[[int], str | None] = lambda _stay_id: None,
) -> dict[str, dict[str, list[str]]]:
    """``{month: {table: [id, …]}}`` of the history finished in months before
    ``until`` (``YYYY-MM``). ``sealed``: the month a stay not in ``tables`` was
    sealed with, so that an incident about people sealed before it goes with its
    own month when it is finished."""
    finished = _finished_stays(tables)
    chosen: dict[str, dict[str, list[str]]] = {}

    def take(month: str, table: str, key: str) -> None:
        chosen.setdefault(month, {}).setdefault(table, []).append(key)

    for key, month in finished.items():
        if month < until:
            take(month, STAYS, str(key))
    for table in (DISCHARGES, CHECKS, TESTS):
        for key, doc in tables.get(table, {}).items():
            month = finished.get(doc["stay"], until)
            if month < until:
                take(month, table, key)
    for key, incident in tables.get(INCIDENTS, {}).items():
        if is_live(incident) and incident["status"] != "handled":
            continue
        about = [
            finished.get(stay_id)
            or (None if str(stay_id) in tables.get(STAYS, {}) else sealed(stay_id))
            for stay_id in incident.get("stays", [])
        ]
        if None in about:
            continue
        own = _month(incident.get("handled_at") or incident["occurred_at"])
        month = max([own, *about])  # type: ignore[list-item]
        if month < until:
            take(month, INCIDENTS, key)
    month_of = {
        (table, int(key)): month
        for month, picked in chosen.items()
        for table, keys in picked.items()
        for key in keys
    }
    for key, entry in tables.get(AUDIT, {}).items():
        month = month_of.get((entry["table"], entry["record"]))
        if month is not None:
            take(month, AUDIT, key)
    return chosen


def segment_header(
    month: str, marks: Marks, sealed: Mapping[str, str] | None = None
) -> Callable[[Tables], dict[str, Any]]:
    """What a segment of ``month`` says about itself: how many documents of each
    table it holds, the counters' marks per point over them (``tally``), which ids
    it holds (``keys``, see ``segments``), which stays and discharges per point
    (``at``: what a list of the past pages through without reading the documents),
    and ``sealed``: when and by whom (``at``, ``by``, ``automatic``)."""

    def header(documents: Tables) -> dict[str, Any]:
        return {
            "month": month,
            "counts": {table: len(rows) for table, rows in documents.items()},
            "tally": tally(documents, marks),
            "keys": {
                table: key_runs(rows) for table, rows in documents.items() if table not in UNINDEXED
            },
            "at": {table: keys_at(documents.get(table, {})) for table in LISTED_BY_POINT},
            **({"sealed": dict(sealed)} if sealed else {}),
        }

    return header


def keys_at(rows: Rows) -> dict[str, list[int]]:
    """The ids of ``rows`` per point, as runs (see ``segments.key_runs``)."""
    found: dict[str, list[str]] = {}
    for key, doc in rows.items():
        found.setdefault(doc["point"], []).append(key)
    return {point: key_runs(keys) for point, keys in sorted(found.items())}


def tally(documents: Mapping[str, Rows], marks: Marks) -> dict[str, dict[str, int]]:
    """The counters' marks per point over ``documents`` (what a segment header
    keeps, and what ``check`` counts again from its documents)."""
    found: dict[str, Counter[str]] = {}
    for table, mark in marks.items():
        for doc in documents.get(table, {}).values():
            counted = mark(doc)
            if counted:
                found.setdefault(doc["point"], Counter()).update(counted)
    return {point: dict(sorted(counts.items())) for point, counts in sorted(found.items())}


def seal_history(
    storage: Backend, until: str, marks: Marks, sealed: Mapping[str, str] | None = None
) -> list[tuple[str, int]]:
    """Seal every month of finished history before ``until``, one segment each, all
    put in place together (other sessions read them in once), beside the writers
    (``sealed``: when and by whom, kept in each header). Returns the segments made
    and how many documents each holds (none on a store that keeps its history as
    rows)."""
    storage.refresh()
    # The live set only: what is sealed already is finished and stays so.
    headers, _ = storage.sealed_outside()
    live = storage.live_tables()
    months = sorted(finished_by_month(live, until, sealed_months(headers)).items())
    return storage.seal_months(
        [
            (f"{month}-{storage.seq}", keys, segment_header(month, marks, sealed))
            for month, keys in months
        ]
    )


# ---------------------------------------------------------------- whose turn to seal


def turn_path(db_path: Path) -> Path:
    """``<db>-sealing``: held (``flock``) by the process sealing the database, and
    saying the last month the automatic seal finished for (``<db id> <until>``)."""
    return db_path.with_name(db_path.name + "-sealing")


def sealing_turn(db_path: Path, *, wait: bool) -> contextlib.AbstractContextManager[int | None]:
    """One sealer at a time per database: yields the turn file's descriptor, or
    None at once when another process seals now and ``wait`` is false. (A second
    seal would only find the first's work done, after reading all history.)"""
    return taking_turn(turn_path(db_path), wait=wait)


def mark_sealed_through(fd: int, db_id: str, until: str) -> None:
    """In the turn file: the automatic seal left nothing before ``until`` unsealed."""
    with contextlib.suppress(OSError):
        data = f"{db_id} {until}\n".encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))


def sealed_through(db_path: Path) -> tuple[str, str] | None:
    """What the turn file says (database id, month), or None: a hint that spares a
    session starting a seal with nothing to do (never trusted for more)."""
    try:
        fd = open_regular(turn_path(db_path), os.O_RDONLY)
    except (OSError, StoreError):
        return None
    try:
        words = os.pread(fd, 128, 0).decode("ascii", "replace").split()
    except OSError:
        return None
    finally:
        os.close(fd)
    return (words[0], words[1]) if len(words) == 2 else None


def auto_seal_on(store: Store) -> bool:
    """Whether sessions seal this database by themselves (yes unless turned off)."""
    return (store.get(SETTINGS, 1) or {}).get("auto_seal", True) is not False


def set_auto_seal(store: Store, on: bool) -> None:
    """Turn the automatic seal on or off for every session on this database
    (audited, as the shifts are)."""
    with store.transaction():
        if store.get(SETTINGS, 1) is None:
            store._create(SETTINGS, {"shifts": list(DEFAULT_SHIFTS), "auto_seal": on})
        else:
            store._change(SETTINGS, 1, {"auto_seal": on}, "correct")
