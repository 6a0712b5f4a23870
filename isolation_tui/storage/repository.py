"""The records of isolation points, kept by the rules, every change audited.

This is the one way the program changes data: each method runs in a transaction
(inside the writers' lock, after reading what other sessions wrote), checks the
domain rules against the current state, writes the record and its audit entry
together, and returns the new id. Nothing is deleted: records are corrected or
voided, and the audit keeps the before and after.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

import orjson

from ..domain import counters as counters_mod
from ..domain.codes import DEFAULT_QUARANTINE_DAYS, ID_TYPE, SEX
from ..domain.errors import FieldError
from ..domain.idnumber import normalise
from ..domain.records import (
    AuditEntry,
    Discharge,
    Incident,
    Point,
    Room,
    Stay,
    is_live,
    person_key,
    release_due,
    usable_beds,
)
from ..domain.rules import (
    action_time,
    arrival_from_fields,
    check_room,
    clean_code,
    clean_text,
    closing_fields,
    discharge_from_fields,
    extension_days,
    incident_from_fields,
    require_reason,
    shares_room,
)
from ..domain.timeparse import format_time
from .actor import Actor, current_actor
from .backend import Changes, DatabaseUrl, Location, Rehearsed, parse_location
from .database import Database, JournaledTable
from .handovers import HandoverMixin
from .health import CHECKS, TESTS, HealthMixin
from .staff import StaffBook

POINTS, STAYS, DISCHARGES, INCIDENTS, AUDIT = "points", "stays", "discharges", "incidents", "audit"


MARKS: dict[str, Callable[[Any], tuple[str, ...]]] = {
    STAYS: counters_mod.stay_marks,
    DISCHARGES: counters_mod.discharge_marks,
    INCIDENTS: counters_mod.incident_marks,
}


def _copy(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if doc is None else _deep(doc)


def _deep(value: Any) -> Any:
    """A copy of JSON-like data sharing nothing mutable, as it is stored (tuples
    become lists). Not all through ``orjson``: each small ``dumps`` leaves most of
    the memory it took behind, gigabytes over a big import's audit entries."""
    if isinstance(value, Mapping):
        return {key: _deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(item) for item in value]
    if value is None or isinstance(value, str | int | float):
        return value
    # Anything else as JSON has it (a date as its text), or refused as it would be.
    return orjson.loads(orjson.dumps(value))


class _Index:
    """Facts the rules need quickly, kept up to date change by change (not rebuilt)."""

    def __init__(self) -> None:
        self.point_ids: dict[str, int] = {}
        self.open_by_person: dict[str, int] = {}
        self.taken: dict[tuple[str, str], int] = {}
        self.open_at: dict[str, set[int]] = {}
        # Record ids per point, ascending (so newest last): lists page without a scan.
        self.ids_at: dict[tuple[str, str], list[int]] = {}
        self._point_of: dict[tuple[str, int], str] = {}
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
        self._marked: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}

    def rebuild(self, db: Database) -> None:
        self.__init__()  # type: ignore[misc]
        tables = db.storage.tables()
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
        tables = db.storage.tables()
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

    def _mark(self, tables: dict[str, dict[str, Any]], table: str, key: str) -> None:
        old = self._marked.pop((table, key), None)
        if old is not None:
            self.tally[old[0]].subtract(old[1])
        doc = tables.get(table, {}).get(key)
        marks = MARKS[table](doc) if doc is not None else ()
        if marks:
            point = doc["point"]  # type: ignore[index]
            self.tally.setdefault(point, Counter()).update(marks)
            self._marked[(table, key)] = (point, marks)

    def audit_of(self, db: Database) -> dict[tuple[str, int], list[int]]:
        """Audit entry ids by record; built on first use, since opening the store
        (a headless command, the first frame) needs no history."""
        if self._audit_of is None:
            self._audit_of = {}
            tables = db.storage.tables()
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
                by_stay[stay_id].remove(number)
            return
        under = self._indexed_under.setdefault((table, number), [])
        for stay_id in [doc["stay"]] if table == TESTS else doc.get("stays", []):
            ids = by_stay.setdefault(stay_id, [])
            if number not in ids:
                ids.append(number)
                under.append(stay_id)

    def _place_record(self, tables: dict[str, dict[str, Any]], table: str, key: str) -> None:
        """Keep ``ids_at`` right when a record is added, moved to another point, or
        rolled back. Appending is the usual case: new ids are the highest."""
        number = int(key)
        doc = tables.get(table, {}).get(key)
        new = doc["point"] if doc is not None else None
        old = self._point_of.pop((table, number), None)
        if old == new:
            if new is not None:
                self._point_of[(table, number)] = new
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
            self._point_of[(table, number)] = new

    def _reindex_stay(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        self._place_record(tables, STAYS, key)
        old = self._stay_facts.pop(key, None)
        if old is not None:
            who, room = old
            if self.open_by_person.get(who) == int(key):
                del self.open_by_person[who]
            if room[1]:
                self.taken[room] -= 1
            self.open_at[room[0]].discard(int(key))
        doc = tables.get(STAYS, {}).get(key)
        if doc is None or not is_live(doc) or doc["status"] != "open":
            return
        who = person_key(doc["person"]["id_type"], doc["person"]["id_number"])
        room = (doc["point"], doc["room"])
        self.open_by_person[who] = int(key)
        if room[1]:
            self.taken[room] = self.taken.get(room, 0) + 1
        self.open_at.setdefault(room[0], set()).add(int(key))
        self._stay_facts[key] = (who, room)


class Store(HandoverMixin, HealthMixin):
    """An open database of isolation points. Use :func:`open_store`."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self._index = _Index()
        self._room_sizes: dict[str, tuple[list[Room], list[list[Room]]]] = {}
        self._room_cursor: dict[tuple[str, int], int] = {}
        self._index.rebuild(db)
        db.storage.add_listener(lambda changes: self._index.apply(db, changes))
        self.staff = StaffBook(self)

    # ------------------------------------------------------------------ access

    @property
    def path(self) -> str:
        return str(self.db.storage.path)

    @property
    def read_only(self) -> bool:
        return self.db.storage.read_only

    def table(self, name: str) -> JournaledTable:
        return self.db.table(name)

    def rows(self, name: str) -> dict[str, Any]:
        """All documents of a table by id (the stored dicts themselves: read only)."""
        return self.db.storage.tables().get(name, {})

    def get(self, name: str, record_id: int) -> dict[str, Any] | None:
        return self.rows(name).get(str(record_id))

    def points(self) -> dict[str, Point]:
        rows = self.rows(POINTS)
        return {code: rows[str(i)] for code, i in sorted(self._index.point_ids.items())}

    def point(self, code: str) -> Point | None:
        doc_id = self._index.point_ids.get(code)
        return None if doc_id is None else self.rows(POINTS).get(str(doc_id))

    def beds_taken(self, point: str, room: str) -> int:
        return self._index.taken.get((point, room), 0)

    def open_stay_of(self, id_type: str, id_number: str) -> int | None:
        return self._index.open_by_person.get(person_key(id_type, id_number))

    def open_stays(self, point_code: str | None) -> dict[int, Stay]:
        """Open stays at one point (or all points), by id; costs what it returns."""
        rows = self.rows(STAYS)
        codes = [point_code] if point_code else list(self._index.open_at)
        return {
            stay_id: rows[str(stay_id)]
            for code in codes
            for stay_id in sorted(self._index.open_at.get(code, ()))
        }

    def history(self, table: str, record_id: int) -> list[AuditEntry]:
        """Every audit entry of one record, oldest first."""
        rows = self.rows(AUDIT)
        ids = self._index.audit_of(self.db).get((table, record_id), [])
        return [rows[str(i)] for i in sorted(ids) if str(i) in rows]

    def record_ids(self, table: str, point_code: str | None) -> Sequence[int]:
        """Ids of a table's records (stays or discharges), oldest first, at one point
        or all; costs no scan of the records."""
        if point_code is None:
            return list(map(int, self.rows(table)))
        return self._index.ids_at.get((table, point_code), [])

    RECENT_WINDOW = 5000

    def recent_audit(self, point_code: str | None, limit: int) -> list[AuditEntry]:
        """The latest changes at a point (or anywhere), newest first, among the last
        few thousand: a quiet point must not cost a scan of the whole history."""
        found: list[AuditEntry] = []
        entries = reversed(self.rows(AUDIT).values())
        for entry in itertools.islice(entries, self.RECENT_WINDOW):
            doc = self.get(entry["table"], entry["record"]) or {}
            where = doc.get("code") if entry["table"] == POINTS else doc.get("point")
            if point_code is None or where == point_code:
                found.append(entry)
                if len(found) == limit:
                    break
        return found

    def free_rooms(self, point_code: str) -> list[Room]:
        point = self.point(point_code)
        if point is None:
            return []
        return [room for room in point["rooms"] if self._has_free_bed(point_code, room)]

    def _has_free_bed(self, point_code: str, room: Room) -> bool:
        return self.beds_taken(point_code, room["code"]) < usable_beds(room)

    def occupants(self, point_code: str) -> dict[str, list[tuple[int, Stay]]]:
        """The people in isolation at a point by room, oldest stay first; costs the
        people there, not the history."""
        by_room: dict[str, list[tuple[int, Stay]]] = {}
        for stay_id, stay in self.open_stays(point_code).items():
            if stay["room"]:
                by_room.setdefault(stay["room"], []).append((stay_id, stay))
        return by_room

    def empty_room(self, point_code: str) -> Room | None:
        """Where automatic placement puts a person: an empty room, the smallest
        first (family rooms stay free for families). Each size is walked on from
        the room last given, so a bus costs its people, not people × rooms."""
        point = self.point(point_code)
        if point is None:
            return None
        cached = self._room_sizes.get(point_code)
        if cached is None or cached[0] is not point["rooms"]:
            # The rooms list is replaced whenever a point's rooms change.
            sizes: dict[int, list[Room]] = {}
            for room in point["rooms"]:
                if usable_beds(room):
                    sizes.setdefault(usable_beds(room), []).append(room)
            cached = (point["rooms"], [sizes[beds] for beds in sorted(sizes)])
            self._room_sizes[point_code] = cached
        for size, rooms in enumerate(cached[1]):
            start = self._room_cursor.get((point_code, size), 0)
            for step in range(len(rooms)):
                room = rooms[(start + step) % len(rooms)]
                if not self.beds_taken(point_code, room["code"]):
                    self._room_cursor[(point_code, size)] = (start + step + 1) % len(rooms)
                    return room
        return None

    def counters(self, today: date | None = None) -> dict[str, counters_mod.Counters]:
        """The figures of ``counters_mod.compute``, at the cost of the people in
        isolation now: the history's share is kept change by change."""
        now = self.clock()
        day = today or now.date()
        today_text = day.isoformat()
        everyone = counters_mod.Counters()
        result = {counters_mod.ALL: everyone}
        for point_doc in self.points().values():
            beds = sum(usable_beds(room) for room in point_doc["rooms"])
            for c in (result.setdefault(point_doc["code"], counters_mod.Counters()), everyone):
                c.beds += beds
                c.points += 1
        for code, tally in self._index.tally.items():
            counted = +tally  # what voids and corrections left above zero
            if not counted:
                continue
            for c in (result.setdefault(code, counters_mod.Counters()), everyone):
                for mark, times in counted.items():
                    counters_mod.add_marks(c, (mark,), times)
        for stay in self.open_stays(None).values():
            for c in (result.setdefault(stay["point"], counters_mod.Counters()), everyone):
                counters_mod.add_open_stay(c, stay, today_text)
        # Health figures look only at the people in isolation now (bounded by beds).
        for code in self.points():
            point = result.setdefault(code, counters_mod.Counters())
            point.missed_checks = self.missed_checks(code, now)
            point.tests_due = len(self.tests_due(code, day))
            everyone.missed_checks += point.missed_checks
            everyone.tests_due += point.tests_due
        self.staff.add_counts(result, now)
        return result

    def refresh(self) -> Changes:
        return self.db.refresh()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All changes inside are stored together, or none are."""
        with self.db.transaction(str(self.actor)):
            yield

    @contextlib.contextmanager
    def rehearsal(self) -> Iterator[Rehearsed]:
        """Changes inside are checked as if stored, then undone; no lock is taken.
        What they would write is kept, for ``db.storage.commit_rehearsed``."""
        with self.db.storage.rehearsal(str(self.actor)) as rehearsed:
            yield rehearsed

    def _now(self) -> str:
        return format_time(self.clock())

    def _stamp(self) -> dict[str, str]:
        """When and by whom, kept in the record: the account, and the person on duty
        when one is named (the audit entry has the rest)."""
        stamp = {"at": self._now(), "who": self.actor.os_user}
        if self.actor.on_duty:
            stamp["on_duty"] = self.actor.on_duty
        return stamp

    def _audit(
        self,
        action: str,
        table: str,
        record: int,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        reason: str = "",
    ) -> None:
        if before is not None and after is not None:
            # A change keeps only the fields it changed: the record holds the rest, and
            # a full copy per change would make the audit most of the database.
            changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
            before = {k: before.get(k) for k in sorted(changed)}
            after = {k: after.get(k) for k in sorted(changed)}
        entry = AuditEntry(
            at=self._now(),
            os_user=self.actor.os_user,
            on_duty=self.actor.on_duty,
            ssh_client_claimed=self.actor.ssh_client_claimed,
            action=action,
            table=table,
            record=record,
            before=_copy(before),
            after=_copy(after),
            reason=reason,
        )
        self._insert(AUDIT, entry)

    def _insert(self, table: str, doc: Mapping[str, Any]) -> int:
        """Inside a transaction: a new document, its id chosen in the lock. What
        TinyDB's ``insert`` does, without its wrapping per call (an import makes
        tens of thousands)."""
        storage = self.db.storage
        record_id = storage.allocate_id(table)
        storage.stage(table, str(record_id), dict(doc))
        return record_id

    def _create(self, table: str, doc: Mapping[str, Any]) -> int:
        record = dict(doc)
        record["created"] = self._stamp()
        record_id = self._insert(table, record)
        self._audit("create", table, record_id, None, record)
        return record_id

    def _change(
        self, table: str, record_id: int, changes: Mapping[str, Any], action: str, reason: str = ""
    ) -> dict[str, Any]:
        before = self.get(table, record_id)
        if before is None:
            raise FieldError("id", "error.no_record", table=table, id=record_id)
        after = {**_copy(before), **_copy(changes)}  # type: ignore[dict-item]
        self.table(table).update(after, doc_ids=[record_id])
        self._audit(action, table, record_id, before, after, reason)
        return after

    # ------------------------------------------------------------------ points

    def save_point(
        self,
        code: str,
        name: str,
        rooms: list[Room],
        address: str = "",
        quarantine_days: Mapping[str, int] | None = None,
    ) -> int:
        """Create a point, or update its name and rooms (rooms not listed are kept)."""
        code = clean_code(code, "point")[:20]
        if not code:
            raise FieldError("point", "error.required")
        # The rooms file is checked row by row; this guards every other caller.
        rooms = [
            Room(
                **{
                    **room,
                    "code": clean_code(room["code"], "room"),
                    "floor": clean_code(room.get("floor", ""), "floor"),
                }
            )
            for room in rooms
        ]
        with self.transaction():
            doc_id = self._index.point_ids.get(code)
            if doc_id is None:
                return self._create(
                    POINTS,
                    Point(
                        code=code,
                        name=clean_text(name) or code,
                        address=clean_text(address),
                        rooms=sorted(rooms, key=_room_order),
                        quarantine_days=dict(quarantine_days or DEFAULT_QUARANTINE_DAYS),
                    ),
                )
            point = cast(Point, self.get(POINTS, doc_id))
            merged = {room["code"]: room for room in point["rooms"]}
            for room in rooms:
                taken = self.beds_taken(code, room["code"])
                if taken > usable_beds(room):
                    raise FieldError(
                        "beds", "error.beds_below_taken", room=room["code"], taken=taken
                    )
                merged[room["code"]] = room
            changes: dict[str, Any] = {"rooms": sorted(merged.values(), key=_room_order)}
            if name:
                changes["name"] = clean_text(name)
            if address:
                changes["address"] = clean_text(address)
            self._change(POINTS, doc_id, changes, "correct")
            return doc_id

    # ------------------------------------------------------------------ stays

    def register_arrival(self, fields: Mapping[str, Any]) -> int:
        """A new stay from form or CSV fields. An empty room takes the first free bed."""
        with self.transaction():
            stay = arrival_from_fields(fields, self.points(), self.clock())
            self._check_person_free(stay)
            stay["room"], shares = self._place(stay["point"], stay["room"], shares_room(fields))
            if shares:
                stay["shares_with"] = shares
            stay_id = self._create(STAYS, stay)
            self.plan_tests(stay_id)
            return stay_id

    def _check_person_free(self, stay: Stay, ignore: int | None = None) -> None:
        person = stay["person"]
        other = self.open_stay_of(person["id_type"], person["id_number"])
        if other is not None and other != ignore:
            where = self.get(STAYS, other) or {}
            raise FieldError(
                "id_number", "error.already_isolated", id=other, point=where.get("point", "?")
            )

    def _place(
        self, point_code: str, room_code: str, shared: bool, ignore: int | None = None
    ) -> tuple[str, list[int]]:
        """The room a person goes to, and who is in it already. Isolation is one
        person per room: an empty room unless a room with people in it was chosen
        and confirmed as the same household or group (``shared``)."""
        point = self.point(point_code)
        assert point is not None
        if not room_code:
            room = self.empty_room(point_code)
            if room is None:
                raise FieldError("room", "error.point_full", point=point_code)
            return room["code"], []
        check_room(point, room_code, self.beds_taken(point_code, room_code))
        there = [
            (stay_id, stay)
            for stay_id, stay in self.occupants(point_code).get(room_code, [])
            if stay_id != ignore
        ]
        if there and not shared:
            raise FieldError(
                "room", "error.room_occupied", room=room_code, people=people_in_room(there)
            )
        return room_code, [stay_id for stay_id, _ in there]

    def correct_stay(self, stay_id: int, fields: Mapping[str, Any], reason: str) -> Stay:
        """Correct a stay's registration fields; every rule is checked again."""
        why = require_reason(reason)
        with self.transaction():
            before = self._stay(stay_id)
            merged = {**stay_fields(before), **fields}
            new_number = "id_number" in fields or "id_type" in fields
            if new_number and ID_TYPE.parse(merged["id_type"] or "resident_id") == "resident_id":
                # Birth date and sex came from the old number unless given again.
                for derived in ("birth_date", "sex"):
                    if derived not in fields:
                        merged[derived] = ""
            fixed = arrival_from_fields(merged, self.points(), self.clock())
            moved = (fixed["point"], fixed["room"]) != (before["point"], before["room"])
            if before["status"] == "open":
                self._check_person_free(fixed, ignore=stay_id)
                if moved or not fixed["room"]:
                    fixed["room"], shares = self._place(
                        fixed["point"], fixed["room"], shares_room(fields), ignore=stay_id
                    )
                    fixed["shares_with"] = shares
            else:
                # A finished stay's place is history its discharge also records.
                if moved:
                    raise FieldError("room", "error.closed_stay_place")
                discharge = self.get(DISCHARGES, before.get("discharge") or 0)
                if discharge and fixed["arrived_at"] > discharge["at"]:
                    raise FieldError(
                        "arrived_at", "error.after_discharge", discharged=discharge["at"]
                    )
            changes = {
                k: fixed[k]  # type: ignore[literal-required]
                for k in (
                    "point",
                    "room",
                    "person",
                    "origin",
                    "transport",
                    "category",
                    "arrived_at",
                    "quarantine_days",
                    "notes",
                )
            }
            if "shares_with" in fixed:
                changes["shares_with"] = fixed["shares_with"]
            changes["release_due"] = release_due(
                fixed["arrived_at"], fixed["quarantine_days"], before["extensions"]
            )
            corrected = cast(Stay, self._change(STAYS, stay_id, changes, "correct", why))
            if corrected["status"] == "open":
                self.plan_tests(stay_id)
            else:
                # A finished stay keeps its tests; their planned dates follow its arrival.
                self.redate_tests(stay_id)
            return corrected

    def extend_stay(self, stay_id: int, days: str, reason: str) -> Stay:
        """Lengthen (or, with negative days, shorten) an open stay's quarantine."""
        why = require_reason(reason)
        with self.transaction():
            stay = self._stay(stay_id)
            if stay["status"] != "open":
                raise FieldError("id", "error.stay_not_open")
            extra = extension_days(days, stay)
            extensions = [
                *stay["extensions"],
                {"days": extra, "reason": why, **self._stamp()},
            ]
            changes = {
                "extensions": extensions,
                "release_due": release_due(stay["arrived_at"], stay["quarantine_days"], extensions),
            }
            extended = cast(Stay, self._change(STAYS, stay_id, changes, "extend", why))
            self.plan_tests(stay_id)
            return extended

    def _stay(self, stay_id: int) -> Stay:
        stay = self.get(STAYS, stay_id)
        if stay is None or not is_live(stay):
            raise FieldError("id", "error.no_record", table=STAYS, id=stay_id)
        return cast(Stay, stay)

    # ------------------------------------------------------------------ discharges

    def find_open_stay(self, fields: Mapping[str, Any]) -> int | None:
        """The open stay named by ``stay`` (an id) or by ``id_type`` and ``id_number``."""
        raw_id = clean_text(fields.get("stay", ""))
        if raw_id:
            return int(raw_id) if raw_id.isdecimal() and self.get(STAYS, int(raw_id)) else None
        id_type = ID_TYPE.parse(clean_text(fields.get("id_type", "")) or "resident_id") or ""
        return self.open_stay_of(id_type, normalise(clean_text(fields.get("id_number", ""))))

    def discharge(self, fields: Mapping[str, Any]) -> int:
        """Discharge an open stay (named by ``stay`` or by ID type and number)."""
        with self.transaction():
            stay_id = self.find_open_stay(fields)
            stay = self.get(STAYS, stay_id) if stay_id is not None else None
            record = discharge_from_fields(fields, cast(Stay | None, stay), self.clock())
            assert stay_id is not None
            record["stay"] = stay_id
            if record["kind"] == "released_home":
                record["test_override"] = self.release_override(
                    stay_id, str(fields.get("override", ""))
                )
            discharge_id = self._create(DISCHARGES, record)
            self._change(
                STAYS, stay_id, {"status": "discharged", "discharge": discharge_id}, "discharge"
            )
            return discharge_id

    def correct_discharge(
        self, discharge_id: int, fields: Mapping[str, Any], reason: str
    ) -> Discharge:
        """Correct a discharge's time, kind, destination, test or certificate."""
        why = require_reason(reason)
        with self.transaction():
            before = self.get(DISCHARGES, discharge_id)
            if before is None or not is_live(before):
                raise FieldError("id", "error.no_record", table=DISCHARGES, id=discharge_id)
            stay = {**self._stay(before["stay"]), "status": "open"}
            fixed = discharge_from_fields(
                {**discharge_fields(before), **fields}, cast(Stay, stay), self.clock()
            )
            changes = {
                k: fixed[k]  # type: ignore[literal-required]
                for k in ("at", "kind", "destination", "negative_test", "certificate", "notes")
            }
            return cast(Discharge, self._change(DISCHARGES, discharge_id, changes, "correct", why))

    def void(self, table: str, record_id: int, reason: str) -> None:
        """Void a record (it stays stored, counts for nothing). Voiding a discharge
        reopens its stay; voiding a stay (an arrival entered by mistake) voids its
        discharge, its pending tests and the drafts raised about it too."""
        why = require_reason(reason)
        with self.transaction():
            doc = self.get(table, record_id)
            if doc is None or not is_live(doc):
                raise FieldError("id", "error.no_record", table=table, id=record_id)
            voided = {"voided": {**self._stamp(), "reason": why}}
            if table == DISCHARGES:
                stay = self._stay(doc["stay"])
                self._check_person_free(stay, ignore=doc["stay"])
                if stay["room"]:
                    self._check_room_back(stay)
                self._change(table, record_id, voided, "void", why)
                self._change(
                    STAYS, doc["stay"], {"status": "open", "discharge": None}, "reopen", why
                )
                return
            if table == STAYS:
                if doc.get("discharge"):
                    self._change(DISCHARGES, doc["discharge"], voided, "void", why)
                for test_id, test in self.tests_of(record_id):
                    if test["result"] == "pending":
                        self._change(TESTS, test_id, voided, "void", why)
                for incident_id in self._index.incidents_of.get(record_id, []):
                    incident = self.get(INCIDENTS, incident_id) or {}
                    if incident.get("status") == "draft" and is_live(incident):
                        self._change(INCIDENTS, incident_id, voided, "void", why)
            self._change(table, record_id, voided, "void", why)

    def _check_room_back(self, stay: Stay) -> None:
        """A voided discharge puts the person back in their room: say so in the void
        form's terms (it has no room field) when the room has been given away since."""
        point = self.point(stay["point"])
        assert point is not None
        taken = self.beds_taken(stay["point"], stay["room"])
        try:
            check_room(point, stay["room"], taken)
        except FieldError as exc:
            now_there = [
                other["person"]["name"]
                for other in self.open_stays(stay["point"]).values()
                if other["room"] == stay["room"]
            ]
            raise FieldError(
                "void",
                "error.void_room_taken",
                room=stay["room"],
                name=stay["person"]["name"],
                now_there=", ".join(now_there) or "-",
            ) from exc

    # ------------------------------------------------------------------ incidents

    def open_incident(self, fields: Mapping[str, Any], stays: list[int] | None = None) -> int:
        with self.transaction():
            incident = incident_from_fields(fields, self.points(), self.clock())
            for stay_id in stays or []:
                self._stay(stay_id)
            incident["stays"] = list(stays or [])
            return self._create(INCIDENTS, incident)

    def add_action(self, incident_id: int, what: str, at: str = "") -> Incident:
        """Record an action taken; ``at`` (default now) when it was taken."""
        text = clean_text(what)
        if not text:
            raise FieldError("what", "error.required")
        with self.transaction():
            incident = self._incident(incident_id)
            when = action_time(incident, at, self.clock())
            actions = [*incident["actions"], {**self._stamp(), "at": when, "what": text}]
            return cast(Incident, self._change(INCIDENTS, incident_id, {"actions": actions}, "act"))

    def close_incident(self, incident_id: int, resolution: str, handled_at: str = "") -> Incident:
        with self.transaction():
            incident = self._incident(incident_id)
            changes = closing_fields(incident, resolution, handled_at, self.clock())
            return cast(Incident, self._change(INCIDENTS, incident_id, changes, "close"))

    def reopen_incident(self, incident_id: int, reason: str) -> Incident:
        why = require_reason(reason)
        with self.transaction():
            incident = self._incident(incident_id)
            if incident["status"] != "handled":
                raise FieldError("status", "error.not_handled")
            changes = {"status": "open", "handled_at": "", "resolution": ""}
            return cast(Incident, self._change(INCIDENTS, incident_id, changes, "reopen", why))

    def _incident(self, incident_id: int) -> Incident:
        incident = self.get(INCIDENTS, incident_id)
        if incident is None or not is_live(incident):
            raise FieldError("id", "error.no_record", table=INCIDENTS, id=incident_id)
        return cast(Incident, incident)


def people_in_room(there: Sequence[tuple[int, Stay]]) -> str:
    """Who is in a room, as a form or message names them: ``张三 (male), 李四 (female)``."""
    return ", ".join(
        f"{stay['person']['name']} ({SEX.label(stay['person']['sex'])})" for _, stay in there
    )


def _room_order(room: Room) -> tuple[str, int, str]:
    code = room["code"]
    digits = "".join(ch for ch in code if ch.isdecimal())
    return (room.get("floor", ""), int(digits) if digits else 0, code)


PERSON_FIELDS = ("name", "sex", "birth_date", "id_type", "id_number", "nationality", "phone")
ARRIVAL_FIELDS = (
    "point",
    "room",
    *PERSON_FIELDS,
    "origin",
    "transport",
    "category",
    "arrived_at",
    "quarantine_days",
    "notes",
)


def stay_fields(stay: Stay) -> dict[str, str]:
    """A stay as the text fields it was registered from (for corrections and export)."""
    person: Mapping[str, Any] = stay["person"]
    record: Mapping[str, Any] = stay
    return {
        name: str(person[name] if name in PERSON_FIELDS else record[name])
        for name in ARRIVAL_FIELDS
    }


def discharge_fields(discharge: Mapping[str, Any]) -> dict[str, str]:
    """A discharge as the text fields it was recorded from."""
    return {
        "discharged_at": discharge["at"],
        "kind": discharge["kind"],
        "destination": discharge["destination"],
        "negative_test": "yes" if discharge["negative_test"] else "no",
        "certificate": discharge["certificate"],
        "notes": discharge["notes"],
    }


def open_store(
    path: str | os.PathLike[str] | Location,
    *,
    create: bool = False,
    read_only: bool = False,
    actor: Actor | None = None,
    clock: Callable[[], datetime] = datetime.now,
) -> Store:
    actor = actor or current_actor()
    location = path if isinstance(path, DatabaseUrl) else parse_location(path)
    db = Database(location, create=create, create_dirs=create, read_only=read_only, who=str(actor))
    return Store(db, actor, clock)
