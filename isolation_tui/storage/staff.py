"""A point's staff and their duty periods in the store, every change audited.

Who is on duty now is kept change by change (the open periods), so the counter bar,
the over-limit flag and the moment the next flag appears cost the people on duty,
never the history of periods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.counters import ALL, Counters
from ..domain.errors import FieldError
from ..domain.records import is_live
from ..domain.rules import require_reason
from ..domain.staff import (
    DutyRules,
    changed_rules,
    check_period,
    duty_rules,
    duty_time,
    hours_between,
    limit_moment,
    over_limit,
    overlapping,
    staff_from_fields,
)
from .backend import Changes
from .service import Service
from .tables import DUTY, POINTS, STAFF

if TYPE_CHECKING:
    from .repository import Store

STAFF_FIELDS = ("point", "name", "role", "phone", "notes")


class OnDuty:
    """Someone on duty now: the open period, its start, and the person."""

    __slots__ = ("period", "point", "staff", "start")

    def __init__(self, period: int, staff: int, point: str, start: str) -> None:
        self.period = period
        self.staff = staff
        self.point = point
        self.start = start


class StaffService(Service):
    """A point's staff and their duty (``store.staff``)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self._open: dict[int, OnDuty] = {}  # open live periods by period id
        self._periods_of: dict[int, set[int]] = {}  # period ids by staff id
        self._staff_of: dict[int, int] = {}
        self._rebuild()
        store.db.storage.add_listener(self._apply)

    # ------------------------------------------------------------------ the index

    def _rebuild(self) -> None:
        self._open.clear()
        self._periods_of.clear()
        self._staff_of.clear()
        for key in self.store.live_rows(DUTY):
            self._index(key)

    def _apply(self, changes: Changes) -> None:
        if changes.reloaded:
            self._rebuild()
            return
        for table, key in changes.keys:
            if table == DUTY:
                self._index(key)

    def _index(self, key: str) -> None:
        number = int(key)
        self._open.pop(number, None)
        old = self._staff_of.pop(number, None)
        if old is not None:
            self._periods_of.get(old, set()).discard(number)
        doc = self.store.get(DUTY, number)
        if doc is None:
            return
        self._staff_of[number] = doc["staff"]
        self._periods_of.setdefault(doc["staff"], set()).add(number)
        if is_live(doc) and not doc["end"]:
            self._open[number] = OnDuty(number, doc["staff"], doc["point"], doc["start"])

    # ------------------------------------------------------------------ reading

    def staff(self, staff_id: int) -> dict[str, Any] | None:
        return self.store.get(STAFF, staff_id)

    def staff_at(self, point: str | None) -> list[tuple[int, dict[str, Any]]]:
        """The staff of a point (or all points), live first, by role then name."""
        found = [
            (int(key), doc)
            for key, doc in self.store.live_rows(STAFF).items()
            if point is None or doc["point"] == point
        ]
        return sorted(found, key=lambda item: (not is_live(item[1]), item[1]["point"], item[0]))

    def periods_of(self, staff_id: int) -> list[tuple[int, dict[str, Any]]]:
        """A person's duty periods, newest first (voided ones too: they are history)."""
        rows = self.store.live_rows(DUTY)
        ids = sorted(self._periods_of.get(staff_id, ()), reverse=True)
        return [(i, rows[str(i)]) for i in ids if str(i) in rows]

    def open_period(self, staff_id: int) -> OnDuty | None:
        return next((d for d in self._open.values() if d.staff == staff_id), None)

    def on_duty(self, point: str | None) -> list[OnDuty]:
        """Who is on duty at a point (or anywhere), longest on duty first."""
        found = [d for d in self._open.values() if point is None or d.point == point]
        return sorted(found, key=lambda d: (d.start, d.period))

    def rules(self, point: str | None) -> DutyRules:
        return duty_rules(self.store.point(point) if point else None)

    def over_limit(self, duty: OnDuty, now: datetime) -> bool:
        return over_limit(duty.start, now, self.rules(duty.point).limit_hours)

    def add_counts(self, counters: dict[str, Counters], now: datetime) -> None:
        """On duty and over the limit, per point and for all points."""
        everyone = counters.setdefault(ALL, Counters())
        for duty in self._open.values():
            flagged = self.over_limit(duty, now)
            for c in (counters.setdefault(duty.point, Counters()), everyone):
                c.on_duty += 1
                c.over_limit += flagged

    def next_flag(self, now: datetime) -> datetime | None:
        """The next moment someone on duty goes over their point's limit."""
        moments = [
            moment
            for duty in self._open.values()
            if (moment := limit_moment(duty.start, self.rules(duty.point).limit_hours)) > now
        ]
        return min(moments, default=None)

    def handover_part(self, point: str | None, now: datetime) -> dict[str, Any]:
        """Who is on duty, since when, for how long, and who is over the limit: as
        the handover shows it, and keeps it once signed."""
        people = []
        for duty in self.on_duty(point):
            doc = self.staff(duty.staff) or {}
            people.append(
                {
                    "staff": duty.staff,
                    "point": duty.point,
                    "name": doc.get("name", ""),
                    "role": doc.get("role", ""),
                    "since": duty.start,
                    "hours": round(hours_between(duty.start, now), 1),
                    "limit": self.rules(duty.point).limit_hours,
                    "over": self.over_limit(duty, now),
                }
            )
        return {"people": people}

    # ------------------------------------------------------------------ staff

    def add_staff(self, fields: Mapping[str, Any]) -> int:
        with self.store.transaction():
            record = staff_from_fields(fields, self.store.points())
            return self.store._create(STAFF, record)

    def correct_staff(self, staff_id: int, fields: Mapping[str, Any], reason: str) -> None:
        why = require_reason(reason)
        with self.store.transaction():
            before = self._live_staff(staff_id)
            merged = {**{k: before.get(k, "") for k in STAFF_FIELDS}, **fields}
            record = staff_from_fields(merged, self.store.points())
            if record["point"] != before["point"] and self.open_period(staff_id):
                raise FieldError("point", "error.staff_on_duty_move")
            self.store._change(STAFF, staff_id, record, "correct", why)

    def void_staff(self, staff_id: int, reason: str) -> None:
        """Someone entered by mistake: kept in the history, counted nowhere, their
        duty periods voided with them (the same reason, audited)."""
        why = require_reason(reason)
        with self.store.transaction():
            self._live_staff(staff_id)
            if self.open_period(staff_id):
                raise FieldError("reason", "error.staff_on_duty_void")
            voided = {"voided": {**self.store._stamp(), "reason": why}}
            for period_id, period in self.periods_of(staff_id):
                if is_live(period):
                    self.store._change(DUTY, period_id, voided, "void", why)
            self.store._change(STAFF, staff_id, voided, "void", why)

    def _live_staff(self, staff_id: int) -> dict[str, Any]:
        doc = self.staff(staff_id)
        if doc is None or not is_live(doc):
            raise FieldError("id", "error.no_record", table=STAFF, id=staff_id)
        return doc

    # ------------------------------------------------------------------ duty

    def start_duty(self, staff_id: int, at: str = "") -> int:
        """On duty from ``at`` (now when empty): a new period."""
        with self.store.transaction():
            person = self._live_staff(staff_id)
            start = duty_time(at, self.store.clock())
            self._refuse_overlap(staff_id, start, "", None, "at")
            return self.store._create(
                DUTY, {"point": person["point"], "staff": staff_id, "start": start, "end": ""}
            )

    def end_duty(self, staff_id: int, at: str = "") -> int:
        """Off duty at ``at`` (now when empty): the open period ends."""
        with self.store.transaction():
            duty = self.open_period(staff_id)
            if duty is None:
                raise FieldError("at", "error.not_on_duty")
            end = duty_time(at, self.store.clock())
            check_period(duty.start, end)
            self.store._change(DUTY, duty.period, {"end": end}, "off_duty")
            return duty.period

    def toggle_duty(self, staff_id: int, at: str = "") -> bool:
        """On duty if off, off if on; True when now on duty."""
        if self.open_period(staff_id) is None:
            self.start_duty(staff_id, at)
            return True
        self.end_duty(staff_id, at)
        return False

    def correct_period(self, period_id: int, start: str, end: str, reason: str) -> None:
        """A period's start and end corrected (``end`` empty: still on duty)."""
        why = require_reason(reason)
        with self.store.transaction():
            before = self._live_period(period_id)
            now = self.store.clock()
            new_start = duty_time(start, now, "start")
            new_end = duty_time(end, now, "end") if end.strip() else ""
            check_period(new_start, new_end)
            if not new_end and before["end"] and self.open_period(before["staff"]):
                raise FieldError("end", "error.already_on_duty")
            self._refuse_overlap(before["staff"], new_start, new_end, period_id, "start")
            changes = {"start": new_start, "end": new_end}
            self.store._change(DUTY, period_id, changes, "correct", why)

    def void_period(self, period_id: int, reason: str) -> None:
        why = require_reason(reason)
        with self.store.transaction():
            self._live_period(period_id)
            voided = {"voided": {**self.store._stamp(), "reason": why}}
            self.store._change(DUTY, period_id, voided, "void", why)

    def _live_period(self, period_id: int) -> dict[str, Any]:
        doc = self.store.get(DUTY, period_id)
        if doc is None or not is_live(doc):
            raise FieldError("id", "error.no_record", table=DUTY, id=period_id)
        return doc

    def _refuse_overlap(
        self, staff_id: int, start: str, end: str, ignore: int | None, field: str
    ) -> None:
        others = [
            (i, (doc["start"], doc["end"]))
            for i, doc in self.periods_of(staff_id)
            if i != ignore and is_live(doc)
        ]
        clash = overlapping(start, end, others)
        if clash is not None:
            doc = self.store.get(DUTY, clash) or {}
            raise FieldError(
                field,
                "error.duty_overlap",
                id=clash,
                start=doc.get("start", ""),
                end=doc.get("end") or "…",
            )

    # ------------------------------------------------------------------ settings

    def set_rules(
        self,
        point: str,
        limit_hours: str = "",
        day_hours: str = "",
        rates: Iterable[str] = (),
    ) -> DutyRules:
        """A point's duty limit, the hours that make a day of duty, its daily rates."""
        with self.store.transaction():
            doc_id = self.store._index.point_ids.get(point)
            if doc_id is None:
                raise FieldError("point", "error.unknown_point", value=point)
            wanted = changed_rules(self.rules(point), limit_hours, day_hours, rates)
            self.store._change(POINTS, doc_id, {"duty": wanted.as_doc()}, "correct")
            return wanted


def overlaps(store: Store) -> Iterable[tuple[int, int, int]]:
    """``(staff, period, other period)`` for every two live periods of one person
    that share a minute (for ``check``)."""
    by_staff: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for key, doc in store.live_rows(DUTY).items():
        if is_live(doc):
            by_staff.setdefault(doc["staff"], []).append((int(key), doc))
    for staff_id, periods in by_staff.items():
        periods.sort(key=lambda item: item[1]["start"])
        for n, (period_id, doc) in enumerate(periods):
            earlier = [(i, (d["start"], d["end"])) for i, d in periods[:n]]
            clash = overlapping(doc["start"], doc["end"], earlier)
            if clash is not None:
                yield staff_id, clash, period_id
