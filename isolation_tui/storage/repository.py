"""The records of isolation points, kept by the rules, every change audited.

The store is the one way the program changes data: each change runs in its
transaction (inside the writers' lock, after reading what other sessions wrote),
checks the domain rules against the current state, writes the record and its
audit entry together, and returns the new id. Nothing is deleted: records are
corrected or voided, and the audit keeps the before and after.

This module holds the core: the tables and what is read from them, the
transaction and rehearsal, the audit stamping every service writes through, the
figures, and points. Each subject's changes are a service that takes the store
(``store.stays``, ``store.incidents``, ``store.health``, ``store.handovers``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, cast

import orjson

from ..domain import counters as counters_mod
from ..domain.codes import DEFAULT_QUARANTINE_DAYS, ID_TYPE
from ..domain.errors import FieldError
from ..domain.idnumber import normalise
from ..domain.records import AuditEntry, Point, Room, Stay, is_live, person_key, usable_beds
from ..domain.rules import clean_code, clean_text
from ..domain.timeparse import format_time
from .actor import Actor, current_actor
from .backend import Changes, DatabaseUrl, Location, Rehearsed, parse_location
from .database import Database, JournaledTable, stored_form
from .handovers import HandoverService
from .health import HealthService
from .history import MergedIds, sealed_ids
from .incidents import IncidentService
from .index import Index
from .staff import StaffService
from .stays import StayService
from .supplies import SupplyService
from .tables import AUDIT, POINTS, STAYS


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


class Store:
    """An open database of isolation points. Use :func:`open_store`.

    The core every service shares: the tables and what is read from them, the
    transaction, the audit stamped on every change, the figures. What a change
    means for a subject is in its service: ``stays``, ``incidents``, ``health``,
    ``handovers``, ``supplies``."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.db = db
        self.actor = actor
        self.clock = clock
        self._index = Index()
        self._room_sizes: dict[str, tuple[list[Room], list[list[Room]]]] = {}
        self._room_cursor: dict[tuple[str, int], int] = {}
        self._walked: dict[str, tuple[tuple[int, int], dict[str, list[int]]]] = {}
        self.written: dict[str, int] = {}
        """The record this session wrote last, by table: the lists put their cursor on it."""
        self._index.rebuild(db)
        db.storage.add_listener(self._heard)
        self.stays = StayService(self)
        self.incidents = IncidentService(self)
        self.health = HealthService(self)
        self.handovers = HandoverService(self)
        self.staff = StaffService(self)
        self.supplies = SupplyService(self)

    def _heard(self, changes: Changes) -> None:
        if changes.reloaded:
            # The rooms of the point as it was read before: kept here, they would
            # stay in memory beside those read now (200,000 rooms, twice).
            self._room_sizes.clear()
        self._index.apply(self.db, changes)

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
        """All documents of a table by id (the stored dicts themselves: read only),
        sealed history included (read in when it is not yet)."""
        return self.db.storage.tables().get(name, {})

    def parts(self, name: str) -> Iterator[dict[str, Any]]:
        """Every document of a table, a part at a time: sealed history segment by
        segment (oldest first), then the live set; memory holds a few segments,
        never the whole history."""
        yield from self.sealed_parts(name)
        yield self.live_rows(name)

    def sealed_parts(self, name: str) -> Iterator[dict[str, Any]]:
        """The documents of a table in sealed history and not in the live set, a
        segment at a time: it reads files only, so a worker thread may walk it while
        the terminal program goes on (the live set stays the UI thread's)."""
        return self.db.storage.sealed_parts(name)

    def history_sealed(self) -> bool:
        """Whether some history is sealed away (not in memory): a search then has
        more to read than the live set."""
        return bool(self.db.storage.sealed_outside()[0])

    def live_rows(self, name: str) -> dict[str, Any]:
        """The documents of a table in the live set: enough for the people in
        isolation now and what is not finished, never sealed history."""
        return self.db.storage.live_tables().get(name, {})

    def get(self, name: str, record_id: int) -> dict[str, Any] | None:
        return self.db.storage.document(name, str(record_id))

    def points(self) -> dict[str, Point]:
        rows = self.live_rows(POINTS)
        return {code: rows[str(i)] for code, i in sorted(self._index.point_ids.items())}

    def point(self, code: str) -> Point | None:
        doc_id = self._index.point_ids.get(code)
        return None if doc_id is None else self.live_rows(POINTS).get(str(doc_id))

    def beds_taken(self, point: str, room: str) -> int:
        return len(self._index.in_room.get((point, room), ()))

    def open_stay_of(self, id_type: str, id_number: str) -> int | None:
        return self._index.open_by_person.get(person_key(id_type, id_number))

    def open_stays(self, point_code: str | None) -> dict[int, Stay]:
        """Open stays at one point (or all points), by id; costs what it returns."""
        rows = self.live_rows(STAYS)
        codes = [point_code] if point_code else list(self._index.open_at)
        return {
            stay_id: rows[str(stay_id)]
            for code in codes
            for stay_id in sorted(self._index.open_at.get(code, ()))
        }

    def history(self, table: str, record_id: int) -> list[AuditEntry]:
        """Every audit entry of one record, oldest first: those sealed with it read
        from the one segment that holds it, the rest from the live set."""
        rows = self.live_rows(AUDIT)
        ids = self._index.audit_of(self.db).get((table, record_id), [])
        found = {i: rows[str(i)] for i in ids if str(i) in rows}
        for key, entry in self.db.storage.sealed_with(table, str(record_id), AUDIT, "record"):
            found[int(key)] = entry
        return [found[i] for i in sorted(found)]

    def entered_by(self, table: str, record_id: int) -> Mapping[str, Any]:
        """Who entered the values a record holds now (the stamp of its last change,
        which a correction makes, not of its creation)."""
        history = self.history(table, record_id)
        if history:
            return history[-1]
        return (self.get(table, record_id) or {}).get("created", {})

    def record_ids(self, table: str, point_code: str | None) -> Sequence[int]:
        """Ids of a table's records (stays or discharges), oldest first, at one point
        or all; costs no scan of the records, and reads no sealed history: its ids
        are in the segments' headers."""
        sealed = self.sealed_ids(table, point_code)
        if point_code is None:
            live: Sequence[int] = list(map(int, self.live_rows(table)))
        else:
            live = self._index.ids_at.get((table, point_code), [])
        return MergedIds(sealed, live) if sealed else live

    def sealed_ids(self, table: str, point_code: str | None) -> Sequence[int]:
        """Ids of a table's sealed records not in the live set (stays, discharges,
        incidents), ascending, at one point or all, from the segments' headers."""
        headers, replaced = self.db.storage.sealed_outside()
        if not headers:
            return array("q")
        sealed = sealed_ids(headers, replaced, table, point_code)
        if sealed is not None:
            return sealed
        # Segments sealed before their headers listed these ids: walked once, a month
        # at a time, keeping the ids of every point (never the records).
        seen = (id(headers), len(headers))
        walked = self._walked.get(table)
        if walked is None or walked[0] != seen:
            by_point: dict[str, list[int]] = {}
            for part in self.db.storage.sealed_parts(table):
                for key, doc in part.items():
                    by_point.setdefault(doc["point"], []).append(int(key))
            walked = self._walked[table] = (seen, {p: sorted(i) for p, i in by_point.items()})
        points = walked[1].values() if point_code is None else [walked[1].get(point_code, [])]
        gone = {int(key) for key in replaced.get(table, {})}
        return array("q", (n for n in heapq.merge(*points) if n not in gone))

    RECENT_WINDOW = 5000

    def recent_audit(self, point_code: str | None, limit: int) -> list[AuditEntry]:
        """The latest changes at a point (or anywhere), newest first, among the last
        few thousand: a quiet point must not cost a scan of the whole history, nor a
        read of sealed months but those holding some of the last few thousand."""
        storage = self.db.storage
        headers, _ = storage.sealed_outside()
        rows = self.live_rows(AUDIT) if headers else self.rows(AUDIT)
        above = storage.max_id(AUDIT) - self.RECENT_WINDOW
        latest = {
            int(key): entry
            for key, entry in itertools.takewhile(
                lambda item: int(item[0]) > above, reversed(rows.items())
            )
        }
        if any(h.get("ids", {}).get(AUDIT, 0) > above for h in headers):
            # Sealed entries among the last few thousand: the months holding them.
            for part in storage.sealed_parts(AUDIT, above):
                latest.update((int(key), entry) for key, entry in part.items())
        found: list[AuditEntry] = []
        for number in sorted(latest, reverse=True):
            entry = latest[number]
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

    def in_room(self, point_code: str, room_code: str) -> list[tuple[int, Stay]]:
        """The people in isolation in one room, oldest stay first; costs them only."""
        rows = self.live_rows(STAYS)
        return [(i, rows[str(i)]) for i in self._index.in_room.get((point_code, room_code), ())]

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
            point.missed_checks = self.health.missed_checks(code, now)
            point.tests_due = len(self.health.tests_due(code, day))
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
        self.written[table] = record

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
        with self.transaction():
            # Staged as the one document it is: TinyDB's ``update`` reads the whole
            # table, which would read all sealed history in for a change to the
            # live set.
            self.db.storage.stage(table, str(record_id), stored_form(after))
            self.table(table).clear_cache()
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

    # ------------------------------------------------------------------ stays read

    def _stay(self, stay_id: int) -> Stay:
        stay = self.get(STAYS, stay_id)
        if stay is None or not is_live(stay):
            raise FieldError("id", "error.no_record", table=STAYS, id=stay_id)
        return cast(Stay, stay)

    def find_open_stay(self, fields: Mapping[str, Any]) -> int | None:
        """The open stay named by ``stay`` (an id) or by ``id_type`` and ``id_number``."""
        raw_id = clean_text(fields.get("stay", ""))
        if raw_id:
            return int(raw_id) if raw_id.isdecimal() and self.get(STAYS, int(raw_id)) else None
        id_type = ID_TYPE.parse(clean_text(fields.get("id_type", "")) or "resident_id") or ""
        return self.open_stay_of(id_type, normalise(clean_text(fields.get("id_number", ""))))


def _room_order(room: Room) -> tuple[str, int, str]:
    code = room["code"]
    digits = "".join(ch for ch in code if ch.isdecimal())
    return (room.get("floor", ""), int(digits) if digits else 0, code)


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
