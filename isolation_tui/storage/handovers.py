"""Shift handovers in the store: the window since the last one, signing,
acknowledging, addenda. A signed handover keeps the summary exactly as shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.errors import FieldError
from ..domain.handover import DEFAULT_SHIFTS, Window, parse_shifts, shift_start, summarise
from ..domain.rules import clean_notes, clean_text
from ..domain.timeparse import format_time, parse_time

if TYPE_CHECKING:
    from .repository import Store

HANDOVERS = "handovers"
SETTINGS = "settings"
SOURCES = ("stays", "discharges", "incidents", "checks", "tests")


class HandoverMixin:
    """Shift handovers: the window since the last one, signing, acknowledging, addenda."""

    def handovers(self: Store, point: str | None) -> list[tuple[int, dict[str, Any]]]:
        """Past handovers of a point (None: the all-points ones), newest first."""
        found = [
            (int(key), doc) for key, doc in self.rows(HANDOVERS).items() if doc["point"] == point
        ]
        return sorted(found, reverse=True)

    def shifts(self: Store) -> list[str]:
        """When the shifts of this database start (``HH:MM``, default 08:00 and 20:00)."""
        doc = self.get(SETTINGS, 1)
        return list(doc["shifts"]) if doc else list(DEFAULT_SHIFTS)

    def set_shifts(self: Store, text: str) -> list[str]:
        """Set when shifts start (``08:00,20:00``), for every session on this database."""
        starts = parse_shifts(text)
        with self.transaction():
            if self.get(SETTINGS, 1) is None:
                self._create(SETTINGS, {"shifts": starts})
            else:
                self._change(SETTINGS, 1, {"shifts": starts}, "correct")
        return starts

    def handover_window(self: Store, point: str | None, since: str = "") -> Window:
        """From ``since`` (a time as typed), else from the end of the last handover at
        the point, else (the first handover) from the start of the current shift; up
        to the latest change."""
        audit = list(self.rows("audit").values())
        now = format_time(self.clock())
        if since:
            moment = parse_time(since, self.clock())
            if moment is None:
                raise FieldError("since", "error.bad_time", value=since)
            return _window_from(format_time(moment), audit, now)
        previous = self.handovers(point)
        if previous:
            summary = previous[0][1]["summary"]
            return Window(summary["upto_audit"], len(audit), summary["end"], now)
        # Not from the birth of the data: months of history are no shift to hand over.
        start = shift_start(self.clock(), self.shifts())
        return _window_from(format_time(start), audit, now)

    def handover_summary(self: Store, point: str | None, since: str = "") -> dict[str, Any]:
        window = self.handover_window(point, since)
        tables = {name: {int(key): doc for key, doc in self.rows(name).items()} for name in SOURCES}
        audit = list(self.rows("audit").values())
        summary = summarise(point, window, audit, tables, self.points(), self.clock())
        summary["chosen_start"] = bool(since)
        summary["on_duty"] = self.staff.handover_part(point, self.clock())
        return summary

    def sign_handover(self: Store, summary: dict[str, Any], notes: str, outgoing: str) -> int:
        """Store the handover exactly as shown: it is never recomputed afterwards."""
        name = clean_text(outgoing, 60)
        if not name:
            raise FieldError("outgoing", "error.required")
        with self.transaction():
            previous = self.handovers(summary["point"])
            covered = previous[0][1]["summary"]["upto_audit"] if previous else 0
            if covered > summary["after_audit"] and not summary.get("chosen_start"):
                # Someone signed while this one was being read: its window is stale.
                raise FieldError("outgoing", "error.handover_stale", who=previous[0][1]["outgoing"])
            return self._create(
                HANDOVERS,
                {
                    "point": summary["point"],
                    "summary": summary,
                    "notes": clean_notes(notes),
                    "outgoing": name,
                    "signed": self._stamp(),
                    "incoming": "",
                    "acknowledged": None,
                    "addenda": [],
                },
            )

    def acknowledge_handover(self: Store, handover_id: int, incoming: str) -> None:
        name = clean_text(incoming, 60)
        if not name:
            raise FieldError("incoming", "error.required")
        with self.transaction():
            handover = self._handover(handover_id)
            if handover["acknowledged"]:
                raise FieldError("incoming", "error.already_acknowledged")
            changes = {"incoming": name, "acknowledged": self._stamp()}
            self._change(HANDOVERS, handover_id, changes, "acknowledge")

    def add_addendum(self: Store, handover_id: int, text: str) -> None:
        """A correction to a signed handover: added, with who and when; never an edit."""
        body = clean_notes(text)
        if not body:
            raise FieldError("text", "error.required")
        with self.transaction():
            handover = self._handover(handover_id)
            addenda = [*handover["addenda"], {**self._stamp(), "text": body}]
            self._change(HANDOVERS, handover_id, {"addenda": addenda}, "addendum")

    def _handover(self: Store, handover_id: int) -> dict[str, Any]:
        handover = self.get(HANDOVERS, handover_id)
        if handover is None:
            raise FieldError("id", "error.no_record", table=HANDOVERS, id=handover_id)
        return handover


def _window_from(start: str, audit: list[dict[str, Any]], now: str) -> Window:
    """The changes recorded at or after ``start`` (the log is in time order)."""
    after = len(audit)
    while after and audit[after - 1]["at"] >= start:
        after -= 1
    return Window(after, len(audit), start, now)
