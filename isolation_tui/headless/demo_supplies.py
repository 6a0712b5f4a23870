"""The demo's supplies: each point's protective equipment and consumables over its
three months, following how many people it held day by day.

A point is stocked the day before its first bus and supplied every Monday up to
two weeks of its recent use (and at once when it runs below a few days). Issues are
counted at each shift's end (the day's total for the older history, keeping the
demo small) and a weekly count finds the odd torn suit. The seed article's episode:
in the third week before today the suit deliveries to the first two county points
fail; staff there stop changing shifts to save suits, the stock falls below three
days, and four days on, 500 suits come from the border points' stock, which a
donation had just filled. Everything is planned here (pure, seeded) and written
through the store's rules at its own time, as supervisors would have typed it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..domain.supplies import ITEM
from ..domain.timeparse import format_time
from .demo_people import Batch, Event, PersonPlan
from .demo_plan import Plan
from .demo_points import PointSpec

# Per day: a base for the staff, plus so much per person in isolation.
USE: dict[str, tuple[float, float]] = {
    "protective_suit": (4, 0.6),
    "n95_mask": (8, 1.0),
    "surgical_mask": (6, 2.0),
    "gloves": (6, 1.5),
    "test_kit": (0, 0.4),
    "disinfectant": (1, 0.1),
    "face_shield": (0.3, 0.05),
    "thermometer": (0.05, 0.02),
}
DAILY = ("protective_suit", "n95_mask", "surgical_mask", "gloves", "test_kit", "disinfectant")
STOCK_DAYS = 14  # a delivery brings the stock up to this many days of use
REORDER_DAYS = 5  # below this many days left, a delivery comes the next morning
PER_SHIFT_DAYS = 3  # the last days: issues counted per shift (before: per day)
# The shortage: suit deliveries to the two points stop on a Monday between these many
# days back, and the suits come SHORTAGE_DAYS later.
SHORTAGE_LATEST = 14
SHORTAGE_SEARCH = 28
SHORTAGE_DAYS = 5
IDLE_PEOPLE = 5  # what a point is first stocked for, before anyone came
SAVING = 0.7  # staff do not change shifts, to save suits: fewer are used
SUITS_SENT = (300, 200)
DONATED = 1000
DONOR = "丹东市红十字会"
TRANSFER_NOTE = "市指挥部调拨，缓解防护服短缺"
SHIFT_ENDS = (time(7, 55), time(19, 55))
SUITS_ARRIVE = time(11, 0)  # the morning the 500 suits are sent on


@dataclass(frozen=True)
class SupplyMove:
    """One movement to record: what ``Store.record_movement`` takes."""

    kind: str
    fields: dict[str, str]


def _occupancy(events: list[Event], point_codes: list[str]) -> dict[str, dict[date, int]]:
    """People in isolation at each point at the end of each day of the plan."""
    changes: dict[str, dict[date, int]] = {code: {} for code in point_codes}
    for at, _order, _seq, what in events:
        if isinstance(what, Batch):
            for person in what.people:
                day = changes.setdefault(person.point, {})
                day[at.date()] = day.get(at.date(), 0) + 1
        elif isinstance(what, PersonPlan) and what.leave is not None:
            day = changes.setdefault(what.point, {})
            day[at.date()] = day.get(at.date(), 0) - 1
    return changes


def supply_events(plan: Plan, now: datetime, first_seq: int, order: int) -> list[Event]:
    """The demo's movements as timeline events ``(at, order, seq, SupplyMove)``."""
    moves = list(_plan(plan, now))
    return [(at, order, first_seq + n, move) for n, (at, move) in enumerate(moves)]


def _plan(plan: Plan, now: datetime) -> Iterator[tuple[datetime, SupplyMove]]:
    codes = [spec.code for spec in plan.specs]
    if not codes or not plan.events:
        return
    border = [spec.code for spec in plan.specs if spec.border]
    county = shortage_points(plan.specs)
    book = _Book(codes, now)
    setup = plan.events[0][0] - timedelta(days=1)
    today = now.date()
    people_on = _people_by_day(plan.events, codes, setup.date(), today)
    short_from = _shortage_start(people_on, county, today)
    sent = False
    day = setup.date()
    while day <= today:
        people = {code: people_on[code][day] for code in codes}
        short = short_from <= day and not sent
        saving = {(code, "protective_suit") for code in county} if short else set()
        wanted = book.wanted(people, saving)
        per_shift = (today - day).days < PER_SHIFT_DAYS
        if per_shift:
            yield from book.issue(datetime.combine(day, SHIFT_ENDS[0]), wanted, 2)
        opening = max(datetime.combine(day, time(9, 0)), setup + timedelta(hours=1))
        for code in codes:
            for item in ITEM.codes:
                if (code, item) in saving:
                    continue  # the delivery did not come
                if day == setup.date() or day.weekday() == 0 or book.running_low(code, item):
                    yield from book.top_up(code, item, opening)
        if short and border and day == short_from + timedelta(days=SHORTAGE_DAYS):
            yield from _suits_sent(book, border[0], county, day)
            sent = True
        yield from book.issue(datetime.combine(day, SHIFT_ENDS[1]), wanted, 2 if per_shift else 1)
        if day.weekday() == 6:
            yield from book.weekly(datetime.combine(day, time(20, 5)), people)
        day += timedelta(days=1)


def _people_by_day(
    events: list[Event], codes: list[str], first: date, last: date
) -> dict[str, dict[date, int]]:
    changes = _occupancy(events, codes)
    found: dict[str, dict[date, int]] = {}
    for code in codes:
        here, days, day = 0, {}, first
        while day <= last:
            here += changes.get(code, {}).get(day, 0)
            days[day] = here
            day += timedelta(days=1)
        found[code] = days
    return found


def shortage_points(specs: Sequence[PointSpec]) -> list[str]:
    """The first two county points, where suits ran short."""
    return [spec.code for spec in specs if not spec.border][:2]


def suit_shortage(plan: Plan, now: datetime) -> tuple[date, datetime]:
    """The first day the shortage points went without suit deliveries, and the moment
    the 500 suits came: the one account of the episode that the other stories told
    at the same points (the staff's long stretches) follow."""
    codes = [spec.code for spec in plan.specs]
    setup = plan.events[0][0] - timedelta(days=1)
    people_on = _people_by_day(plan.events, codes, setup.date(), now.date())
    start = _shortage_start(people_on, shortage_points(plan.specs), now.date())
    return start, datetime.combine(start + timedelta(days=SHORTAGE_DAYS), SUITS_ARRIVE)


def _shortage_start(people_on: dict[str, dict[date, int]], county: list[str], today: date) -> date:
    """The Monday, three to six weeks back, from which the two county points held the
    most people for the next two weeks: when running short of suits hurt most."""
    latest = today - timedelta(days=SHORTAGE_LATEST)
    mondays = [
        latest - timedelta(days=back)
        for back in range(SHORTAGE_SEARCH)
        if (latest - timedelta(days=back)).weekday() == 0
    ]

    def held(monday: date) -> int:
        span = [monday + timedelta(days=n) for n in range(SHORTAGE_DAYS)]
        return min((sum(people_on[code].get(day, 0) for day in span) for code in county), default=0)

    return max(mondays, key=lambda monday: (held(monday), monday))


def _suits_sent(
    book: _Book, sender: str, county: list[str], day: date
) -> Iterator[tuple[datetime, SupplyMove]]:
    """A donation fills a border point, and the city sends 500 suits on from it."""
    yield from book.move(
        "donation",
        sender,
        "protective_suit",
        DONATED,
        datetime.combine(day, time(10, 30)),
        donor=DONOR,
    )
    for code, quantity in zip(county, SUITS_SENT, strict=False):
        yield from book.move(
            "transfer_out",
            sender,
            "protective_suit",
            quantity,
            datetime.combine(day, SUITS_ARRIVE),
            other_point=code,
            notes=TRANSFER_NOTE,
        )


class _Book:
    """The stock of every item at every point as the plan goes, so that nothing is
    ever issued that is not there."""

    def __init__(self, codes: list[str], now: datetime) -> None:
        self.codes = codes
        self.now = now
        self.rng = random.Random("isolation-tui demo supplies")
        self.stock = {(code, item): 0 for code in codes for item in ITEM.codes}
        self.used: dict[tuple[str, str], list[float]] = {key: [] for key in self.stock}

    def wanted(
        self, people: dict[str, int], saving: set[tuple[str, str]]
    ) -> dict[tuple[str, str], float]:
        """Each item's use today: none where nobody is in isolation; half the suits
        where staff stop changing shifts to save them."""
        today = {}
        for code, item in self.stock:
            base, per_person = USE[item]
            here = people[code]
            use = (base + per_person * here) * self.rng.uniform(0.8, 1.2) if here else 0.0
            today[(code, item)] = use * (SAVING if (code, item) in saving else 1.0)
            self.used[(code, item)].append(today[(code, item)])
        return today

    def average(self, code: str, item: str, days: int) -> float:
        last = self.used[(code, item)][-days:]
        return sum(last) / len(last) if last else 0.0

    def days_left(self, code: str, item: str) -> float:
        """As the program reckons it: the stock against the last three days' use."""
        daily = self.average(code, item, 3)
        return self.stock[(code, item)] / daily if daily else float("inf")

    def running_low(self, code: str, item: str) -> bool:
        # Counted after tomorrow morning's issue too, which comes before the next
        # delivery could: a bus that raised today's use must not leave a point short
        # between that issue and the morning's delivery.
        return self.days_left(code, item) - 1 < REORDER_DAYS

    def move(
        self, kind: str, code: str, item: str, quantity: int, at: datetime, **extra: str
    ) -> Iterator[tuple[datetime, SupplyMove]]:
        if quantity <= 0 or at > self.now:
            return
        sign = -1 if kind in ("issue", "transfer_out") else 1
        self.stock[(code, item)] += sign * quantity
        if kind == "transfer_out":
            self.stock[(extra["other_point"], item)] += quantity
        fields = {"point": code, "item": item, "quantity": str(quantity), "at": format_time(at)}
        yield at, SupplyMove(kind, fields | extra)

    def top_up(self, code: str, item: str, at: datetime) -> Iterator[tuple[datetime, SupplyMove]]:
        """Up to two weeks of the last week's use (of a few people before anyone came)."""
        base, per_person = USE[item]
        daily = self.average(code, item, 7) or base + per_person * IDLE_PEOPLE
        # What is issued by the week is kept for a month: a week's issue within the
        # last three days must not read as three days' use.
        days = STOCK_DAYS if item in DAILY else 2 * STOCK_DAYS
        wanted = max(10, round(daily * days)) - self.stock[(code, item)]
        yield from self.move("delivery", code, item, wanted, at)

    def issue(
        self, at: datetime, wanted: dict[tuple[str, str], float], shifts: int
    ) -> Iterator[tuple[datetime, SupplyMove]]:
        for (code, item), use in wanted.items():
            if item in DAILY:
                quantity = min(self.stock[(code, item)], round(use / shifts))
                yield from self.move("issue", code, item, quantity, at)

    def weekly(self, at: datetime, people: dict[str, int]) -> Iterator[tuple[datetime, SupplyMove]]:
        """Face shields and thermometers by the week; a count finds the odd torn suit."""
        for code in self.codes:
            if not people[code]:
                continue
            for item in ("face_shield", "thermometer"):
                week = round(sum(self.used[(code, item)][-7:]))
                yield from self.move("issue", code, item, min(self.stock[(code, item)], week), at)
            suits = self.stock[(code, "protective_suit")]
            counted_at = at + timedelta(minutes=5)
            if self.rng.random() < 0.2 and suits > 2 and counted_at <= self.now:
                self.stock[(code, "protective_suit")] -= 1
                fields = {
                    "point": code,
                    "item": "protective_suit",
                    "at": format_time(counted_at),
                    "counted": str(suits - 1),
                    "reason": "交班盘点：破损1件",
                }
                yield counted_at, SupplyMove("adjustment", fields)
