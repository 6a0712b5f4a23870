"""Demo data: Dandong's 32 isolation points in spring 2022, as the seed article tells it.

The article reports 10 border points and 22 county-level points, 1371 people
received from abroad, 1186 released home after isolation and 11 emergencies
handled; the demo reproduces exactly those counters (times ``--scale``), with the
rest of the people still in isolation or transferred, a few incidents still open,
some releases due today and some overdue.

Everyone is checked in two rounds a day (about 38,000 checks at scale 1: a few
missed or refused, a few fevers) and tested on the planned days. Everyone released
home has a negative last test, the two positives went to hospital, and the people
still in isolation have their past tests negative and the rest pending (but for a
few held past their release date on a retest). A fever or a positive opens a draft
incident, as it would for a supervisor: the real ones were confirmed and handled,
false alarms dismissed, and yesterday afternoon's still waits to be confirmed.

The data is planned first (pure, seeded, dates relative to today), then written
through the :class:`Store` API in one transaction, so every rule is checked and
every record audited exactly as if supervisors had typed it in.
"""

from __future__ import annotations

import contextlib
import gc
import random
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..domain.codes import DEFAULT_QUARANTINE_DAYS
from ..domain.health import DEFAULT_TEST_DAYS, planned_test_days
from ..domain.idnumber import make_resident_id
from ..domain.records import Room
from ..domain.timeparse import format_time
from ..i18n import current_language, set_language, t
from ..storage.backend import Location, remove_store, store_exists
from ..storage.engine import put_in_place
from ..storage.repository import Store, open_store
from ..storage.tables import INCIDENTS
from .demo_data import (
    BORDER_POINTS,
    COUNTY_POINTS,
    DANDONG_REGIONS,
    DISTRICTS,
    ELSEWHERE,
    EXTENSIONS,
    FOREIGN_NAMES,
    FOREIGN_PHONE,
    GIVEN,
    MOBILE_PREFIXES,
    NOTES,
    REGION_NAMES,
    ROUTES,
    SHORT,
    STORIES,
    SURNAMES,
    Route,
)
from .demo_staff import StaffEvent, with_staff

# The seed article's figures, per unit of --scale.
RECEIVED = 1371
RELEASED_HOME = 1186
HANDLED = 11
# How the 185 not released home are split: they must be in isolation or transferred.
RECENT = 140  # arrived in the last 13 days: still in isolation (a few transferred)
DUE_TODAY = 6  # arrived 14 days ago: release due today
OVERDUE = 4  # release due in the last 3 days, kept waiting on a retest
OLD_TRANSFERS = 35  # transferred out of the older arrivals
RECENT_TRANSFERS = 6
OLD = RECEIVED - RECENT - DUE_TODAY
WINDOW_DAYS = 90

# Progress bars only pay for themselves when the run takes a while.
PROGRESS_FROM_SCALE = 5

# ---------------------------------------------------------------- the points


@dataclass(frozen=True)
class PointSpec:
    code: str
    name: str
    district: str  # a key of DISTRICTS
    address: str
    border: bool


def point_specs() -> list[PointSpec]:
    specs = [
        PointSpec(f"BJ{n:02d}", f"边境{n}号点·{hotel}", district, address, True)
        for n, (hotel, district, address) in enumerate(BORDER_POINTS, start=1)
    ]
    seen: dict[str, int] = {}
    for hotel, district, address in COUNTY_POINTS:
        seen[district] = seen.get(district, 0) + 1
        n = seen[district]
        specs.append(
            PointSpec(
                f"{district}{n:02d}", f"{SHORT[district]}{n}号点·{hotel}", district, address, False
            )
        )
    return specs


def make_rooms(rng: random.Random, border: bool, buildings: int) -> list[Room]:
    """A hotel's rooms from floor 2 up (floor 1 is the lobby and the staff post).

    ``--scale`` adds buildings (楼栋) rather than floors, so that the beds grow with
    the people while every floor still looks like a hotel floor.
    """
    count = rng.randint(40, 80) if border else rng.randint(20, 60)
    top = rng.randint(3, 8)
    per_floor = -(-count // (top - 1))
    layout: list[tuple[int, int, int, bool]] = []
    for floor in range(2, top + 1):
        for number in range(1, per_floor + 1):
            if len(layout) == count:
                break
            # Family rooms (标间) for parents with children and couples; the rest
            # single rooms, as isolation rules wanted one person per room.
            beds = 2 if rng.random() < 0.12 else 1
            blocked = rng.random() < 0.03
            layout.append((floor, number, beds, blocked))
    rooms: list[Room] = []
    for building in range(1, buildings + 1):
        prefix = "" if building == 1 else f"{building}-"
        rooms.extend(
            Room(code=f"{prefix}{floor}{number:02d}", floor=str(floor), beds=beds, blocked=blocked)
            for floor, number, beds, blocked in layout
        )
    return rooms


# ---------------------------------------------------------------- the people


@dataclass
class PersonPlan:
    index: int
    fields: dict[str, str]
    region: str  # where a Chinese resident lives ("" for foreigners)
    arrived: datetime
    days: int
    extension: tuple[int, str] | None = None
    family: int | None = None  # shares a family room with the person of this index
    leave: datetime | None = None
    kind: str = ""  # released_home | hospital | other_point; "" while in isolation
    notes: str = ""
    point: str = ""
    room: str = ""
    # Health: readings that tell a story, by (day, round): (value as typed, symptoms);
    # the rest of the rounds are drawn when written.
    readings: dict[tuple[date, str], tuple[str, str]] = field(default_factory=dict)
    positive_day: int | None = None  # the planned test that came back positive
    retest_pending: bool = False  # the last test's result is not out yet
    # A false fever: (recheck action, when, void reason).
    dismissed: tuple[str, datetime, str] | None = None

    @property
    def due(self) -> date:
        extra = self.extension[0] if self.extension else 0
        return self.arrived.date() + timedelta(days=self.days + extra)

    @property
    def name(self) -> str:
        return self.fields["name"]

    @property
    def dandong(self) -> bool:
        return self.region in DANDONG_REGIONS


@dataclass
class Batch:
    """One transfer bus: the people registered together at one point."""

    at: datetime
    route: Route
    district: str  # the points it prefers: a DISTRICTS key, or "" for the border points
    people: list[PersonPlan] = field(default_factory=list)


@dataclass
class IncidentPlan:
    occurred: datetime
    kind: str
    severity: int
    summary: str  # may name {name} and {room} of the first person
    actions: list[str]
    reported_to: str
    resolution: str = ""
    handled: datetime | None = None
    people: list[PersonPlan] = field(default_factory=list)
    point: str = ""
    # Opened by the program (a fever in a round, a positive test) as a draft, which
    # the supervisor confirmed; its summary is the program's.
    draft: bool = False


# An event: (when, order at the same minute, sequence, what).
Event = tuple[datetime, int, int, Any]


class _People:
    """Makes people: unique, valid ID numbers and plausible names, phones and ages."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.used: set[str] = set()
        self.count = 0

    def _birth(self, low: int, high: int) -> date:
        age_days = self.rng.randint(low * 365, high * 365 + 364)
        return self.today - timedelta(days=age_days)

    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            number = make()
            if number not in self.used:
                self.used.add(number)
                return number

    def chinese(
        self,
        region: str,
        sex: str,
        ages: tuple[int, int],
        surname: str | None = None,
    ) -> dict[str, str]:
        rng = self.rng
        born = self._birth(*ages)

        def number() -> str:
            # The 17th digit (the sequence's last) is odd for men, even for women.
            sequence = rng.randrange(500) * 2 + (1 if sex == "male" else 0)
            return make_resident_id(region, born, sequence)

        given = "".join(rng.sample(GIVEN[sex], rng.choice((1, 2, 2, 2))))
        return {
            "name": (surname or rng.choice(SURNAMES)) + given,
            "sex": sex,
            "birth_date": born.isoformat(),
            "id_type": "resident_id",
            "id_number": self._unique(number),
            "nationality": "CN",
            "phone": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        }

    def foreign(self, country: str, sex: str, ages: tuple[int, int]) -> dict[str, str]:
        rng = self.rng
        surnames, men, women = FOREIGN_NAMES[country]
        surname = rng.choice(surnames)
        if country == "RU" and sex == "female":
            surname += "A"
        given = rng.choice(men if sex == "male" else women)

        def number() -> str:
            # Passport numbers in each country's usual shape.
            digits = rng.randrange(10**7, 10**8)
            return {
                "KR": f"M{digits}",
                "JP": f"T{rng.choice('KRZ')}{digits % 10**7:07d}",
                "RU": f"7{digits}",
                "US": f"5{digits}",
                "DE": f"C{digits}",
            }[country]

        local = rng.random() < 0.5
        if local:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        else:
            local_part = f"{rng.randrange(1000, 10000)} {rng.randrange(1000, 10000)}"
            phone = f"{FOREIGN_PHONE[country]} {local_part}"
        return {
            "name": f"{surname} {given}",
            "sex": sex,
            "birth_date": self._birth(*ages).isoformat(),
            "id_type": "passport",
            "id_number": self._unique(number),
            "nationality": country,
            "phone": phone,
        }


# ---------------------------------------------------------------- health rounds and tests

ROUNDS = ("morning", "afternoon")
# A round starts at 08:00 or 15:00 and walks the floors in under 45 minutes; the demo
# shows the rounds that are over (by 09:00 and 16:00), never one half done.
_ROUND_START = {"morning": clock_time(8), "afternoon": clock_time(15)}
_ROUND_OVER = {"morning": clock_time(9), "afternoon": clock_time(16)}
MISSED_RATE, REFUSED_RATE, SYMPTOM_RATE = 0.003, 0.001, 0.0015
FALSE_FEVERS = 4  # per unit of --scale: rechecked normal, the draft dismissed


def _round_time(index: int, day: date, round_name: str) -> datetime:
    """When person ``index`` was checked in that round: spread over 45 minutes, the
    same on every run."""
    spread = (index * 7 + day.toordinal() * 13 + (29 if round_name == "afternoon" else 0)) % 45
    return datetime.combine(day, _ROUND_START[round_name]) + timedelta(minutes=spread)


def _sample_time(person: PersonPlan, day: int) -> datetime:
    """When the test planned for ``day`` of the stay was taken: at the arrival for day 1
    (still that day), after the morning round otherwise."""
    on = person.arrived.date() + timedelta(days=day - 1)
    if day == 1:
        at = person.arrived + timedelta(minutes=30 + person.index * 11 % 60)
        return min(at, datetime.combine(on, clock_time(23, 59)))
    return datetime.combine(on, clock_time(9)) + timedelta(
        minutes=(person.index * 11 + day * 7) % 90
    )


def _rounds(person: PersonPlan, now: datetime) -> Iterator[tuple[str, str, datetime, str, str]]:
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
            at = _round_time(person.index, day, round_name)
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


def _result(person: PersonPlan, day: int, last: bool, today: date) -> str:
    """The result of the person's test planned for ``day`` ("" while pending)."""
    taken = _sample_time(person, day)
    if person.positive_day is not None and day >= person.positive_day:
        return "positive" if day == person.positive_day else ""
    if person.leave is not None:
        return "negative" if taken < person.leave else ""
    if taken.date() >= today or (last and person.retest_pending):
        return ""  # today's results are not out yet; nor is a held person's retest
    return "negative"


# ---------------------------------------------------------------- planning


def _between(rng: random.Random, start: datetime, stop: datetime) -> datetime:
    """A whole minute in [start, stop)."""
    minutes = max(1, int((stop - start).total_seconds() // 60))
    return (start + timedelta(minutes=rng.randrange(minutes))).replace(second=0, microsecond=0)


def _sizes(rng: random.Random, total: int, low: int = 3, high: int = 40) -> list[int]:
    """Bus loads adding up to exactly ``total``: mostly 5–20, a few full coaches."""
    sizes: list[int] = []
    left = total
    while left > 0:
        size = min(left, max(low, round(rng.triangular(low, high, 6))))
        if 0 < left - size < low:
            size = left
        sizes.append(size)
        left -= size
    return sizes


class _Planner:
    """Plans one unit of ``--scale``: the seed article's 1371 people and 14 incidents."""

    def __init__(self, replica: int, today: date, people: _People, specs: list[PointSpec]) -> None:
        self.rng = random.Random(f"isolation-tui demo {replica}")
        self.today = today
        self.midnight = datetime.combine(today, datetime.min.time())
        self.people = people
        self.specs = specs
        self.batches: list[Batch] = []
        self.incidents: list[IncidentPlan] = []
        self.persons: list[PersonPlan] = []

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    # -- arrivals

    def _batch(self, on: date, size: int, plain: bool, recent: bool) -> Batch:
        rng = self.rng
        # Port vehicles carry a few people; a full bus load came from an airport.
        routes = [r for r in ROUTES if size <= 8 or not r.border_only]
        route = rng.choices(routes, weights=[r.weight for r in routes])[0]
        if route.border_only:
            # The port works office hours; buses from the airports come at any hour.
            at = datetime.combine(on, datetime.min.time()) + timedelta(
                hours=rng.randint(9, 16), minutes=rng.randrange(60)
            )
        else:
            at = datetime.combine(on, datetime.min.time()) + timedelta(
                hours=rng.choice((1, 2, 3, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)),
                minutes=rng.randrange(60),
            )
        border = route.border_only or rng.random() < 0.4
        district = "" if border else rng.choice(list(DISTRICTS))
        batch = Batch(at=at, route=route, district=district)
        vehicle = f"辽F·{rng.choice('ABCDE')}{rng.randrange(1000, 10000)}"
        transport = f"丹东口岸 {vehicle}" if route.border_only else route.transport
        while len(batch.people) < size:
            room_left = size - len(batch.people)
            family = room_left >= 2 and rng.random() < 0.06
            members = self._family(batch, route) if family else [self._person(batch, route)]
            for member in members:
                member.fields["transport"] = transport
                member.fields["origin"] = rng.choice(route.origins)
                member.fields["arrived_at"] = format_time(at)
                self._categorise(member, plain, recent)
                batch.people.append(member)
            if len(members) == 2:
                members[0].family, members[1].family = members[1].index, members[0].index
                members[1].fields["category"] = members[0].fields["category"]
                members[1].days = members[0].days
                members[1].fields["quarantine_days"] = str(members[1].days)
                members[1].extension = members[0].extension
        self.batches.append(batch)
        return batch

    def _region(self, batch: Batch) -> str:
        rng = self.rng
        roll = rng.random()
        if batch.district and roll < 0.6:
            return DISTRICTS[batch.district][0]
        if roll < 0.75:
            return rng.choice(DANDONG_REGIONS)
        return rng.choice(ELSEWHERE)[0]

    def _new(self, fields: dict[str, str], region: str, at: datetime) -> PersonPlan:
        person = PersonPlan(
            index=self.people.count, fields=fields, region=region, arrived=at, days=14
        )
        self.people.count += 1
        self.persons.append(person)
        return person

    def _person(self, batch: Batch, route: Route) -> PersonPlan:
        rng = self.rng
        sex = "male" if rng.random() < 0.56 else "female"
        ages = (20, 65) if rng.random() < 0.9 else (66, 78)
        if route.country and rng.random() < 0.15:
            return self._new(self.people.foreign(route.country, sex, ages), "", batch.at)
        region = self._region(batch)
        return self._new(self.people.chinese(region, sex, ages), region, batch.at)

    def _family(self, batch: Batch, route: Route) -> list[PersonPlan]:
        """A parent with a child, or a couple: they share a family room."""
        rng = self.rng
        region = self._region(batch)
        first_sex = rng.choice(("male", "female"))
        parent = self.people.chinese(region, first_sex, (28, 50))
        if rng.random() < 0.5:
            surname = parent["name"][0] if first_sex == "male" else rng.choice(SURNAMES)
            other = self.people.chinese(
                region, rng.choice(("male", "female")), (4, 15), surname=surname
            )
        else:
            other = self.people.chinese(
                region, "female" if first_sex == "male" else "male", (28, 50)
            )
        return [self._new(parent, region, batch.at), self._new(other, region, batch.at)]

    def _categorise(self, person: PersonPlan, plain: bool, recent: bool) -> None:
        rng = self.rng
        roll = rng.random()
        category = "inbound"
        if roll < 0.05:
            category = "close_contact"  # seated near a positive case on the flight
        elif roll < 0.06 and not plain and not recent:
            category = "high_risk_area"  # came through a domestic high-risk city
        person.fields["category"] = category
        person.days = DEFAULT_QUARANTINE_DAYS[category]
        person.fields["quarantine_days"] = str(person.days)
        if rng.random() < 0.12:
            person.fields["notes"] = rng.choice(NOTES)
        if plain or rng.random() >= 0.05:
            return
        extension = rng.choice(EXTENSIONS)
        person.extension = extension
        # Older arrivals must have been due (and released) before today.
        if not recent and person.due >= self.today:
            person.extension = None

    def arrivals(self) -> None:
        # Three buses just before the recent window, so there is somebody to be
        # overdue; one bus 14 days ago, due today; the rest spread over 3 months.
        forced = [(15, 6), (16, 6), (17, 6)]
        for days_ago, size in forced:
            self._batch(self.day(days_ago), size, plain=True, recent=False)
        rest = OLD - sum(len(b.people) for b in self.batches)
        for size in _sizes(self.rng, rest):
            on = self.day(self.rng.randint(15, WINDOW_DAYS))
            self._batch(on, size, plain=False, recent=False)
        self._fill(DUE_TODAY, lambda: self.day(14), plain=True, recent=False)
        # Recent buses cycle through the days, so every day up to yesterday has some.
        days = list(range(1, 14))
        self.rng.shuffle(days)
        cycle = iter(days * RECENT)
        self._fill(RECENT, lambda: self.day(next(cycle)), plain=False, recent=True)

    def _fill(self, total: int, on: Callable[[], date], plain: bool, recent: bool) -> None:
        for size in _sizes(self.rng, total):
            self._batch(on(), size, plain, recent)

    # -- discharges and incidents

    def outcomes(self) -> None:
        rng = self.rng
        cut = self.day(14)
        old = [p for p in self.persons if p.arrived.date() < cut]
        recent = [p for p in self.persons if p.arrived.date() > cut]
        assert len(old) == OLD and len(recent) == RECENT, (len(old), len(recent))
        taken: set[int] = set()

        def pick(
            pool: list[PersonPlan], count: int, test: Callable[[PersonPlan], bool]
        ) -> list[PersonPlan]:
            """``count`` people of ``pool`` not picked before (fewer if there are not)."""
            eligible = [p for p in pool if p.index not in taken and test(p)]
            chosen = rng.sample(eligible, min(count, len(eligible)))
            taken.update(p.index for p in chosen)
            return chosen

        overdue = pick(old, OVERDUE, lambda p: self.day(3) <= p.due < self.today)
        held = {p.index for p in overdue}
        for person in overdue:
            person.notes = "期满前核酸复检结果未出，暂缓解除隔离"
            person.retest_pending = True
        latest = self.midnight - timedelta(hours=2)

        long_ago = self.day(20)
        positive = pick(old, 2, lambda p: p.days == 14 and p.arrived.date() <= long_ago)
        fever_out = pick(old, 1, lambda p: p.days == 14 and p.arrived.date() <= long_ago)
        medical_out = pick(old, 1, lambda p: p.days == 14 and p.arrived.date() <= long_ago)
        for person in [*positive, *fever_out, *medical_out]:
            person.kind = "hospital"  # times come with their incidents
        plain_hospital = pick(old, 6, lambda p: True)
        home_elsewhere = pick(old, OLD_TRANSFERS - 10, lambda p: not p.dandong)
        # Exact totals matter more than where people live: top up from anyone.
        home_elsewhere += pick(old, OLD_TRANSFERS - 10 - len(home_elsewhere), lambda p: True)
        for person in plain_hospital:
            self._transfer(person, "hospital", latest)
        for person in home_elsewhere:
            self._transfer(person, "other_point", latest)
        moved = pick(recent, RECENT_TRANSFERS, lambda p: p.arrived.date() <= self.day(3))
        assert len(overdue) == OVERDUE and len(moved) == RECENT_TRANSFERS
        for person in moved:
            self._transfer(person, "other_point" if rng.random() < 0.7 else "hospital", latest)

        fever_ok, mental, abscond, medical_back = (
            pick(old, 1, lambda p: p.days == 14 and p.extension is None) for _ in range(4)
        )
        # The conflict is about an extension, so it needs somebody who had one.
        grumbler = pick(old, 1, lambda p: p.days == 14 and p.extension is not None)
        grumbler = grumbler or pick(old, 1, lambda p: p.days == 14)
        for person in old:
            if person.kind:
                continue
            if person.index in held:
                continue
            # Released on the morning of the day the period ends, after the last test.
            person.kind = "released_home"
            person.leave = datetime.combine(person.due, datetime.min.time()) + timedelta(
                hours=8, minutes=30 + rng.randrange(180)
            )

        self._incidents(
            positive,
            fever_out[0],
            medical_out[0],
            [fever_ok[0], mental[0], abscond[0], grumbler[0], medical_back[0]],
            overdue[0],
        )

        # The rounds: a few false fevers, rechecked normal and their drafts dismissed;
        # one fever from yesterday afternoon still waiting for the supervisor; and in
        # this morning's round two people missed and one who refused.
        for person in pick(old, FALSE_FEVERS, lambda p: p.kind == "released_home"):
            length = (person.due - person.arrived.date()).days
            day = person.arrived.date() + timedelta(days=rng.randint(2, length - 2))
            round_name = rng.choice(ROUNDS)
            person.readings[(day, round_name)] = (rng.choice(("37.3", "37.4", "37.5")), "")
            recheck = f"复测体温{rng.choice(('36.6', '36.8', '36.9'))}℃，无不适"
            at = _round_time(person.index, day, round_name) + timedelta(hours=1)
            person.dismissed = (recheck, at, "复测体温正常，排除发热")
        in_isolation = [p for p in recent if not p.kind and p.arrived.date() <= self.day(2)]
        for person in pick(in_isolation, 1, lambda p: True):
            person.readings[(self.day(1), "afternoon")] = ("37.5", "")
        for n, person in enumerate(pick(in_isolation, 3, lambda p: True)):
            person.readings[(self.today, "morning")] = ("r" if n == 2 else "m", "")

    def _transfer(self, person: PersonPlan, kind: str, latest: datetime) -> None:
        rng = self.rng
        last = min(latest, person.arrived + timedelta(days=person.days - 1)).date()
        first = person.arrived.date() + timedelta(days=1)
        on = first + timedelta(days=rng.randrange(max(1, (last - first).days + 1)))
        person.kind = kind
        # Transfers are arranged with the receiving side, in office hours.
        person.leave = datetime.combine(on, datetime.min.time()) + timedelta(
            hours=rng.randint(9, 16), minutes=rng.randrange(60)
        )
        if kind == "hospital":
            person.notes = rng.choice(
                (
                    "孕晚期，转定点医院待产",
                    "需规律透析，转定点医院继续隔离治疗",
                    "基础病加重，转定点医院治疗",
                )
            )

    def _during(self, person: PersonPlan, low_days: float, high_days: float) -> datetime:
        start = person.arrived + timedelta(days=low_days)
        stop = min(person.arrived + timedelta(days=high_days), self.midnight - timedelta(hours=8))
        return _between(self.rng, start, stop)

    def _incidents(
        self,
        positive: list[PersonPlan],
        fever_out: PersonPlan,
        medical_out: PersonPlan,
        stayed: list[PersonPlan],
        waiting: PersonPlan,
    ) -> None:
        rng = self.rng
        add = self.incidents.append

        def to_hospital(person: PersonPlan, incident: IncidentPlan) -> None:
            person.leave = incident.occurred + timedelta(hours=rng.randint(2, 5))
            incident.handled = person.leave + timedelta(minutes=rng.randint(30, 90))

        for n, person in enumerate(positive):
            # The second test (day 4) of one, the third (day 7) of the other.
            person.positive_day = 4 if n == 0 else 7
            incident = IncidentPlan(
                occurred=_sample_time(person, person.positive_day),
                kind="positive_test",
                severity=4,
                summary="",
                draft=True,
                actions=[
                    "立即封控该房间，同楼层暂停除送餐外一切流动",
                    "上报区疫情防控指挥部和市疾控中心",
                    "120负压救护车闭环转运至定点医院",
                    f"同楼层人员加密核酸检测，流调判定密接{rng.randint(2, 6)}人",
                    "房间及走廊终末消毒",
                ],
                reported_to="市疫情防控指挥部、市疾控中心",
                resolution="已闭环转运至定点医院，房间终末消毒完成，同楼层人员复检均为阴性",
                people=[person],
            )
            to_hospital(person, incident)
            person.notes = "核酸阳性，闭环转运定点医院"
            add(incident)

        day = fever_out.arrived.date() + timedelta(days=rng.randint(1, 9))
        round_name = rng.choice(ROUNDS)
        fever_out.readings[(day, round_name)] = ("39.1", "咳嗽")
        incident = IncidentPlan(
            occurred=_round_time(fever_out.index, day, round_name),
            kind="fever",
            severity=3,
            summary="",
            draft=True,
            actions=[
                "驻点医生问诊，单人单管采样送检",
                "物理降温后复测体温38.8℃",
                "联系120闭环转运至定点医院发热门诊",
            ],
            reported_to="区卫健局",
            resolution="转定点医院发热门诊诊治，房间终末消毒",
            people=[fever_out],
        )
        to_hospital(fever_out, incident)
        fever_out.notes = "持续高热，转定点医院发热门诊"
        add(incident)

        incident = IncidentPlan(
            occurred=self._during(medical_out, 1, 12),
            kind="medical",
            severity=3,
            summary="{name}（{room}室）既往高血压，突发胸闷、头晕",
            actions=[
                "驻点医生测血压180/110mmHg，给予降压处置",
                "呼叫120，闭环转运至市第一医院",
                "通知家属并上报区卫健局",
            ],
            reported_to="120急救中心、区卫健局",
            resolution="已闭环转运就医，办理转出",
            people=[medical_out],
        )
        to_hospital(medical_out, incident)
        add(incident)

        def handled(person: PersonPlan, incident: IncidentPlan, hours: tuple[int, int]) -> None:
            assert person.leave is not None
            later = incident.occurred + timedelta(hours=rng.randint(*hours))
            incident.handled = min(later, person.leave - timedelta(minutes=30))

        for person, story in zip(stayed, STORIES, strict=True):
            incident = IncidentPlan(
                occurred=self._during(person, 2, 11),
                kind=story.kind,
                severity=story.severity,
                summary=story.summary,
                actions=list(story.actions),
                reported_to=story.reported_to,
                resolution=story.resolution,
                people=[person],
            )
            if story.kind == "fever":
                # Found in a morning round; better by the next morning.
                day = person.arrived.date() + timedelta(days=rng.randint(2, 10))
                person.readings[(day, "morning")] = ("38.2", "咽痛")
                person.readings[(day, "afternoon")] = ("37.6", "咽痛")
                person.readings[(day + timedelta(days=1), "morning")] = ("36.8", "")
                incident.occurred = _round_time(person.index, day, "morning")
                incident.summary, incident.draft = "", True
            handled(person, incident, story.hours)
            add(incident)

        rooms = rng.randint(4, 9)
        facility = IncidentPlan(
            occurred=_between(
                rng, self.midnight - timedelta(days=80), self.midnight - timedelta(days=5)
            ),
            kind="facility",
            severity=2,
            summary=f"{rng.randint(3, 6)}楼热水器故障，{rooms}个房间无热水",
            actions=["联系酒店工程部维修", "维修期间按时送开水", "维修人员穿戴防护进入污染区"],
            reported_to="酒店工程部",
            resolution="已更换加热管，恢复供应热水",
            point=rng.choice(self.specs).code,
        )
        facility.handled = facility.occurred + timedelta(hours=rng.randint(4, 20))
        add(facility)

        kuandian = [s.code for s in self.specs if s.district == "KD"]
        supply = IncidentPlan(
            occurred=_between(
                rng, self.midnight - timedelta(days=60), self.midnight - timedelta(days=20)
            ),
            kind="supply",
            severity=2,
            summary="防护服库存不足两天用量，工作人员为节省防护服不舍得换班",
            actions=["向市委组织部工作组报告", "申领防护服500套", "物资到位后恢复正常轮换"],
            reported_to="市疫情防控指挥部物资保障组",
            resolution="市委组织部紧急调拨防护服500套，已到位",
            point=rng.choice(kuandian),
        )
        supply.handled = supply.occurred + timedelta(hours=rng.randint(20, 40))
        add(supply)

        # Still open: somebody waiting on a retest, and two small failures from
        # the last two nights, so the open-incident lists have something to show.
        yesterday = self.day(1)
        waiting.readings[(yesterday, "morning")] = ("37.9", "")
        waiting.readings[(yesterday, "afternoon")] = ("37.6", "")
        waiting.readings[(self.today, "morning")] = ("37.1", "")
        add(
            IncidentPlan(
                occurred=_round_time(waiting.index, yesterday, "morning"),
                kind="fever",
                severity=2,
                summary="",
                draft=True,
                actions=["单人单管采样已送检", "暂缓解除隔离，每4小时测体温"],
                reported_to="区卫健局",
                people=[waiting],
            )
        )
        add(
            IncidentPlan(
                occurred=_between(
                    rng, self.midnight - timedelta(hours=4), self.midnight - timedelta(hours=1)
                ),
                kind="facility",
                severity=1,
                summary=f"{rng.randint(2, 6)}楼走廊监控摄像头离线",
                actions=["已报修，维修人员明早到场", "夜间增加一次人工巡查"],
                reported_to="酒店工程部",
                point=rng.choice(self.specs).code,
            )
        )
        add(
            IncidentPlan(
                occurred=_between(
                    rng, self.midnight - timedelta(hours=40), self.midnight - timedelta(hours=26)
                ),
                kind="supply",
                severity=1,
                summary="含氯消毒片库存仅够三天使用",
                actions=["已向指挥部物资保障组申领"],
                reported_to="市疫情防控指挥部物资保障组",
                point=rng.choice(self.specs).code,
            )
        )


# ---------------------------------------------------------------- rooms


class _Beds:
    """Free rooms of one point while the plan is replayed in time order.

    Isolation puts one party (a person, or a family) in a room, so a room is free
    or taken as a whole; a random free room spreads people over the floors.
    """

    def __init__(self, spec: PointSpec, rooms: list[Room]) -> None:
        self.spec = spec
        self.free: dict[int, list[str]] = {1: [], 2: []}
        self.beds: dict[str, int] = {}
        self.people: dict[str, int] = {}
        self.buses = 0
        for room in rooms:
            if not room["blocked"]:
                self.free.setdefault(room["beds"], []).append(room["code"])
                self.beds[room["code"]] = room["beds"]

    def free_rooms(self) -> int:
        return sum(len(codes) for codes in self.free.values())

    def take(self, rng: random.Random, people: int) -> str | None:
        order = (2, 1) if people == 2 else (1, 2)
        for beds in order:
            codes = self.free.get(beds, [])
            if codes and beds >= people:
                i = rng.randrange(len(codes))
                codes[i], codes[-1] = codes[-1], codes[i]
                return codes.pop()
        return None

    def put(self, room: str) -> None:
        self.people[room] = self.people.get(room, 0) + 1

    def leave(self, room: str) -> None:
        self.people[room] -= 1
        if not self.people[room]:
            self.free[self.beds[room]].append(room)


def _place(batch: Batch, beds: dict[str, _Beds], rng: random.Random) -> None:
    """Choose the point and rooms of a bus load, given who is in which room now."""
    parties: list[list[PersonPlan]] = []
    seen: set[int] = set()
    by_index = {p.index: p for p in batch.people}
    for person in batch.people:
        if person.index in seen:
            continue
        party = [person]
        if person.family is not None and person.family in by_index:
            party.append(by_index[person.family])
        seen.update(p.index for p in party)
        parties.append(party)

    def fits(b: _Beds) -> bool:
        # One room per person at worst: a family splits when no family room is free.
        return b.free_rooms() >= len(batch.people)

    border = batch.route.border_only or not batch.district
    wanted = [
        b
        for b in beds.values()
        if b.spec.border == border and (border or b.spec.district == batch.district)
    ]
    choices = [b for b in wanted if fits(b)] or [b for b in beds.values() if fits(b)]
    if not choices:
        raise RuntimeError("demo plan: no point has room for a bus load")
    # Dispatchers share the buses out, so that no point sits empty for months.
    fewest = min(b.buses for b in choices)
    choices = [b for b in choices if b.buses == fewest]
    target = rng.choices(choices, weights=[b.free_rooms() for b in choices])[0]
    target.buses += 1
    for party in parties:
        room = target.take(rng, len(party))
        for person in party:
            code = room or target.take(rng, 1)
            assert code is not None
            person.point, person.room = target.spec.code, code
            target.put(code)


# ---------------------------------------------------------------- the plan


@dataclass
class Plan:
    specs: list[PointSpec]
    rooms: dict[str, list[Room]]
    events: list[Event]
    people: int
    incidents: int


def make_plan(today: date, scale: int) -> Plan:
    """The whole demo, deterministic for a given day and scale; nothing is written."""
    specs = point_specs()
    layout_rng = random.Random("isolation-tui demo points")
    rooms = {s.code: make_rooms(layout_rng, s.border, scale) for s in specs}
    people = _People(random.Random("isolation-tui demo people"), today)
    events: list[Event] = []
    incidents = 0
    seq = 0

    def event(at: datetime, order: int, what: Any) -> None:
        nonlocal seq
        events.append((at, order, seq, what))
        seq += 1

    for replica in range(scale):
        planner = _Planner(replica, today, people, specs)
        planner.arrivals()
        planner.outcomes()
        for batch in planner.batches:
            event(batch.at, 2, batch)
        for person in planner.persons:
            if person.leave is not None:
                # Leaving first at the same minute frees the room for the next bus.
                event(person.leave, 0, person)
        for incident in planner.incidents:
            event(incident.occurred, 1, incident)
        incidents += len(planner.incidents)
    events.sort(key=lambda e: e[:3])

    beds = {s.code: _Beds(s, rooms[s.code]) for s in specs}
    rng = random.Random("isolation-tui demo rooms")
    for _at, _order, _seq, what in events:
        if isinstance(what, Batch):
            _place(what, beds, rng)
        elif isinstance(what, PersonPlan):
            beds[what.point].leave(what.room)
    return Plan(specs, rooms, events, people.count, incidents)


def _point_of(what: Batch | PersonPlan | IncidentPlan) -> str:
    if isinstance(what, Batch):
        return what.people[0].point  # a bus load goes to one point
    if isinstance(what, PersonPlan):
        return what.point
    return what.people[0].point if what.people else what.point


def only_points(plan: Plan, codes: Collection[str]) -> Plan:
    """The part of ``plan`` at these points: everyone who stayed there and all that
    happened there, still keeping every rule (for benchmarks that need a store
    smaller than the whole demo)."""
    wanted = set(codes)
    events = [event for event in plan.events if _point_of(event[3]) in wanted]
    return Plan(
        [spec for spec in plan.specs if spec.code in wanted],
        {code: rooms for code, rooms in plan.rooms.items() if code in wanted},
        events,
        sum(len(e[3].people) for e in events if isinstance(e[3], Batch)),
        sum(1 for e in events if isinstance(e[3], IncidentPlan)),
    )


# ---------------------------------------------------------------- writing


class DemoClock:
    """The store's clock while the demo is written: each record is written at the
    time it happened, so its audit entry (and a handover's window) says so too."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


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
}


def timeline(plan: Plan, now: datetime) -> list[Event]:
    """The plan's events with every check, test result, dismissal, incident action
    and closing as an event of its own, in the order they happened (up to ``now``)."""
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
    events.sort(key=lambda e: e[:3])
    return events


def _health_events(
    person: PersonPlan, now: datetime, event: Callable[[datetime, Any], None]
) -> None:
    for day, round_name, at, value, symptoms in _rounds(person, now):
        event(at, Check(person, day, round_name, value, symptoms))
    category = person.fields["category"]
    total = person.days + (person.extension[0] if person.extension else 0)
    days = planned_test_days(DEFAULT_TEST_DAYS[category], total)
    for day in days:
        result = _result(person, day, day == days[-1], now.date())
        if result:
            event(_sample_time(person, day), Result(person, day, result))
    if person.dismissed is not None:
        event(person.dismissed[1], Dismissal(person))


class _Writer:
    """Writes the plan through the Store, event by event at its own time,
    remembering which stay is whose."""

    def __init__(self, store: Store, plan: Plan, clock: DemoClock) -> None:
        self.store = store
        self.plan = plan
        self.clock = clock
        self.stay_of: dict[int, int] = {}
        self.incident_of: dict[int, int] = {}
        self.certificates: dict[tuple[str, date], int] = {}
        # Drafts the program opened, by (person, kind), for the supervisor to confirm.
        self.drafts: dict[tuple[int, str], int] = {}

    def points(self) -> None:
        for spec in self.plan.specs:
            self.store.save_point(
                spec.code,
                spec.name,
                self.plan.rooms[spec.code],
                address=spec.address,
                quarantine_days=DEFAULT_QUARANTINE_DAYS,
            )

    def write(self, at: datetime, what: Any) -> None:
        self.clock.now = at
        if isinstance(what, StaffEvent):
            what.apply(self.store)
        elif isinstance(what, Batch):
            for person in what.people:
                self.arrive(person)
        elif isinstance(what, PersonPlan):
            self.discharge(what)
        elif isinstance(what, IncidentPlan):
            self.incident(what)
        elif isinstance(what, Check):
            self.check(what)
        elif isinstance(what, Result):
            self.result(what)
        elif isinstance(what, Dismissal):
            self.dismiss(what.person, at)
        elif isinstance(what, Action):
            self.store.incidents.add_action(
                self.incident_of[id(what.incident)], what.what, format_time(at)
            )
        else:
            incident = what.incident
            assert incident.handled is not None
            self.store.incidents.close(
                self.incident_of[id(incident)], incident.resolution, format_time(incident.handled)
            )

    def arrive(self, person: PersonPlan) -> None:
        fields = {**person.fields, "point": person.point, "room": person.room}
        if self.store.beds_taken(person.point, person.room):
            # Rooms are given to a party as a whole: whoever is there is family.
            fields["shares_room"] = "yes"
        stay_id = self.store.stays.register(fields)
        self.stay_of[person.index] = stay_id
        if person.extension:
            days, reason = person.extension
            self.store.stays.extend(stay_id, str(days), reason)
        if person.notes and person.kind == "":
            # What a supervisor notes when a release is held back.
            self.store.stays.correct(
                stay_id,
                {"notes": "；".join(filter(None, (fields.get("notes", ""), person.notes)))},
                person.notes,
            )

    def check(self, check: Check) -> None:
        """One reading of a round; a fever opens a draft, as it would."""
        person = check.person
        at = format_time(self.clock.now)
        _check, draft, _ = self.store.health.record_check(
            self.stay_of[person.index], check.day, check.round_name, check.value, check.symptoms, at
        )
        if draft is not None:
            self.drafts[(person.index, "fever")] = draft

    def result(self, result: Result) -> None:
        person = result.person
        tests = self.store.health.tests_of(self.stay_of[person.index])
        test_id = next(i for i, test in tests if test["planned_day"] == result.planned_day)
        taken = format_time(self.clock.now)
        draft = self.store.health.record_result(test_id, result.result, taken)
        if draft is not None:
            self.drafts[(person.index, "positive_test")] = draft

    def dismiss(self, person: PersonPlan, at: datetime) -> None:
        """A false fever: rechecked normal an hour later, its draft voided."""
        assert person.dismissed is not None
        recheck, _, reason = person.dismissed
        draft = self.drafts.pop((person.index, "fever"))
        self.store.incidents.add_action(draft, recheck, format_time(at))
        self.store.stays.void(INCIDENTS, draft, reason)

    def discharge(self, person: PersonPlan) -> None:
        assert person.leave is not None
        home = REGION_NAMES.get(person.region, "")
        negative = "true"
        certificate = ""
        if person.kind == "released_home":
            key = (person.point, person.leave.date())
            self.certificates[key] = self.certificates.get(key, 0) + 1
            certificate = f"{person.point}-{person.leave:%Y%m%d}-{self.certificates[key]:03d}"
            if person.dandong:
                destination = f"返家（{home}），居家健康监测7天"
            elif home:
                destination = f"返回{home}，闭环交接属地"
            else:
                destination = "返回在丹住所，居家健康监测7天"
        elif person.kind == "hospital":
            destination = "丹东市定点救治医院"
            negative = "false" if "阳性" in person.notes else "true"
        elif home and not person.dandong:
            destination = f"{home}集中隔离点（属地管理）"
        else:
            destination = "市内其他隔离点（统一调配）"
        self.store.stays.discharge(
            {
                "stay": str(self.stay_of[person.index]),
                "discharged_at": format_time(person.leave),
                "kind": person.kind,
                "destination": destination,
                "negative_test": negative,
                "certificate": certificate,
                "notes": person.notes if person.kind != "released_home" else "",
            }
        )

    def incident(self, plan: IncidentPlan) -> None:
        first = plan.people[0] if plan.people else None
        if plan.draft:
            assert first is not None
            incident_id = self.drafts.pop((first.index, plan.kind))
            self.store.incidents.confirm(incident_id)
        else:
            summary = plan.summary
            if first is not None:
                summary = summary.format(name=first.name, room=first.room)
            incident_id = self.store.incidents.open(
                {
                    "point": first.point if first else plan.point,
                    "occurred_at": format_time(plan.occurred),
                    "kind": plan.kind,
                    "severity": str(plan.severity),
                    "summary": summary,
                    "reported_to": plan.reported_to,
                },
                stays=[self.stay_of[p.index] for p in plan.people],
            )
        self.incident_of[id(plan)] = incident_id


# ---------------------------------------------------------------- the command

_TEXT = {
    "zh": {
        "exists": "{path}：此处已有数据库；要替换它请加 --force",
        "title": "演示数据已写入",
        "path": "数据库",
        "documents": "存储文档",
        "seconds": "用时",
        "writing": "写入演示数据",
        "saving": "正在保存",
        "incidents_draft": "待确认事件",
        "checks": "健康监测记录",
        "missed_checks": "今日漏测",
        "tests": "计划检测",
        "tests_due": "今日及逾期待检",
    },
    "en": {
        "exists": "{path}: a database already exists here; use --force to replace it",
        "title": "Demo data written",
        "path": "Database",
        "documents": "Stored documents",
        "seconds": "Time",
        "writing": "Writing demo data",
        "saving": "Saving",
        "incidents_draft": "Draft incidents to confirm",
        "checks": "Health checks",
        "missed_checks": "Checks missed today",
        "tests": "Planned tests",
        "tests_due": "Tests due or overdue",
    },
}


def _text(key: str, **params: Any) -> str:
    return _TEXT.get(current_language(), _TEXT["en"])[key].format(**params)


class _Bar:
    """A progress bar, or nothing when nobody is watching a terminal."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task(_text("writing"), total=total) if progress else None

    def advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)

    def saving(self) -> None:
        # The commit (one large fsynced journal entry, then compaction) takes a
        # while at large scales; say so rather than sit on a full bar.
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=_text("saving"))


@contextlib.contextmanager
def _progress(console: Console, enabled: bool, total: int) -> Iterator[_Bar]:
    if not enabled:
        yield _Bar(None, total)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield _Bar(progress, total)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cycle collector while the bulk of records is written.

    The records are acyclic dicts, so the collector frees nothing, but its full
    passes walk every live object again and again: about 40% of the time at
    ``--scale 20``.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_demo(
    db_path: Location, *, force: bool, scale: int, points: Collection[str] | None = None
) -> int:
    """Write the demo database at ``db_path``; 0 when written, 1 when one is there.
    ``points``: only these points' part of the demo (the benchmarks' smaller stores)."""
    started = time.perf_counter()
    if not force and store_exists(db_path):
        print("isolation-tui: " + _text("exists", path=db_path), file=sys.stderr)
        return 1
    now = datetime.now()
    plan = make_plan(now.date(), scale)
    if points is not None:
        plan = only_points(plan, points)

    console = Console()
    events = timeline(plan, now)
    events = with_staff(
        events, [spec.code for spec in plan.specs], [spec.border for spec in plan.specs], now
    )
    # The points were set up the day before the first bus came.
    clock = DemoClock(events[0][0] - timedelta(days=1))
    if not isinstance(db_path, Path):
        # PostgreSQL: one transaction, so a demo stopped midway stores nothing.
        remove_store(db_path)
        store = open_store(db_path, create=True, clock=clock)
        try:
            counts, documents = _write_demo(store, plan, events, clock, now, console, scale)
        finally:
            store.close()
        _summary(console, db_path, counts, documents, time.perf_counter() - started)
        return 0
    # Written elsewhere, then put in place as one file: a demo stopped at any moment
    # leaves nothing at ``db_path`` that a retry would need --force for.
    with tempfile.TemporaryDirectory(prefix="isolation-tui-demo-") as folder:
        store = open_store(Path(folder) / "demo.db", create=True, clock=clock)
        try:
            counts, documents = _write_demo(store, plan, events, clock, now, console, scale)
            try:
                put_in_place(store.db.storage, db_path, replace=force)
            except FileExistsError:
                print("isolation-tui: " + _text("exists", path=db_path), file=sys.stderr)
                return 1
        finally:
            store.close()
    _summary(console, db_path, counts, documents, time.perf_counter() - started)
    return 0


@contextlib.contextmanager
def _records_in_chinese() -> Iterator[None]:
    """The demo is Dandong's records, typed in Chinese: what the program writes into
    them (a draft incident's summary, why a test was replanned) is Chinese too,
    whatever the language of the session that writes the demo."""
    was = current_language()
    set_language("zh")
    try:
        yield
    finally:
        set_language(was)


def _summary(
    console: Console, db_path: Location, counts: dict[str, Any], documents: int, seconds: float
) -> None:
    table = Table(title=_text("title"), show_header=False, box=None, title_justify="left")
    table.add_column(justify="left")
    table.add_column(justify="right")
    for key in (
        "points",
        "beds",
        "received",
        "released_home",
        "transferred",
        "other_exits",
        "in_isolation",
        "due_today",
        "overdue",
        "incidents_handled",
        "incidents_open",
    ):
        table.add_row(t(f"counter.{key}"), str(counts[key]))
    for key in ("incidents_draft", "checks", "missed_checks", "tests", "tests_due"):
        table.add_row(_text(key), str(counts[key]))
    table.add_row(_text("documents"), str(documents))
    table.add_row(_text("seconds"), f"{seconds:.1f} s")
    console.print(table)
    # Unwrapped, so that a long path stays one piece to copy (or to grep for).
    console.print(Text(f"{_text('path')}: {db_path}"), soft_wrap=True)


def _write_demo(
    store: Store,
    plan: Plan,
    events: list[Event],
    clock: DemoClock,
    now: datetime,
    console: Console,
    scale: int,
) -> tuple[dict[str, int], int]:
    """Write ``plan`` into ``store`` in one transaction, each event at its own time;
    the counters and the number of documents written."""
    writer = _Writer(store, plan, clock)
    show = console.is_terminal and scale >= PROGRESS_FROM_SCALE
    with (
        _no_gc(),
        _progress(console, show, len(events)) as bar,
        _records_in_chinese(),
        store.transaction(),
    ):
        writer.points()
        for at, _order, _seq, what in events:
            writer.write(at, what)
            bar.advance()
        clock.now = now
        bar.saving()
    counts = store.counters()["*"].as_dict()
    counts["checks"] = len(store.rows("checks"))
    counts["tests"] = sum(1 for test in store.rows("tests").values() if not test.get("voided"))
    documents = sum(len(store.rows(name)) for name in store.db.storage.tables())
    return counts, documents
