"""The demo's staff and their duty, in step with its timeline.

Each point has seven people: a doctor and two nurses who take the clinical post in
three shifts of eight hours (00–08, 08–16, 16–24), one each, and four on day duty
(08:00–17:00, five days in seven): police, cleaning, catering and the cadre in
charge. Their duty is kept from the first of the month, and from a week before the
suits ran short if that is earlier, so ``export duty --month`` of this month counts
every day of it up to now and the episode is there whole.

The article's episode, as the supplies tell it (``suit_shortage``): at the two
points whose suit deliveries failed, the clinical staff stopped changing shifts
three times a day to save suits and worked twelve hours at a stretch (08–20,
20–08) from the morning the deliveries stopped until the suits came; the stretch
under way when they came is the last. And at the first of those points the cadre
has been on duty for 13 to 25 hours, since the 06:00 or 18:00 before that: flagged
over the limit now.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ..domain.timeparse import format_time
from ..storage.repository import Store
from .demo_data import GIVEN, MOBILE_PREFIXES, SURNAMES
from .demo_people import Event
from .demo_plan import Plan
from .demo_supplies import shortage_points, suit_shortage

CLINICAL = ("medical", "nursing", "nursing")
DAY_DUTY = ("police", "cleaning", "catering", "cadre")
DAY_HOURS = (8, 17)
SHIFT_HOURS = 8
STRETCH_HOURS = 12
KEPT_BEFORE_SHORTAGE = 7
"""Days of ordinary shifts kept before the suits ran short, to compare."""
LONG_STRETCH_HOURS = 13
"""The cadre at the first county point, on duty at least this long now."""
STRETCH_FROM = (6, 18)
"""…since one of these hours: two demos written minutes apart write the same."""


@dataclass(eq=False)
class Hire:
    """A staff member, added when the points were set up; ``staff_id`` once stored."""

    point: str
    fields: dict[str, str]
    staff_id: int = 0

    def apply(self, store: Store) -> None:
        self.staff_id = store.staff.add_staff({"point": self.point, **self.fields})


@dataclass(eq=False)
class DutyStart:
    hire: Hire
    at: datetime

    def apply(self, store: Store) -> None:
        store.staff.start_duty(self.hire.staff_id, format_time(self.at))


@dataclass(eq=False)
class DutyEnd:
    hire: Hire
    at: datetime

    def apply(self, store: Store) -> None:
        store.staff.end_duty(self.hire.staff_id, format_time(self.at))


StaffEvent = Hire | DutyStart | DutyEnd


@dataclass
class _Person:
    hire: Hire
    periods: list[tuple[datetime, datetime]] = field(default_factory=list)


def _name(rng: random.Random) -> str:
    sex = rng.choice(("male", "female"))
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN[sex], rng.choice((1, 2))))


def _people(rng: random.Random, point: str) -> list[_Person]:
    return [
        _Person(
            Hire(
                point,
                {
                    "name": _name(rng),
                    "role": role,
                    "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
                },
            )
        )
        for role in (*CLINICAL, *DAY_DUTY)
    ]


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time()) + timedelta(hours=hour)


def _clinical(
    people: list[_Person], first: date, today: date, short: tuple[datetime, datetime] | None
) -> None:
    """Three shifts of eight hours, one person each, in turn; during a shortage
    (from its first morning until the suits came) twelve-hour stretches, and then a
    shift to the next of 00:00, 08:00 or 16:00, where the three shifts take over."""
    moment = _at(first, 0)
    turn = 0
    while moment.date() <= today:
        if short and short[0] <= moment < short[1]:
            hours = STRETCH_HOURS
        else:
            hours = SHIFT_HOURS - moment.hour % SHIFT_HOURS
        people[turn % len(people)].periods.append((moment, moment + timedelta(hours=hours)))
        moment += timedelta(hours=hours)
        turn += 1


def _day_duty(rng: random.Random, people: list[_Person], first: date, today: date) -> None:
    day = first
    while day <= today:
        for person in people:
            if rng.random() < 5 / 7:
                person.periods.append((_at(day, DAY_HOURS[0]), _at(day, DAY_HOURS[1])))
        day += timedelta(days=1)


def _stretch(cadre: _Person, now: datetime) -> None:
    """On duty since the last of ``STRETCH_FROM`` at least ``LONG_STRETCH_HOURS``
    ago, and still: what came before ends by then."""
    latest = now - timedelta(hours=LONG_STRETCH_HOURS)
    start = max(
        _at(latest.date() - timedelta(days=back), hour)
        for back in (0, 1)
        for hour in STRETCH_FROM
        if _at(latest.date() - timedelta(days=back), hour) <= latest
    )
    kept = [(s, e) for s, e in cadre.periods if e <= start]
    cadre.periods = [*kept, (start, now + timedelta(days=1))]


def stretches(plan: Plan, now: datetime) -> tuple[datetime, datetime]:
    """When the clinical staff at the shortage points worked twelve hours at a
    stretch: from the first morning without suit deliveries (08:00, where a shift
    starts) until the suits came."""
    start, arrived = suit_shortage(plan, now)
    return _at(start, DAY_HOURS[0]), arrived


def duty_kept_from(plan: Plan, now: datetime) -> date:
    """The first day of duty the demo keeps: the first of the month, or a week
    before the suits ran short if that is earlier."""
    start, _arrived = suit_shortage(plan, now)
    return min(now.date().replace(day=1), start - timedelta(days=KEPT_BEFORE_SHORTAGE))


def staff_events(plan: Plan, setup: datetime, now: datetime) -> Iterator[tuple[datetime, Any]]:
    """Every staff event up to ``now``, with its time (not in order)."""
    rng = random.Random("isolation-tui demo staff")
    today = now.date()
    first = duty_kept_from(plan, now)
    episode = shortage_points(plan.specs)
    short = stretches(plan, now)
    for code in (spec.code for spec in plan.specs):
        people = _people(rng, code)
        _clinical(people[: len(CLINICAL)], first, today, short if code in episode else None)
        _day_duty(rng, people[len(CLINICAL) :], first, today)
        if episode and code == episode[0]:
            _stretch(people[-1], now)
        for person in people:
            yield setup, person.hire
            for start, end in person.periods:
                if start > now:
                    continue
                yield start, DutyStart(person.hire, start)
                if end <= now:
                    yield end, DutyEnd(person.hire, end)


def with_staff(events: list[Event], plan: Plan, now: datetime) -> list[Event]:
    """``events`` (the demo's timeline) with the staff's, in time order: the staff
    are added half a day before the first bus, and a period ends before the next
    one starts at the same minute."""
    if not events or not plan.specs:
        return events
    setup = events[0][0] - timedelta(hours=12)
    seq = max(event[2] for event in events) + 1
    merged = list(events)
    for at, what in staff_events(plan, setup, now):
        order = -2 if isinstance(what, DutyEnd) else -1
        merged.append((at, order, seq, what))
        seq += 1
    merged.sort(key=lambda event: event[:3])
    return merged
