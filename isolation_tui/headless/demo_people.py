"""The demo's planned records: a person's stay, the bus that brought them, the
incidents they were in, and the maker of their names, phones and valid ID numbers.
The planner fills these in; the timeline and the writer read them."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.idnumber import make_resident_id
from .demo_data import (
    DANDONG_REGIONS,
    FOREIGN_NAMES,
    FOREIGN_PHONE,
    GIVEN,
    MOBILE_PREFIXES,
    SURNAMES,
    Route,
)


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


class People:
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
