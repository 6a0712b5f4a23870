"""The demo's timeline: the plan unfolded into every check, test result,
dismissal, incident action and closing as an event of its own, in the order they
happened, for the writer to store one by one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ..domain.health import DEFAULT_TEST_DAYS, planned_test_days
from .demo_health import rounds, sample_time, test_result
from .demo_people import Batch, Event, IncidentPlan, PersonPlan
from .demo_plan import Plan
from .demo_supplies import SupplyMove, supply_events


class Check(NamedTuple):
    person: PersonPlan
    day: str
    round_name: str
    value: str
    symptoms: str


class Result(NamedTuple):
    person: PersonPlan
    planned_day: int
    result: str


class Dismissal(NamedTuple):
    person: PersonPlan


class Action(NamedTuple):
    incident: IncidentPlan
    what: str


class Closing(NamedTuple):
    incident: IncidentPlan


# At the same minute: a departure frees its room before a bus comes; a reading is
# taken before the incident it raised is confirmed, and that before its actions.
_ORDER: dict[type, int] = {
    Check: 3,
    Result: 3,
    IncidentPlan: 4,
    Dismissal: 5,
    Action: 6,
    Closing: 7,
    SupplyMove: 8,
}


def timeline(plan: Plan, now: datetime, *, supplies: bool = True) -> list[Event]:
    """The plan's events with every check, test result, dismissal, incident action
    and closing as an event of its own, in the order they happened (up to ``now``);
    with the supplies' movements unless told not to (an earlier period of a scaled
    demo: its stock is not history that can be sealed)."""
    # An incident the program raised is confirmed after the reading that raised it.
    events = [
        (at, _ORDER[IncidentPlan] if isinstance(what, IncidentPlan) else order, seq, what)
        for at, order, seq, what in plan.events
    ]
    seq = len(events)

    def event(at: datetime, what: Any) -> None:
        nonlocal seq
        events.append((at, _ORDER[type(what)], seq, what))
        seq += 1

    for _at, _order, _seq, what in plan.events:
        if isinstance(what, Batch):
            for person in what.people:
                _health_events(person, now, event)
        elif isinstance(what, IncidentPlan):
            # Actions spread over the time the incident took (or its first hours, if open).
            end = what.handled or what.occurred + timedelta(hours=len(what.actions) + 1)
            step = (end - what.occurred) / (len(what.actions) + 1)
            for n, action in enumerate(what.actions, start=1):
                event(min(what.occurred + step * n, now), Action(what, action))
            if what.handled is not None:
                event(what.handled, Closing(what))
    if supplies:
        events.extend(supply_events(plan, now, seq, _ORDER[SupplyMove]))
    events.sort(key=lambda e: e[:3])
    return events


def _health_events(
    person: PersonPlan, now: datetime, event: Callable[[datetime, Any], None]
) -> None:
    for day, round_name, at, value, symptoms in rounds(person, now):
        event(at, Check(person, day, round_name, value, symptoms))
    category = person.fields["category"]
    total = person.days + (person.extension[0] if person.extension else 0)
    days = planned_test_days(DEFAULT_TEST_DAYS[category], total)
    for day in days:
        result = test_result(person, day, day == days[-1], now.date())
        if result:
            event(sample_time(person, day), Result(person, day, result))
    if person.dismissed is not None:
        event(person.dismissed[1], Dismissal(person))
