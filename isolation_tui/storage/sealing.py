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

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ..domain.records import is_live
from .backend import Backend, Tables
from .tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, STAYS, TESTS

Rows = Mapping[str, dict[str, Any]]
Marks = Mapping[str, Callable[[Any], tuple[str, ...]]]


def default_until(today: date) -> str:
    """The last month kept live besides the current one: two months stay open."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _month(text: str) -> str:
    return text[:7]


def finished_by_month(tables: Mapping[str, Rows], until: str) -> dict[str, dict[str, list[str]]]:
    """``{month: {table: [id, …]}}`` of the history finished in months before
    ``until`` (``YYYY-MM``)."""
    stays, discharges = tables.get(STAYS, {}), tables.get(DISCHARGES, {})
    finished: dict[int, str] = {}
    for key, stay in stays.items():
        if not is_live(stay):
            finished[int(key)] = _month(stay["arrived_at"])
        elif stay["status"] == "discharged":
            discharge = discharges.get(str(stay.get("discharge")))
            if discharge is not None and is_live(discharge):
                finished[int(key)] = _month(discharge["at"])
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
        about = [finished.get(stay_id) for stay_id in incident.get("stays", [])]
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


def segment_header(month: str, marks: Marks) -> Callable[[Tables], dict[str, Any]]:
    """What a segment of ``month`` says about itself: how many documents of each
    table it holds, and the counters' marks per point over them (``tally``)."""

    def header(documents: Tables) -> dict[str, Any]:
        return {
            "month": month,
            "counts": {table: len(rows) for table, rows in documents.items()},
            "tally": tally(documents, marks),
        }

    return header


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


def seal_history(storage: Backend, until: str, marks: Marks) -> list[tuple[str, int]]:
    """Seal every month of finished history before ``until``, one segment each,
    beside the writers. Returns the segments made and how many documents each holds
    (none on a store that keeps its history as rows)."""
    made = []
    storage.refresh()
    # The live set only: what is sealed already is finished and stays so.
    for month, keys in sorted(finished_by_month(storage.live_tables(), until).items()):
        sealed = storage.seal(f"{month}-{storage.seq}", keys, segment_header(month, marks))
        if sealed is not None:
            made.append(sealed)
    return made
