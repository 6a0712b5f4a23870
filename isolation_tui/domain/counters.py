"""Counters derived from the records; never stored, so they cannot drift."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from .codes import OTHER_EXITS, TRANSFERRED
from .records import Discharge, Incident, Point, Stay, is_live, usable_beds

ALL = "*"

# The figures a supervisor watches, in the order reports show them.
FIGURES = (
    "received",
    "released_home",
    "transferred",
    "other_exits",
    "in_isolation",
    "incidents_handled",
    "incidents_open",
    "beds",
    "occupied_beds",
    "due_today",
    "overdue",
)


@dataclass
class Counters:
    received: int = 0
    released_home: int = 0
    transferred: int = 0
    other_exits: int = 0
    in_isolation: int = 0
    incidents_handled: int = 0
    incidents_open: int = 0
    beds: int = 0
    occupied_beds: int = 0
    due_today: int = 0
    overdue: int = 0
    incidents_draft: int = 0
    missed_checks: int = 0
    tests_due: int = 0
    points: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def discharged(self) -> int:
        return self.released_home + self.transferred + self.other_exits


def compute(
    points: Iterable[Point],
    stays: Iterable[Stay],
    discharges: Iterable[Discharge],
    incidents: Iterable[Incident],
    today: date | None = None,
) -> dict[str, Counters]:
    """Counters per point code, and for all points under :data:`ALL`."""
    today_text = (today or date.today()).isoformat()
    result: dict[str, Counters] = {ALL: Counters()}

    def both(code: str) -> tuple[Counters, Counters]:
        counters = result.get(code)
        if counters is None:
            counters = result[code] = Counters()
        return counters, result[ALL]

    for point in points:
        beds = sum(usable_beds(room) for room in point["rooms"])
        for c in both(point["code"]):
            c.beds += beds
            c.points += 1
    for stay in stays:
        if not is_live(stay):
            continue
        for c in both(stay["point"]):
            c.received += 1
            if stay["status"] == "open":
                c.in_isolation += 1
                if stay["room"]:
                    c.occupied_beds += 1
                if stay["release_due"] == today_text:
                    c.due_today += 1
                elif stay["release_due"] < today_text:
                    c.overdue += 1
    for discharge in discharges:
        if not is_live(discharge):
            continue
        kind = discharge["kind"]
        for c in both(discharge["point"]):
            c.by_kind[kind] = c.by_kind.get(kind, 0) + 1
            if kind == "released_home":
                c.released_home += 1
            elif kind in TRANSFERRED:
                c.transferred += 1
            elif kind in OTHER_EXITS:
                c.other_exits += 1
    for incident in incidents:
        if not is_live(incident):
            continue
        for c in both(incident["point"]):
            if incident["status"] == "handled":
                c.incidents_handled += 1
            elif incident["status"] == "draft":
                c.incidents_draft += 1
            else:
                c.incidents_open += 1
    return result


def for_point(counters: Mapping[str, Counters], code: str | None) -> Counters:
    return counters.get(code or ALL) or Counters()
