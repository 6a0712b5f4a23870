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
    on_duty: int = 0
    over_limit: int = 0
    points: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def discharged(self) -> int:
        return self.released_home + self.transferred + self.other_exits


KIND = "kind:"
"""A mark counting a discharge under its kind (``by_kind``)."""


def stay_marks(stay: Stay) -> tuple[str, ...]:
    """The figures a stay counts in whatever day it is (voided: none). What changes
    with the day (due today, overdue) is for the open stays only: ``add_open_stay``."""
    return ("received",) if is_live(stay) else ()


def discharge_marks(discharge: Discharge) -> tuple[str, ...]:
    if not is_live(discharge):
        return ()
    kind = discharge["kind"]
    if kind == "released_home":
        return (KIND + kind, "released_home")
    if kind in TRANSFERRED:
        return (KIND + kind, "transferred")
    if kind in OTHER_EXITS:
        return (KIND + kind, "other_exits")
    return (KIND + kind,)


def incident_marks(incident: Incident) -> tuple[str, ...]:
    if not is_live(incident):
        return ()
    status = incident["status"]
    if status == "handled":
        return ("incidents_handled",)
    return ("incidents_draft",) if status == "draft" else ("incidents_open",)


def add_marks(counters: Counters, marks: Iterable[str], times: int = 1) -> None:
    """Count ``marks`` (from the functions above) ``times`` more in ``counters``."""
    for mark in marks:
        if mark.startswith(KIND):
            kind = mark.removeprefix(KIND)
            counters.by_kind[kind] = counters.by_kind.get(kind, 0) + times
        else:
            setattr(counters, mark, getattr(counters, mark) + times)


def add_open_stay(counters: Counters, stay: Stay, today_text: str) -> None:
    """What one person in isolation now adds: a person, a bed, a release due."""
    counters.in_isolation += 1
    if stay["room"]:
        counters.occupied_beds += 1
    if stay["release_due"] == today_text:
        counters.due_today += 1
    elif stay["release_due"] < today_text:
        counters.overdue += 1


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
        marks = stay_marks(stay)
        for c in both(stay["point"]) if marks else ():
            add_marks(c, marks)
            if stay["status"] == "open":
                add_open_stay(c, stay, today_text)
    for discharge in discharges:
        marks = discharge_marks(discharge)
        for c in both(discharge["point"]) if marks else ():
            add_marks(c, marks)
    for incident in incidents:
        marks = incident_marks(incident)
        for c in both(incident["point"]) if marks else ():
            add_marks(c, marks)
    return result


def for_point(counters: Mapping[str, Counters], code: str | None) -> Counters:
    return counters.get(code or ALL) or Counters()
