"""Writing stays: arrivals registered and placed in a room, corrected, extended,
discharged, and records voided. Each change runs in the store's transaction and
is audited by it; the health service replans the stay's tests as it changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from ..domain.codes import ID_TYPE, SEX
from ..domain.errors import FieldError
from ..domain.records import Discharge, Stay, is_live, release_due, usable_beds
from ..domain.rules import (
    arrival_from_fields,
    check_room,
    clean_text,
    discharge_from_fields,
    extension_days,
    require_reason,
    shares_room,
)
from .service import Service
from .tables import DISCHARGES, INCIDENTS, STAYS, TESTS


class StayService(Service):
    """Arrivals, corrections, extensions, discharges and voids (``store.stays``)."""

    def register(self, fields: Mapping[str, Any]) -> int:
        """A new stay from form or CSV fields. An empty room takes the first free bed."""
        with self.store.transaction():
            stay = arrival_from_fields(fields, self.store.points(), self.store.clock())
            self._check_person_free(stay)
            stay["room"], shares = self._place(stay["point"], stay["room"], shares_room(fields))
            if shares:
                stay["shares_with"] = shares
            stay_id = self.store._create(STAYS, stay)
            self.store.health.plan(stay_id)
            return stay_id

    def check_arrival(self, fields: Mapping[str, Any], stay_id: int | None = None) -> None:
        """Raise what a save of these arrival fields (a new one, or a correction of
        ``stay_id``) would refuse before placing the person, storing nothing: a form
        asks its questions (a shared room, an unusual time) only of fields that hold."""
        stay = arrival_from_fields(fields, self.store.points(), self.store.clock())
        before = self.store.get(STAYS, stay_id) if stay_id is not None else None
        if before is None or before["status"] == "open":
            self._check_person_free(stay, ignore=stay_id)
        if stay_id is not None:
            require_reason(str(fields.get("reason", "")))

    def _check_person_free(self, stay: Stay, ignore: int | None = None) -> None:
        person = stay["person"]
        other = self.store.open_stay_of(person["id_type"], person["id_number"])
        if other is not None and other != ignore:
            where = self.store.get(STAYS, other) or {}
            raise FieldError(
                "id_number", "error.already_isolated", id=other, point=where.get("point", "?")
            )

    def _place(
        self, point_code: str, room_code: str, shared: bool, ignore: int | None = None
    ) -> tuple[str, list[int]]:
        """The room a person goes to, and who is in it already. Isolation is one
        person per room: an empty room unless a room with people in it was chosen
        and confirmed as the same household or group (``shared``)."""
        point = self.store.point(point_code)
        assert point is not None
        if not room_code:
            room = self.store.empty_room(point_code)
            if room is None and not self.store.free_rooms(point_code):
                # No bed anywhere: sharing a room is no way out either.
                beds = sum(usable_beds(r) for r in point["rooms"])
                raise FieldError("room", "error.point_no_bed", point=point_code, beds=beds)
            if room is None:
                raise FieldError("room", "error.point_full", point=point_code)
            return room["code"], []
        check_room(point, room_code, self.store.beds_taken(point_code, room_code))
        there = [
            (stay_id, stay)
            for stay_id, stay in self.store.in_room(point_code, room_code)
            if stay_id != ignore
        ]
        if there and not shared:
            raise FieldError(
                "room", "error.room_occupied", room=room_code, people=people_in_room(there)
            )
        return room_code, [stay_id for stay_id, _ in there]

    def correct(self, stay_id: int, fields: Mapping[str, Any], reason: str) -> Stay:
        """Correct a stay's registration fields; every rule is checked again."""
        why = require_reason(reason)
        with self.store.transaction():
            before = self.store._stay(stay_id)
            merged = {**stay_fields(before), **fields}
            new_number = "id_number" in fields or "id_type" in fields
            if new_number and ID_TYPE.parse(merged["id_type"] or "resident_id") == "resident_id":
                # Birth date and sex came from the old number unless given again.
                for derived in ("birth_date", "sex"):
                    if derived not in fields:
                        merged[derived] = ""
            fixed = arrival_from_fields(merged, self.store.points(), self.store.clock())
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
                discharge = self.store.get(DISCHARGES, before.get("discharge") or 0)
                if discharge and fixed["arrived_at"] > discharge["at"]:
                    raise FieldError(
                        "arrived_at", "error.after_discharge", discharged=discharge["at"]
                    )
            changes = {
                k: fixed[k]  # type: ignore[literal-required]
                for k in ("person", *(f for f in ARRIVAL_FIELDS if f not in PERSON_FIELDS))
            }
            if "shares_with" in fixed:
                changes["shares_with"] = fixed["shares_with"]
            changes["release_due"] = release_due(
                fixed["arrived_at"], fixed["quarantine_days"], before["extensions"]
            )
            corrected = cast(Stay, self.store._change(STAYS, stay_id, changes, "correct", why))
            if corrected["status"] == "open":
                self.store.health.plan(stay_id)
            else:
                # A finished stay keeps its tests; their planned dates follow its arrival.
                self.store.health.redate(stay_id)
            return corrected

    def extend(self, stay_id: int, days: str, reason: str) -> Stay:
        """Lengthen (or, with negative days, shorten) an open stay's quarantine."""
        why = require_reason(reason)
        with self.store.transaction():
            stay = self.store._stay(stay_id)
            if stay["status"] != "open":
                raise FieldError("id", "error.stay_not_open")
            extra = extension_days(days, stay)
            extensions = [
                *stay["extensions"],
                {"days": extra, "reason": why, **self.store._stamp()},
            ]
            changes = {
                "extensions": extensions,
                "release_due": release_due(stay["arrived_at"], stay["quarantine_days"], extensions),
            }
            extended = cast(Stay, self.store._change(STAYS, stay_id, changes, "extend", why))
            self.store.health.plan(stay_id)
            return extended

    def discharge(self, fields: Mapping[str, Any]) -> int:
        """Discharge an open stay (named by ``stay`` or by ID type and number)."""
        with self.store.transaction():
            stay_id = self.store.find_open_stay(fields)
            stay = self.store.get(STAYS, stay_id) if stay_id is not None else None
            record = discharge_from_fields(fields, cast(Stay | None, stay), self.store.clock())
            assert stay_id is not None
            record["stay"] = stay_id
            self.store.health.check_leave(stay_id, record["at"])
            if record["kind"] == "released_home":
                record["test_override"] = self.store.health.release_override(
                    stay_id, str(fields.get("override", ""))
                )
            discharge_id = self.store._create(DISCHARGES, record)
            self.store._change(
                STAYS, stay_id, {"status": "discharged", "discharge": discharge_id}, "discharge"
            )
            return discharge_id

    def correct_discharge(
        self, discharge_id: int, fields: Mapping[str, Any], reason: str
    ) -> Discharge:
        """Correct a discharge's time, kind, destination, test or certificate."""
        why = require_reason(reason)
        with self.store.transaction():
            before = self.store.get(DISCHARGES, discharge_id)
            if before is None:
                raise FieldError("id", "error.no_record", table=DISCHARGES, id=discharge_id)
            refused = self.already_voided(DISCHARGES, discharge_id)
            if refused is not None:
                raise refused
            stay = {**self.store._stay(before["stay"]), "status": "open"}
            fixed = discharge_from_fields(
                {**discharge_fields(before), **fields}, cast(Stay, stay), self.store.clock()
            )
            self.store.health.check_leave(before["stay"], fixed["at"])
            changes: dict[str, Any] = {
                k: fixed[k]  # type: ignore[literal-required]
                for k in ("at", "kind", "destination", "negative_test", "certificate", "notes")
            }
            # The hold is about going home: another kind keeps no override, and a kind
            # corrected to release home is held as a new discharge would be.
            override = ""
            if fixed["kind"] == "released_home":
                given = fields.get("override", before.get("test_override", ""))
                # Not held (any more): an override given then stays what was done.
                override = self.store.health.release_override(
                    before["stay"], str(given)
                ) or clean_text(str(given))
            if override or before.get("test_override"):
                changes["test_override"] = override
            return cast(
                Discharge, self.store._change(DISCHARGES, discharge_id, changes, "correct", why)
            )

    def void(self, table: str, record_id: int, reason: str, shared: bool = False) -> None:
        """Void a record (it stays stored, counts for nothing). Voiding a discharge
        reopens its stay, back in its room: with someone placed there since, only when
        ``shared`` (confirmed as one household or group). Voiding a stay (an arrival
        entered by mistake) voids its discharge, its pending tests and the drafts
        raised about it too."""
        why = require_reason(reason)
        with self.store.transaction():
            doc = self.store.get(table, record_id)
            if doc is None:
                raise FieldError("id", "error.no_record", table=table, id=record_id)
            refused = self.already_voided(table, record_id)
            if refused is not None:
                raise refused
            voided = {"voided": {**self.store._stamp(), "reason": why}}
            if table == DISCHARGES:
                stay = self.store._stay(doc["stay"])
                self._check_person_free(stay, ignore=doc["stay"])
                reopened: dict[str, Any] = {"status": "open", "discharge": None}
                if stay["room"]:
                    self._check_room_back(stay)
                    there = self.back_in_room_with(record_id)
                    if there and not shared:
                        raise FieldError(
                            "void",
                            "error.void_room_shared",
                            room=stay["room"],
                            name=stay["person"]["name"],
                            now_there=people_in_room(there),
                        )
                    if there:
                        mates = {*stay.get("shares_with", []), *(i for i, _ in there)}
                        reopened["shares_with"] = sorted(mates)
                self.store._change(table, record_id, voided, "void", why)
                self.store._change(STAYS, doc["stay"], reopened, "reopen", why)
                return
            if table == STAYS:
                if doc.get("discharge"):
                    self.store._change(DISCHARGES, doc["discharge"], voided, "void", why)
                for test_id, test in self.store.health.tests_of(record_id):
                    if test["result"] == "pending":
                        self.store._change(TESTS, test_id, voided, "void", why)
                for incident_id in self.store._index.incidents_of.get(record_id, []):
                    incident = self.store.get(INCIDENTS, incident_id) or {}
                    if incident.get("status") == "draft" and is_live(incident):
                        self.store._change(INCIDENTS, incident_id, voided, "void", why)
            self.store._change(table, record_id, voided, "void", why)

    def already_voided(self, table: str, record_id: int) -> FieldError | None:
        """Why ``record_id`` cannot be voided again: whose it is, who voided it,
        when and why (None: it is live)."""
        doc = self.store.get(table, record_id)
        if doc is None or is_live(doc):
            return None
        stamp = doc["voided"]
        stay_id = record_id if table == STAYS else doc.get("stay", 0)
        stay = self.store.get(STAYS, stay_id) or {}
        return FieldError(
            "void",
            f"error.already_voided_{table}",
            id=record_id,
            name=stay.get("person", {}).get("name", ""),
            stay=stay_id,
            who=stamp.get("on_duty") or stamp.get("who", ""),
            at=stamp.get("at", ""),
            reason=stamp.get("reason", ""),
        )

    def back_in_room_with(self, discharge_id: int) -> list[tuple[int, Stay]]:
        """Who voiding this discharge would put its person in a room with, without
        their sharing having been confirmed: people placed in the room since."""
        discharge = self.store.get(DISCHARGES, discharge_id) or {}
        stay = self.store.get(STAYS, discharge.get("stay", 0))
        if not stay or not stay["room"]:
            return []
        point = self.store.point(stay["point"])
        assert point is not None
        try:
            check_room(point, stay["room"], self.store.beds_taken(stay["point"], stay["room"]))
        except FieldError:
            return []  # no bed left: that refusal is said first, nothing to ask
        mates = set(stay.get("shares_with", []))
        return [
            (stay_id, other)
            for stay_id, other in self.store.in_room(stay["point"], stay["room"])
            if stay_id != discharge["stay"]
            and stay_id not in mates
            and discharge["stay"] not in other.get("shares_with", [])
        ]

    def _check_room_back(self, stay: Stay) -> None:
        """A voided discharge puts the person back in their room: say so in the void
        form's terms (it has no room field) when the room has been given away since."""
        point = self.store.point(stay["point"])
        assert point is not None
        taken = self.store.beds_taken(stay["point"], stay["room"])
        try:
            check_room(point, stay["room"], taken)
        except FieldError as exc:
            now_there = [
                other["person"]["name"]
                for other in self.store.open_stays(stay["point"]).values()
                if other["room"] == stay["room"]
            ]
            raise FieldError(
                "void",
                "error.void_room_taken",
                room=stay["room"],
                name=stay["person"]["name"],
                now_there=", ".join(now_there) or "-",
            ) from exc


def people_in_room(there: Sequence[tuple[int, Stay]]) -> str:
    """Who is in a room, as a form or message names them: ``张三 (male), 李四 (female)``."""
    return ", ".join(
        f"{stay['person']['name']} ({SEX.label(stay['person']['sex'])})" for _, stay in there
    )


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
        "override": discharge.get("test_override", ""),
    }
