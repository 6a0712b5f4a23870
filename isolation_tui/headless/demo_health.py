"""The demo's health rounds and tests: when each person was checked and tested,
and what the readings and results were. Each is drawn from the person's own seeded
stream or from their index, so the planner (which places fevers and positives in
the rounds) and the timeline (which writes every round) agree on every time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from .demo_people import PersonPlan

ROUNDS = ("morning", "afternoon")
# A round starts at 08:00 or 15:00 and walks the floors in under 45 minutes; the demo
# shows the rounds that are over (by 09:00 and 16:00), never one half done.
_ROUND_START = {"morning": clock_time(8), "afternoon": clock_time(15)}
_ROUND_OVER = {"morning": clock_time(9), "afternoon": clock_time(16)}
MISSED_RATE, REFUSED_RATE, SYMPTOM_RATE = 0.003, 0.001, 0.0015


def round_time(index: int, day: date, round_name: str) -> datetime:
    """When person ``index`` was checked in that round: spread over 45 minutes, the
    same on every run."""
    spread = (index * 7 + day.toordinal() * 13 + (29 if round_name == "afternoon" else 0)) % 45
    return datetime.combine(day, _ROUND_START[round_name]) + timedelta(minutes=spread)


def sample_time(person: PersonPlan, day: int) -> datetime:
    """When the test planned for ``day`` of the stay was taken: at the arrival for day 1
    (still that day), after the morning round otherwise."""
    on = person.arrived.date() + timedelta(days=day - 1)
    if day == 1:
        at = person.arrived + timedelta(minutes=30 + person.index * 11 % 60)
        return min(at, datetime.combine(on, clock_time(23, 59)))
    return datetime.combine(on, clock_time(9)) + timedelta(
        minutes=(person.index * 11 + day * 7) % 90
    )


def rounds(person: PersonPlan, now: datetime) -> Iterator[tuple[str, str, datetime, str, str]]:
    """The person's checks, round by round, from the arrival to the departure (or to
    the last round over by ``now``): (day, round, time, value as typed, symptoms).

    Each person's values come from their own seeded stream, drawn for every round,
    so the rounds written do not change the values of the others."""
    rng = random.Random(person.index)
    day = person.arrived.date()
    last = (person.leave or now).date()
    while day <= last:
        for round_name in ROUNDS:
            draw, temperature = rng.random(), rng.gauss(36.5, 0.22)
            at = round_time(person.index, day, round_name)
            if at < person.arrived:
                continue
            if person.leave is not None and at >= person.leave:
                return
            if person.leave is None and datetime.combine(day, _ROUND_OVER[round_name]) > now:
                return
            value, symptoms = person.readings.get((day, round_name), ("", ""))
            if not value:
                if draw < MISSED_RATE:
                    value = "m"
                elif draw < MISSED_RATE + REFUSED_RATE:
                    value = "r"
                else:
                    value = f"{min(37.1, max(35.8, temperature)):.1f}"
                    if draw > 1 - SYMPTOM_RATE:
                        symptoms = "咽干" if draw > 1 - SYMPTOM_RATE / 2 else "乏力"
            yield day.isoformat(), round_name, at, value, symptoms
        day += timedelta(days=1)


def test_result(person: PersonPlan, day: int, last: bool, today: date) -> str:
    """The result of the person's test planned for ``day`` ("" while pending)."""
    taken = sample_time(person, day)
    if person.positive_day is not None and day >= person.positive_day:
        return "positive" if day == person.positive_day else ""
    if person.leave is not None:
        return "negative" if taken < person.leave else ""
    if taken.date() >= today or (last and person.retest_pending):
        return ""  # today's results are not out yet; nor is a held person's retest
    return "negative"
