"""Shift handovers, the store's ``handovers`` service: when shifts start, the
window since the last handover and its summary, signing, acknowledging, addenda.
A signed handover keeps the summary exactly as shown. It takes the store: every
change runs in the store's transaction and is audited by it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from ..domain.counters import FIGURES, Counters, add_marks, add_open_stay
from ..domain.errors import FieldError
from ..domain.handover import (
    DEFAULT_SHIFTS,
    Tables,
    Window,
    parse_shifts,
    rewind,
    shift_start,
    start_day,
    summarise,
)
from ..domain.records import AuditEntry, is_live, usable_beds
from ..domain.rules import clean_notes, clean_text
from ..domain.timeparse import format_time, parse_time
from .index import MARKS
from .service import Service
from .tables import AUDIT, CHECKS, DISCHARGES, HANDOVERS, INCIDENTS, SETTINGS, STAYS, TESTS

SOURCES = (STAYS, DISCHARGES, INCIDENTS, CHECKS, TESTS)
# How far back from the newest change a window's start is looked for first (then
# four times as far, and so on): a shift is a few hundred changes.
LOOK_BACK = 512

Docs = dict[tuple[str, int], dict[str, Any] | None]


class HandoverService(Service):
    """Shift handovers: the window since the last one, signing, acknowledging, addenda."""

    def past(self, point: str | None) -> list[tuple[int, dict[str, Any]]]:
        """Past handovers of a point (None: the all-points ones), newest first."""
        found = [
            (int(key), doc)
            for key, doc in self.store.live_rows(HANDOVERS).items()
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
        now = format_time(self.store.clock())
        if since:
            moment = parse_time(since, self.store.clock())
            if moment is None:
                raise FieldError("since", "error.bad_time", value=since)
            return self._window_from(format_time(moment), now)
        previous = self.past(point)
        if previous:
            summary = previous[0][1]["summary"]
            return Window(summary["upto_audit"], self._last_change(), summary["end"], now)
        # Not from the birth of the data: months of history are no shift to hand over.
        start = shift_start(self.store.clock(), self.shifts())
        return self._window_from(format_time(start), now)

    def summary(self, point: str | None, since: str = "") -> dict[str, Any]:
        """What happened in the window and what is pending. It costs what the window
        holds and the people in isolation now, never the history: the figures at
        its start are today's with the window's changes taken back."""
        window = self.window(point, since)
        changes = self._changes(window.after_audit, window.upto_audit)
        entries = [changes[number] for number in sorted(changes)]
        now_docs: Docs = {}
        tables: Tables = {name: {} for name in SOURCES}
        for entry in entries:
            if entry["table"] in SOURCES:
                self._take(tables, now_docs, entry["table"], entry["record"])
        for name in (DISCHARGES, CHECKS, TESTS):
            for doc in list(tables[name].values()):
                self._take(tables, {}, STAYS, doc["stay"])
        tables[STAYS].update(self.store.open_stays(None))
        for key, doc in self.store.live_rows(INCIDENTS).items():
            if is_live(doc) and doc["status"] in ("open", "draft"):
                tables[INCIDENTS][int(key)] = doc
        clock = self.store.clock()
        counters = (
            self._figures(point, start_day(window, clock), now_docs, rewind(now_docs, entries)),
            self._figures(point, clock, now_docs, now_docs),
        )
        summary = summarise(point, window, entries, tables, self.store.points(), clock, counters)
        summary["chosen_start"] = bool(since)
        summary["on_duty"] = self.store.staff.handover_part(point, clock)
        summary["supplies"] = self.store.supplies.summary(point)
        return summary

    def _take(self, tables: Tables, docs: Docs, table: str, record: int) -> None:
        doc = self.store.get(table, record)
        docs[(table, record)] = doc
        if doc is not None:
            tables[table][record] = doc

    def _figures(self, point: str | None, day: datetime, now: Docs, then: Docs) -> dict[str, int]:
        """The figures of ``point`` (None: all points) on ``day``, with the records
        ``now`` holds as ``then`` holds them instead: the history's share from the
        tallies kept change by change, the rest from the people in isolation."""
        here = Counters()
        marks: Counter[str] = Counter()
        for code, tally in self.store._index.tally.items():
            if point is None or code == point:
                marks.update(tally)
        for (table, _), doc in now.items():
            if table in MARKS and doc is not None and _at(doc, point):
                marks.subtract(MARKS[table](doc))
        for (table, _), doc in then.items():
            if table in MARKS and doc is not None and _at(doc, point):
                marks.update(MARKS[table](doc))
        for mark, times in (+marks).items():
            add_marks(here, (mark,), times)
        today = day.date().isoformat()
        for stay_id, stay in self.store.open_stays(point).items():
            if (STAYS, stay_id) not in now:
                add_open_stay(here, stay, today)
        for (table, _), doc in then.items():
            if (
                table == STAYS
                and doc
                and is_live(doc)
                and doc["status"] == "open"
                and _at(doc, point)
            ):
                add_open_stay(here, doc, today)
        for code, doc in self.store.points().items():
            if point is None or code == point:
                here.beds += sum(usable_beds(room) for room in doc["rooms"])
        return {key: getattr(here, key) for key in FIGURES}

    def _last_change(self) -> int:
        """The number of the newest audit entry (they run 1, 2, 3… with no gaps), in
        the live set or sealed with a record finished since."""
        live = self.store.live_rows(AUDIT)
        headers, _ = self.store.db.storage.sealed_outside()
        sealed = (header.get("ids", {}).get(AUDIT, 0) for header in headers)
        return max(int(next(reversed(live), "0")), max(sealed, default=0))

    def _changes(self, after: int, upto: int) -> dict[int, AuditEntry]:
        """The audit entries after ``after`` up to ``upto`` by number: from the end of
        the live set, and from the segments that hold any (those sealed with a record
        changed late), never the whole log."""
        found: dict[int, AuditEntry] = {}
        for key, entry in reversed(self.store.live_rows(AUDIT).items()):
            number = int(key)
            if number <= after:
                break  # the live set lists them in order
            if number <= upto:
                found[number] = entry
        for part in self.store.db.storage.sealed_parts(AUDIT, after):
            found.update((int(key), entry) for key, entry in part.items() if int(key) <= upto)
        return found

    def _window_from(self, start: str, now: str) -> Window:
        """The changes recorded at or after ``start`` (the log is in time order),
        looked for from the newest back, no further than they go."""
        upto = self._last_change()
        after, reach = upto, LOOK_BACK
        while True:
            bound = max(upto - reach, 0)
            changes = self._changes(bound, upto)
            while after > bound and after in changes and changes[after]["at"] >= start:
                after -= 1
            if after > bound or not bound:
                return Window(after, upto, start, now)
            reach *= 4

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


def _at(doc: dict[str, Any], point: str | None) -> bool:
    return point is None or doc.get("point") == point
