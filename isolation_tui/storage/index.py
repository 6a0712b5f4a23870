"""The in-memory indexes kept over the tables: what the rules and the screens need
quickly (open stays by person and room, records per point, checks and tests per
stay, the history's tallies), kept up to date change by change as the journal
reports it, never rebuilt for a save."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..domain import counters as counters_mod
from ..domain.records import is_live, person_key
from .backend import Changes
from .database import Database
from .tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, POINTS, STAYS, TESTS

MARKS: dict[str, Callable[[Any], tuple[str, ...]]] = {
    STAYS: counters_mod.stay_marks,
    DISCHARGES: counters_mod.discharge_marks,
    INCIDENTS: counters_mod.incident_marks,
}


class Index:
    """Facts the rules need quickly, kept up to date change by change (not rebuilt)."""

    def __init__(self) -> None:
        self.point_ids: dict[str, int] = {}
        self.open_by_person: dict[str, int] = {}
        # The open stays in each room, oldest first: placing a person in a named room
        # looks at that room's people, not at everyone at the point; their number is
        # the beds taken.
        self.in_room: dict[tuple[str, str], tuple[int, ...]] = {}
        self.open_at: dict[str, set[int]] = {}
        # Record ids per point, ascending (so newest last): lists page without a scan.
        self.ids_at: dict[tuple[str, str], list[int]] = {}
        # Per table, the point each record is listed under. This and ``_marked``
        # (whose values are one tuple per point and marks, shared) hold an entry for
        # every record, in as few objects as can be: an import indexes a whole bus.
        self._point_of: dict[str, dict[int, str]] = {}
        self._audit_of: dict[tuple[str, int], list[int]] | None = None
        self.check_of: dict[tuple[int, str, str], int] = {}
        self.checks_of_stay: dict[int, set[int]] = {}
        self.tests_of: dict[int, list[int]] = {}
        self.incidents_of: dict[int, list[int]] = {}
        # What each check, test and incident was indexed under, so that taking one out
        # (a rollback takes out thousands) costs no scan of every stay's list.
        self._check_key: dict[int, tuple[int, str, str]] = {}
        self._indexed_under: dict[tuple[str, int], list[int]] = {}
        self._audit_record: dict[int, tuple[str, int]] = {}
        self._stay_facts: dict[str, tuple[str, tuple[str, str]] | None] = {}
        self._point_codes: dict[str, str] = {}
        # The figures that count all history (received, discharges, incidents), per
        # point, kept change by change: a save recounts one record, not the database.
        self.tally: dict[str, Counter[str]] = {}
        self._marked: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
        self._marks: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}

    def rebuild(self, db: Database) -> None:
        """Index the documents in memory: the live set, with the counts of sealed
        history not in memory taken from its headers (history is indexed when it is
        read in: the store reports that as a reload)."""
        self.__init__()  # type: ignore[misc]
        tables = db.storage.live_tables()
        headers, replaced = db.storage.sealed_outside()
        for header in headers:
            for point, marks in header["tally"].items():
                self.tally.setdefault(point, Counter()).update(marks)
        for table, mark in MARKS.items():
            for doc in replaced.get(table, {}).values():
                # Sealed, then changed or removed: counted now as it is, if at all.
                if mark(doc):
                    self.tally.setdefault(doc["point"], Counter()).subtract(mark(doc))
        for key in tables.get(POINTS, {}):
            self._reindex_point(tables, key)
        for key in tables.get(STAYS, {}):
            self._reindex_stay(tables, key)
        for key in tables.get(DISCHARGES, {}):
            self._place_record(tables, DISCHARGES, key)
        for table in (CHECKS, TESTS, INCIDENTS):
            for key in tables.get(table, {}):
                self._index_health(tables, table, key)
        for table in MARKS:
            for key in tables.get(table, {}):
                self._mark(tables, table, key)

    def apply(self, db: Database, changes: Changes) -> None:
        if changes.reloaded:
            self.rebuild(db)
            return
        tables = db.storage.live_tables()
        for table, key in changes.keys:
            if table in MARKS:
                self._mark(tables, table, key)
            if table == STAYS:
                self._reindex_stay(tables, key)
            elif table == DISCHARGES:
                self._place_record(tables, DISCHARGES, key)
            elif table in (CHECKS, TESTS, INCIDENTS):
                self._index_health(tables, table, key)
            elif table == POINTS:
                self._reindex_point(tables, key)
            elif table == AUDIT and self._audit_of is not None:
                self._index_audit(tables, key)
        for header in changes.sealed:
            # Sealed out of memory: counted by their segment's header, as at opening.
            for point, marks in header["tally"].items():
                self.tally.setdefault(point, Counter()).update(marks)

    def _mark(self, tables: dict[str, dict[str, Any]], table: str, key: str) -> None:
        marked = self._marked.setdefault(table, {})
        old = marked.pop(key, None)
        if old is not None:
            self.tally[old[0]].subtract(old[1])
        doc = tables.get(table, {}).get(key)
        marks = MARKS[table](doc) if doc is not None else ()
        if marks:
            point = doc["point"]  # type: ignore[index]
            self.tally.setdefault(point, Counter()).update(marks)
            pair = (point, marks)
            marked[key] = self._marks.setdefault(pair, pair)

    def audit_of(self, db: Database) -> dict[tuple[str, int], list[int]]:
        """Audit entry ids by record in the live set (sealed history's are read with
        their record's segment: ``Store.history``); built on first use, since
        opening the store (a headless command, the first frame) needs none."""
        if self._audit_of is None:
            tables = db.storage.live_tables()
            self._audit_of = {}
            for key in tables.get(AUDIT, {}):
                self._index_audit(tables, key)
        return self._audit_of

    def _index_audit(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        """Audit entries are only ever added (a rollback removes the newest)."""
        assert self._audit_of is not None
        entry = tables.get(AUDIT, {}).get(key)
        number = int(key)
        old = self._audit_record.pop(number, None)
        if old is not None:
            self._audit_of[old].remove(number)
        if entry is not None:
            record = (entry["table"], entry["record"])
            self._audit_of.setdefault(record, []).append(number)
            self._audit_record[number] = record

    def _reindex_point(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        old = self._point_codes.pop(key, None)
        if old is not None:
            self.point_ids.pop(old, None)
        doc = tables.get(POINTS, {}).get(key)
        if doc is not None:
            self.point_ids[doc["code"]] = int(key)
            self._point_codes[key] = doc["code"]

    def _index_health(self, tables: dict[str, dict[str, Any]], table: str, key: str) -> None:
        """Checks by (stay, day, round); tests and incidents by stay. These
        records are added, changed in place or rolled back, never moved to another stay."""
        number = int(key)
        doc = tables.get(table, {}).get(key)
        if table == CHECKS:
            if doc is not None:
                slot = (doc["stay"], doc["day"], doc["round"])
                self.check_of[slot] = number
                self._check_key[number] = slot
                self.checks_of_stay.setdefault(doc["stay"], set()).add(number)
            else:
                stale = self._check_key.pop(number, None)
                if stale is not None:
                    self.checks_of_stay.get(stale[0], set()).discard(number)
                    if self.check_of.get(stale) == number:
                        del self.check_of[stale]
            return
        by_stay = self.tests_of if table == TESTS else self.incidents_of
        if doc is None:
            for stay_id in self._indexed_under.pop((table, number), []):
                ids = by_stay[stay_id]
                ids.remove(number)
                if not ids:
                    del by_stay[stay_id]
            return
        under = self._indexed_under.setdefault((table, number), [])
        for stay_id in [doc["stay"]] if table == TESTS else doc.get("stays", []):
            ids = by_stay.setdefault(stay_id, [])
            if number not in ids:
                ids.append(number)
                under.append(stay_id)

    def _place_record(
        self, tables: dict[str, dict[str, Any]], table: str, key: str, number: int | None = None
    ) -> None:
        """Keep ``ids_at`` right when a record is added, moved to another point, or
        rolled back. Appending is the usual case: new ids are the highest."""
        number = int(key) if number is None else number
        doc = tables.get(table, {}).get(key)
        new = doc["point"] if doc is not None else None
        point_of = self._point_of.setdefault(table, {})
        old = point_of.pop(number, None)
        if old == new:
            if new is not None:
                point_of[number] = new
            return
        if old is not None:
            ids = self.ids_at[(table, old)]
            # Sorted: found by bisection, and the newest (what a rollback takes out
            # first) sits at the end, so nothing is scanned or moved.
            del ids[bisect.bisect_left(ids, number)]
        if new is not None:
            ids = self.ids_at.setdefault((table, new), [])
            if not ids or ids[-1] < number:
                ids.append(number)
            else:
                bisect.insort(ids, number)
            point_of[number] = new

    def _reindex_stay(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        number = int(key)  # one int for every entry of this stay
        self._place_record(tables, STAYS, key, number)
        old = self._stay_facts.pop(key, None)
        if old is not None:
            who, room = old
            if self.open_by_person.get(who) == number:
                del self.open_by_person[who]
            if room[1]:
                left = tuple(other for other in self.in_room.get(room, ()) if other != number)
                if left:
                    self.in_room[room] = left
                else:
                    self.in_room.pop(room, None)
            self.open_at[room[0]].discard(number)
        doc = tables.get(STAYS, {}).get(key)
        if doc is None or not is_live(doc) or doc["status"] != "open":
            return
        who = person_key(doc["person"]["id_type"], doc["person"]["id_number"])
        room = (doc["point"], doc["room"])
        self.open_by_person[who] = number
        if room[1]:
            self.in_room[room] = tuple(sorted((*self.in_room.get(room, ()), number)))
        self.open_at.setdefault(room[0], set()).add(number)
        self._stay_facts[key] = (who, room)
