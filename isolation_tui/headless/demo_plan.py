"""The demo's plan: who came on which bus, where they stayed, when they left and
which incidents they had, so that the seed article's counters come out exactly.

Pure and seeded, with dates relative to today: nothing here writes or reads a
store, so the same day and period always give the same plan.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..domain.codes import DEFAULT_QUARANTINE_DAYS
from ..domain.records import Room
from ..domain.timeparse import format_time
from .demo_data import (
    CLOSED_LATER,
    DANDONG_REGIONS,
    DISTRICTS,
    ELSEWHERE,
    EXTENSIONS,
    NOTES,
    RECHECKED_LATER,
    ROUTES,
    STORIES,
    SURNAMES,
    Route,
)
from .demo_health import ROUNDS, round_time, sample_time
from .demo_people import Batch, Event, IncidentPlan, People, PersonPlan
from .demo_points import PointSpec, make_rooms, point_specs

# The seed article's figures, per period.
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
FALSE_FEVERS = 4  # per period: rechecked normal, the draft dismissed
PERIOD_DAYS = 16 * 7
"""How far apart the periods of a scaled demo are: one period's ninety days of buses,
and the three weeks its last people may still stay, so none overlaps the next."""


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
    """Plans one period: the seed article's 1371 people and 14 incidents, up to
    ``today``; a ``finished`` one (an earlier period of a scaled demo) goes on until
    everyone has left and every incident is closed."""

    def __init__(
        self,
        replica: int,
        today: date,
        people: People,
        specs: list[PointSpec],
        finished: bool = False,
    ) -> None:
        self.rng = random.Random(f"isolation-tui demo {replica}")
        self.finished = finished
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
            at = round_time(person.index, day, round_name) + timedelta(hours=1)
            person.dismissed = (recheck, at, "复测体温正常，排除发热")
        in_isolation = [p for p in recent if not p.kind and p.arrived.date() <= self.day(2)]
        fevered = pick(in_isolation, 1, lambda p: True)
        for person in fevered:
            person.readings[(self.day(1), "afternoon")] = ("37.5", "")
        for n, person in enumerate(pick(in_isolation, 3, lambda p: True)):
            person.readings[(self.today, "morning")] = ("r" if n == 2 else "m", "")
        if self.finished:
            self._finish(fevered)

    def _finish(self, fevered: list[PersonPlan]) -> None:
        """What was open at the period's end, closed as it would have been: the
        waiting fever rechecked normal, the open incidents handled at noon, and
        everyone still in isolation released home on the morning they were due (those
        held on a retest, the next morning)."""
        rng = self.rng
        for person in fevered:
            at = round_time(person.index, self.day(1), "afternoon") + timedelta(hours=1)
            person.dismissed = (RECHECKED_LATER[0], at, RECHECKED_LATER[1])
        noon = self.midnight + timedelta(hours=12)
        for incident in self.incidents:
            if incident.handled is None:
                incident.handled = noon
                incident.resolution = CLOSED_LATER[incident.kind]
        for person in self.persons:
            if person.kind:
                continue
            person.retest_pending = False
            person.kind = "released_home"
            on = max(person.due, self.today + timedelta(days=1))
            person.leave = datetime.combine(on, datetime.min.time()) + timedelta(
                hours=8, minutes=30 + rng.randrange(180)
            )

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
                occurred=sample_time(person, person.positive_day),
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
            occurred=round_time(fever_out.index, day, round_name),
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
                incident.occurred = round_time(person.index, day, "morning")
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
                occurred=round_time(waiting.index, yesterday, "morning"),
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


def make_plan(today: date, period: int = 0) -> Plan:
    """One period of the demo, deterministic for a given day; nothing is written.

    Period 0 is today's: the seed article's people up to today, some still in
    isolation and a few incidents open. Period ``n`` (an earlier one of a scaled
    demo) is another 1371 people and 14 incidents ``n`` times ``PERIOD_DAYS``
    before, in the same points and rooms, run to its end: everyone gone, every
    incident closed."""
    specs = point_specs()
    layout_rng = random.Random("isolation-tui demo points")
    rooms = {s.code: make_rooms(layout_rng, s.border) for s in specs}
    suffix = f" {period}" if period else ""
    # Its own today: people born then, ages as they were.
    ended = today - timedelta(days=period * PERIOD_DAYS)
    people = People(random.Random("isolation-tui demo people" + suffix), ended)
    # Indexes unique over every period: each draws its readings from its own.
    people.count = period * 1_000_000
    events: list[Event] = []
    seq = 0

    def event(at: datetime, order: int, what: Any) -> None:
        nonlocal seq
        events.append((at, order, seq, what))
        seq += 1

    planner = _Planner(period, ended, people, specs, finished=period > 0)
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
    events.sort(key=lambda e: e[:3])

    beds = {s.code: _Beds(s, rooms[s.code]) for s in specs}
    rng = random.Random("isolation-tui demo rooms" + suffix)
    for _at, _order, _seq, what in events:
        if isinstance(what, Batch):
            _place(what, beds, rng)
        elif isinstance(what, PersonPlan):
            beds[what.point].leave(what.room)
    return Plan(specs, rooms, events, len(planner.persons), len(planner.incidents))


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
