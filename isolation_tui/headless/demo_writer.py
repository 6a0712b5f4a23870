"""The demo's writer: stores the timeline's events through the :class:`Store` API,
each at its own time on the demo's clock, so every rule is checked and every record
audited exactly as if supervisors had typed it in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..domain.codes import DEFAULT_QUARANTINE_DAYS
from ..domain.timeparse import format_time
from ..storage.repository import Store
from ..storage.tables import INCIDENTS
from .demo_data import REGION_NAMES
from .demo_people import Batch, IncidentPlan, PersonPlan
from .demo_plan import Plan
from .demo_staff import StaffEvent
from .demo_supplies import SupplyMove
from .demo_timeline import Action, Check, Dismissal, Result


class DemoClock:
    """The store's clock while the demo is written: each record is written at the
    time it happened, so its audit entry (and a handover's window) says so too."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Writer:
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
        elif isinstance(what, SupplyMove):
            self.store.supplies.record(what.kind, what.fields)
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
