"""Health rounds and tests, the store's ``health`` service: the test schedule,
planned tests kept in step with each stay, their results, the rounds' checks, and
what follows from them (a draft incident for a fever or a positive result; no
release home before the last planned test is negative, unless overridden), and
what is due or missed. It takes the store: every change runs in the store's
transaction and is audited by it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ..domain.codes import CATEGORY
from ..domain.errors import FieldError
from ..domain.health import (
    CHECK_STATUS,
    DEFAULT_TEST_DAYS,
    ROUND,
    TEST_RESULT,
    day_date,
    fever_summary_of,
    incident_summary,
    is_fever,
    parse_temperature,
    planned_test_days,
    positive_summary_of,
    round_end,
    round_fits,
    round_start,
)
from ..domain.records import is_live
from ..domain.rules import clean_text, require_reason
from ..domain.timeparse import format_time, parse_time
from ..i18n import t
from .service import Service
from .tables import CHECKS, DISCHARGES, INCIDENTS, POINTS, STAYS, TESTS

SEVERE_FEVER = 38.5


class HealthService(Service):
    """Health rounds and tests of the store's stays (``store.health``)."""

    # ------------------------------------------------------------------ tests planned

    def schedule(self, point: str, category: str) -> list[int]:
        doc = self.store.point(point) or {}
        schedules = doc.get("test_days") or DEFAULT_TEST_DAYS
        return list(schedules.get(category, DEFAULT_TEST_DAYS.get(category, [1, 14])))

    def set_schedule(self, point: str, category: str, days: str) -> list[int]:
        """A point's own test days for a category (``1,4,7,14``); applies to arrivals
        from now on (stays already planned keep their plan until extended)."""
        if CATEGORY.parse(category) is None:
            raise FieldError(
                "category", "error.unknown_code", value=category, choices=CATEGORY.choices()
            )
        try:
            wanted = sorted({int(d) for d in days.replace("，", ",").split(",") if d.strip()})
        except ValueError as exc:
            raise FieldError("days", "error.bad_days", value=days) from exc
        if not wanted or wanted[0] < 1 or wanted[-1] > 90:
            raise FieldError("days", "error.bad_days", value=days)
        with self.store.transaction():
            doc_id = self.store._index.point_ids.get(point)
            if doc_id is None:
                raise FieldError("point", "error.unknown_point", value=point)
            current = (self.store.point(point) or {}).get("test_days") or dict(DEFAULT_TEST_DAYS)
            schedule = {**current, CATEGORY.parse(category): wanted}
            self.store._change(POINTS, doc_id, {"test_days": schedule}, "correct")
        return wanted

    def plan(self, stay_id: int) -> None:
        """Inside a transaction: make the stay's planned tests match its length.

        Tests already taken stay as they are; pending ones are added, moved or
        removed (voided) so that the plan is the schedule plus the last day."""
        stay = self.store._stay(stay_id)
        total = stay["quarantine_days"] + sum(e["days"] for e in stay["extensions"])
        wanted = planned_test_days(self.schedule(stay["point"], stay["category"]), total)
        arrived = date.fromisoformat(stay["arrived_at"][:10])
        pending: dict[int, int] = {}
        for test_id, test in self.tests_of(stay_id):
            if test["result"] == "pending" and not test["taken_at"]:
                pending[test["planned_day"]] = test_id
            elif test["planned_day"] in wanted:
                wanted.remove(test["planned_day"])
                self._redate(test_id, test, arrived)
        for day, test_id in pending.items():
            if day in wanted:
                wanted.remove(day)
                self._redate(test_id, self.store.get(TESTS, test_id) or {}, arrived)
            else:
                replanned = {"voided": {**self.store._stamp(), "reason": t("health.replanned")}}
                self.store._change(TESTS, test_id, replanned, "void")
        for day in wanted:
            self.store._create(
                TESTS,
                {
                    "stay": stay_id,
                    "point": stay["point"],
                    "planned_day": day,
                    "planned_date": day_date(arrived, day).isoformat(),
                    "kind": "nucleic_acid",
                    "result": "pending",
                    "taken_at": "",
                },
            )

    def _redate(self, test_id: int, test: dict[str, Any], arrived: date) -> None:
        """A planned test follows its stay's arrival (a corrected arrival moves them all);
        a result entered stays as it was, and :meth:`off_plan` says when it no longer fits."""
        planned = day_date(arrived, test["planned_day"]).isoformat()
        if test["planned_date"] != planned:
            self.store._change(TESTS, test_id, {"planned_date": planned}, "replan")

    def redate(self, stay_id: int) -> None:
        """Inside a transaction: every test of the stay planned from its arrival."""
        arrived = date.fromisoformat(self.store._stay(stay_id)["arrived_at"][:10])
        for test_id, test in self.tests_of(stay_id):
            self._redate(test_id, test, arrived)

    def off_plan(self, stay_id: int) -> list[str]:
        """The results entered for a stay that no longer fit it (after its arrival was
        corrected, say): a sample taken before the arrival or too early for its planned
        test, a check of a round the person was not there for."""
        stay = self.store.get(STAYS, stay_id)
        if stay is None or not is_live(stay):
            return []
        found = []
        for test_id, test in self.tests_of(stay_id):
            taken = test["taken_at"]
            if taken and (taken < stay["arrived_at"] or not may_fill(test, taken)):
                found.append(
                    t(
                        "check.test_off_plan",
                        id=test_id,
                        stay=stay_id,
                        taken=taken,
                        day=test["planned_day"],
                        planned=test["planned_date"],
                    )
                )
        left = self.left_at(stay)
        rows = self._stay_rows(CHECKS, stay_id)
        for check_id in sorted(self.store._index.checks_of_stay.get(stay_id, ())):
            check = rows[str(check_id)]
            if not round_fits(check["day"], check["round"], stay["arrived_at"], left):
                found.append(
                    t(
                        "check.check_off_plan",
                        id=check_id,
                        stay=stay_id,
                        day=check["day"],
                        round=ROUND.label(check["round"]),
                        arrived=stay["arrived_at"],
                        left=left or "-",
                    )
                )
        return found

    def check_leave(self, stay_id: int, left_at: str) -> None:
        """Refuse to let a stay end at ``left_at`` before one of its readings: the
        reading would then stand for a round the person was not there for."""
        stay = self.store._stay(stay_id)
        rows = self._stay_rows(CHECKS, stay_id)
        for check_id in sorted(self.store._index.checks_of_stay.get(stay_id, ())):
            check = rows[str(check_id)]
            if not is_live(check):
                continue
            if check["at"] <= left_at and round_fits(
                check["day"], check["round"], stay["arrived_at"], left_at
            ):
                continue
            temperature = check["temperature"]
            raise FieldError(
                "discharged_at",
                "error.discharge_before_reading",
                left=left_at,
                day=check["day"],
                round=ROUND.label(check["round"]),
                value=f"{temperature:.1f} °C"
                if temperature is not None
                else CHECK_STATUS.label(check["status"]),
                at=check["at"],
                since=max(check["at"], round_start(check["day"], check["round"])),
            )

    def left_at(self, stay: dict[str, Any]) -> str:
        """When the person left (their live discharge's time), or "" while there."""
        discharge = self.store.get(DISCHARGES, stay.get("discharge") or 0)
        return discharge["at"] if discharge and is_live(discharge) else ""

    def _stay_rows(self, table: str, stay_id: int) -> dict[str, Any]:
        """The checks or tests to look up a stay's in: the live set's when they are
        all there, else (the index rebuilt with it) all of them, history read in."""
        # A stay in the live set has them there (they are sealed with it), but not
        # one sealed, then changed (reopened by a correction): they stayed sealed.
        key = str(stay_id)
        replaced = self.store.db.storage.sealed_outside()[1].get(STAYS, {})
        if key in self.store.live_rows(STAYS) and key not in replaced:
            return self.store.live_rows(table)
        return self.store.rows(table)

    def tests_of(self, stay_id: int) -> list[tuple[int, dict[str, Any]]]:
        """The stay's live tests by planned day."""
        rows = self._stay_rows(TESTS, stay_id)
        found = [
            (test_id, rows[str(test_id)])
            for test_id in self.store._index.tests_of.get(stay_id, [])
            if is_live(rows[str(test_id)])
        ]
        return sorted(found, key=lambda item: item[1]["planned_day"])

    def release_block(self, stay_id: int) -> str:
        """Why this stay may not go home yet ("" when it may): its last planned test
        is not negative. Stays recorded before tests were planned are not held."""
        tests = self.tests_of(stay_id)
        if not tests:
            return ""
        _, last = tests[-1]
        if last["result"] == "negative":
            return ""
        positives = [test for _, test in tests if test["result"] == "positive"]
        if positives:
            # Say the positive one: it is why this person is held, whatever is pending.
            last = positives[-1]
        return t(
            "error.last_test_not_negative",
            day=last["planned_day"],
            date=last["planned_date"],
            result=TEST_RESULT.label(last["result"]),
        )

    # ------------------------------------------------------------------ results

    def record_result(self, test_id: int, result: str, taken_at: str = "") -> int | None:
        """Enter a result; a positive one opens a draft incident (its id is returned)."""
        code = TEST_RESULT.parse(result)
        if code is None or code == "pending":
            raise FieldError(
                "result", "error.unknown_code", value=result, choices="negative, positive"
            )
        with self.store.transaction():
            test = self.store.get(TESTS, test_id)
            if test is None or not is_live(test):
                raise FieldError("id", "error.no_record", table=TESTS, id=test_id)
            stay = self.store._stay(test["stay"])
            when = self._moment("taken_at", taken_at, stay["arrived_at"])
            if not may_fill(test, when):
                # A sample taken days early cannot stand for a later planned test: the
                # last one is what lets someone go home.
                raise FieldError(
                    "taken_at",
                    "error.sample_too_early",
                    day=test["planned_day"],
                    planned=test["planned_date"],
                )
            action = "correct" if test["result"] != "pending" else "result"
            self.store._change(TESTS, test_id, {"result": code, "taken_at": when}, action)
            if test["result"] == "positive" and code != "positive":
                self._void_positive_draft(test["stay"], test["taken_at"], code)
            if code == "positive":
                return self._draft_incident(
                    stay,
                    test["stay"],
                    "positive_test",
                    4,
                    positive_summary_of(stay["person"]["name"], stay["room"]),
                    when,
                )
            return None

    def _moment(self, field: str, text: str, not_before: str) -> str:
        now = self.store.clock()
        moment = parse_time(text or "now", now)
        if moment is None:
            raise FieldError(field, "error.bad_time", value=text)
        if moment > now:
            raise FieldError(field, "error.future", value=format_time(moment))
        when = format_time(moment)
        if when < not_before:
            raise FieldError(field, "error.before_arrival", value=when, arrived=not_before)
        return when

    # ------------------------------------------------------------------ rounds

    def check_of(self, stay_id: int, day: str, round_name: str) -> int | None:
        return self.store._index.check_of.get((stay_id, day, round_name))

    def record_check(
        self,
        stay_id: int,
        day: str,
        round_name: str,
        value: str,
        symptoms: str = "",
        at: str = "",
    ) -> tuple[int, int | None, tuple[str, int] | None]:
        """One person's check in one round: a temperature (``365`` is 36.5), ``m``
        (missed) or ``r`` (refused), taken ``at`` (default now). Entering it again
        corrects it. A fever opens a draft incident for the supervisor to confirm.
        Returns (check, draft or None, what became of the draft the corrected reading
        had raised: ("voided" | "updated" | "confirmed", incident) or None)."""
        if ROUND.parse(round_name) is None:
            raise FieldError(
                "round", "error.unknown_code", value=round_name, choices=ROUND.choices()
            )
        raw = clean_text(value).lower()
        temperature: float | None = None
        if raw in ("m", "missed", "未测"):
            status = "missed"
        elif raw in ("r", "refused", "拒测"):
            status = "refused"
        else:
            temperature = parse_temperature(raw)
            status = "unwell" if is_fever(temperature) or clean_text(symptoms) else "well"
        with self.store.transaction():
            stay = self.store._stay(stay_id)
            if stay["status"] != "open":
                raise FieldError("id", "error.stay_not_open")
            if day > self.store.clock().date().isoformat():
                raise FieldError("day", "error.future", value=day)
            if not round_fits(day, round_name, stay["arrived_at"]):
                raise FieldError(
                    "round",
                    "error.round_before_arrival",
                    round=ROUND.label(round_name),
                    day=day,
                    end=round_end(day, round_name)[11:],
                    arrived=stay["arrived_at"],
                )
            when = self._moment("at", at, stay["arrived_at"])
            if when < round_start(day, round_name):
                # A reading counts for the round being walked: one taken before it
                # began would later contradict a discharge between the two.
                raise FieldError(
                    "round",
                    "error.round_not_begun",
                    round=ROUND.label(round_name),
                    day=day,
                    start=round_start(day, round_name)[11:],
                    at=when,
                )
            record = {
                "stay": stay_id,
                "point": stay["point"],
                "day": day,
                "round": round_name,
                "at": when,
                "temperature": temperature,
                "symptoms": clean_text(symptoms),
                "status": status,
            }
            existing = self.check_of(stay_id, day, round_name)
            revisited = None
            if existing is None:
                check_id = self.store._create(CHECKS, record)
            else:
                before = dict(self.store.get(CHECKS, existing) or {})
                self.store._change(CHECKS, existing, record, "correct")
                check_id = existing
                revisited = self._revisit_draft(stay, stay_id, before, record)
            draft = None
            if is_fever(temperature):
                draft = self._draft_incident(
                    stay, stay_id, "fever", *self._fever_text(stay, record), when
                )
            return check_id, draft, revisited

    def _fever_text(
        self, stay: dict[str, Any], check: dict[str, Any]
    ) -> tuple[int, dict[str, str]]:
        """A fever draft's severity and what it says, from the reading that raised it."""
        temperature = check["temperature"]
        said = fever_summary_of(
            stay["person"]["name"], stay["room"], temperature, check["round"], check["symptoms"]
        )
        return (3 if temperature >= SEVERE_FEVER else 2), said

    def _revisit_draft(
        self,
        stay: dict[str, Any],
        stay_id: int,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> tuple[str, int] | None:
        """A corrected reading that had raised a fever draft: the draft follows it
        (updated to the new fever, or voided when there is none), audited. A draft
        already confirmed is a supervisor's decision: it stays, and is named."""
        if not is_fever(before.get("temperature")):
            return None
        for incident_id in self.store._index.incidents_of.get(stay_id, []):
            incident = self.store.get(INCIDENTS, incident_id) or {}
            raised = incident.get("kind") == "fever" and incident.get("occurred_at") == before["at"]
            if not raised or not is_live(incident):
                continue
            if incident["status"] != "draft":
                return ("confirmed", incident_id)
            now = f"{after['temperature']:.1f}" if after["temperature"] else "-"
            why = t("health.reading_corrected", before=f"{before['temperature']:.1f}", after=now)
            if is_fever(after["temperature"]):
                severity, said = self._fever_text(stay, after)
                changes = {
                    "severity": severity,
                    "summary": incident_summary({"summary_of": said}),
                    "summary_of": said,
                    "occurred_at": after["at"],
                }
                self.store._change(INCIDENTS, incident_id, changes, "correct", why)
                return ("updated", incident_id)
            voided = {"voided": {**self.store._stamp(), "reason": why}}
            self.store._change(INCIDENTS, incident_id, voided, "void", why)
            return ("voided", incident_id)
        return None

    def _void_positive_draft(self, stay_id: int, taken_at: str, code: str) -> None:
        """A positive corrected away: the draft it raised goes with it, audited. A
        draft already confirmed is a supervisor's decision, and stays."""
        for incident_id in self.store._index.incidents_of.get(stay_id, []):
            incident = self.store.get(INCIDENTS, incident_id) or {}
            if (
                incident.get("kind") == "positive_test"
                and incident.get("occurred_at") == taken_at
                and incident.get("status") == "draft"
                and is_live(incident)
            ):
                why = t(
                    "health.result_corrected",
                    before=TEST_RESULT.label("positive"),
                    after=TEST_RESULT.label(code),
                )
                voided = {"voided": {**self.store._stamp(), "reason": why}}
                self.store._change(INCIDENTS, incident_id, voided, "void", why)

    def _draft_incident(
        self,
        stay: dict[str, Any],
        stay_id: int,
        kind: str,
        severity: int,
        said: dict[str, str],
        at: str,
    ) -> int | None:
        """An incident for the supervisor to confirm (or void): the program noticed
        it, a person decides. One open draft of a kind per person is enough; while an
        incident of that kind is open for the person (confirmed, not yet handled), a
        new reading is part of it, and no draft is made (None)."""
        for incident_id in self.store._index.incidents_of.get(stay_id, []):
            incident = self.store.get(INCIDENTS, incident_id) or {}
            if not is_live(incident) or incident.get("kind") != kind:
                continue
            if incident.get("status") == "draft":
                return incident_id
            if incident.get("status") == "open":
                return None
        return self.store._create(
            INCIDENTS,
            {
                "point": stay["point"],
                "occurred_at": at,
                "kind": kind,
                "severity": severity,
                STAYS: [stay_id],
                # The text in this session's language, for readers of the raw record;
                # every screen and report says it from the data in its reader's.
                "summary": incident_summary({"summary_of": said}),
                "summary_of": said,
                "actions": [],
                "reported_to": "",
                "status": "draft",
                "handled_at": "",
                "resolution": "",
            },
        )

    def release_override(self, stay_id: int, reason: str) -> str:
        """The reason a supervisor gives to release home despite the tests."""
        block = self.release_block(stay_id)
        if not block:
            return ""
        if not clean_text(reason):
            raise FieldError("override", "error.release_blocked", why=block)
        return require_reason(reason)

    # ------------------------------------------------------------------ due lists

    def round_people(self, point: str) -> list[tuple[int, dict[str, Any]]]:
        """Everyone in isolation at the point, by floor and room: the round's order."""
        stays = self.store.open_stays(point)
        return sorted(stays.items(), key=lambda item: _room_key(item[1]))

    def tests_due(self, point: str | None, today: date) -> list[tuple[int, dict[str, Any]]]:
        """Pending tests planned for today or before, of people in isolation."""
        due = []
        for stay_id in self.store.open_stays(point):
            for test_id, test in self.tests_of(stay_id):
                if test["result"] == "pending" and test["planned_date"] <= today.isoformat():
                    due.append((test_id, test))
        return sorted(due, key=lambda item: (item[1]["planned_date"], item[0]))

    def missed_checks(self, point: str | None, now: datetime) -> int:
        """Checks of today marked missed, and those still missing from a round that
        is over (:data:`ROUND_HOURS`: morning by 10:00, afternoon by 18:00) of people
        there when it began."""
        today = now.date().isoformat()
        moment = format_time(now)
        over = {name: moment >= round_end(today, name) for name in ROUND.codes}
        missed = 0
        for stay_id, stay in self.store.open_stays(point).items():
            for round_name, round_over in over.items():
                check_id = self.check_of(stay_id, today, round_name)
                check = self.store.get(CHECKS, check_id) if check_id else None
                if check is not None:
                    missed += check["status"] == "missed"
                elif round_over and stay["arrived_at"] <= round_start(today, round_name):
                    # Someone who arrived after the round began was not there for it.
                    missed += 1
        return missed


SAMPLE_EARLY = timedelta(days=1)


def may_fill(test: dict[str, Any], taken_at: str) -> bool:
    """A sample taken ``taken_at`` counts for ``test`` from the day before it is planned."""
    planned = date.fromisoformat(test["planned_date"])
    return date.fromisoformat(taken_at[:10]) >= planned - SAMPLE_EARLY


def _room_key(stay: dict[str, Any]) -> tuple[int, str]:
    digits = "".join(ch for ch in stay["room"] if ch.isdecimal())
    return (int(digits) if digits else 0, stay["room"])
