"""Shift handovers, the store's ``handovers`` service: when shifts start, the
window since the last handover and its summary, signing, acknowledging, addenda.
A signed handover keeps the summary exactly as shown. It takes the store: every
change runs in the store's transaction and is audited by it."""

from __future__ import annotations

from typing import Any

from ..domain.errors import FieldError
from ..domain.handover import DEFAULT_SHIFTS, Window, parse_shifts, shift_start, summarise
from ..domain.rules import clean_notes, clean_text
from ..domain.timeparse import format_time, parse_time
from .service import Service
from .tables import AUDIT, CHECKS, DISCHARGES, HANDOVERS, INCIDENTS, SETTINGS, STAYS, TESTS

SOURCES = (STAYS, DISCHARGES, INCIDENTS, CHECKS, TESTS)


class HandoverService(Service):
    """Shift handovers: the window since the last one, signing, acknowledging, addenda."""

    def past(self, point: str | None) -> list[tuple[int, dict[str, Any]]]:
        """Past handovers of a point (None: the all-points ones), newest first."""
        found = [
            (int(key), doc)
            for key, doc in self.store.rows(HANDOVERS).items()
            if doc["point"] == point
        ]
        return sorted(found, reverse=True)

    def shifts(self) -> list[str]:
        """When the shifts of this database start (``HH:MM``, default 08:00 and 20:00)."""
        doc = self.store.get(SETTINGS, 1)
        return list(doc["shifts"]) if doc else list(DEFAULT_SHIFTS)

    def set_shifts(self, text: str) -> list[str]:
        """Set when shifts start (``08:00,20:00``), for every session on this database."""
        starts = parse_shifts(text)
        with self.store.transaction():
            if self.store.get(SETTINGS, 1) is None:
                self.store._create(SETTINGS, {"shifts": starts})
            else:
                self.store._change(SETTINGS, 1, {"shifts": starts}, "correct")
        return starts

    def window(self, point: str | None, since: str = "") -> Window:
        """From ``since`` (a time as typed), else from the end of the last handover at
        the point, else (the first handover) from the start of the current shift; up
        to the latest change."""
        audit = list(self.store.rows(AUDIT).values())
        now = format_time(self.store.clock())
        if since:
            moment = parse_time(since, self.store.clock())
            if moment is None:
                raise FieldError("since", "error.bad_time", value=since)
            return _window_from(format_time(moment), audit, now)
        previous = self.past(point)
        if previous:
            summary = previous[0][1]["summary"]
            return Window(summary["upto_audit"], len(audit), summary["end"], now)
        # Not from the birth of the data: months of history are no shift to hand over.
        start = shift_start(self.store.clock(), self.shifts())
        return _window_from(format_time(start), audit, now)

    def summary(self, point: str | None, since: str = "") -> dict[str, Any]:
        window = self.window(point, since)
        tables = {
            name: {int(key): doc for key, doc in self.store.rows(name).items()} for name in SOURCES
        }
        audit = list(self.store.rows(AUDIT).values())
        summary = summarise(point, window, audit, tables, self.store.points(), self.store.clock())
        summary["chosen_start"] = bool(since)
        summary["on_duty"] = self.store.staff.handover_part(point, self.store.clock())
        summary["supplies"] = self.store.supplies.summary(point)
        return summary

    def sign(self, summary: dict[str, Any], notes: str, outgoing: str) -> int:
        """Store the handover exactly as shown: it is never recomputed afterwards."""
        name = clean_text(outgoing, 60)
        if not name:
            raise FieldError("outgoing", "error.required")
        with self.store.transaction():
            previous = self.past(summary["point"])
            covered = previous[0][1]["summary"]["upto_audit"] if previous else 0
            if covered > summary["after_audit"] and not summary.get("chosen_start"):
                # Someone signed while this one was being read: its window is stale.
                raise FieldError("outgoing", "error.handover_stale", who=previous[0][1]["outgoing"])
            return self.store._create(
                HANDOVERS,
                {
                    "point": summary["point"],
                    "summary": summary,
                    "notes": clean_notes(notes),
                    "outgoing": name,
                    "signed": self.store._stamp(),
                    "incoming": "",
                    "acknowledged": None,
                    "addenda": [],
                },
            )

    def acknowledge(self, handover_id: int, incoming: str) -> None:
        name = clean_text(incoming, 60)
        if not name:
            raise FieldError("incoming", "error.required")
        with self.store.transaction():
            handover = self._handover(handover_id)
            if handover["acknowledged"]:
                raise FieldError("incoming", "error.already_acknowledged")
            changes = {"incoming": name, "acknowledged": self.store._stamp()}
            self.store._change(HANDOVERS, handover_id, changes, "acknowledge")

    def add_addendum(self, handover_id: int, text: str) -> None:
        """A correction to a signed handover: added, with who and when; never an edit."""
        body = clean_notes(text)
        if not body:
            raise FieldError("text", "error.required")
        with self.store.transaction():
            handover = self._handover(handover_id)
            addenda = [*handover["addenda"], {**self.store._stamp(), "text": body}]
            self.store._change(HANDOVERS, handover_id, {"addenda": addenda}, "addendum")

    def _handover(self, handover_id: int) -> dict[str, Any]:
        handover = self.store.get(HANDOVERS, handover_id)
        if handover is None:
            raise FieldError("id", "error.no_record", table=HANDOVERS, id=handover_id)
        return handover


def _window_from(start: str, audit: list[dict[str, Any]], now: str) -> Window:
    """The changes recorded at or after ``start`` (the log is in time order)."""
    after = len(audit)
    while after and audit[after - 1]["at"] >= start:
        after -= 1
    return Window(after, len(audit), start, now)
