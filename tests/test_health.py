"""Health rounds and tests in the domain and the store."""

from __future__ import annotations

from datetime import date

import pytest

from isolation_tui.domain.errors import FieldError, ValidationFailed
from isolation_tui.domain.health import parse_temperature, planned_test_days
from isolation_tui.headless.check import problems
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, TESTS


@pytest.mark.parametrize(
    ("typed", "value"),
    [("365", 36.5), ("36.5", 36.5), ("37", 37.0), ("3725", 37.2), ("38,4", 38.4), ("42.5", 42.5)],
)
def test_temperatures_as_typed(typed: str, value: float) -> None:
    assert parse_temperature(typed) == value


@pytest.mark.parametrize("typed", ["", "abc", "3", "36.55.1", "-36", "三十六"])
def test_not_a_temperature(typed: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_temperature(typed)
    assert caught.value.key == "error.bad_temperature"


@pytest.mark.parametrize("typed", ["339", "33.9", "426", "45"])
def test_out_of_range(typed: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_temperature(typed)
    assert caught.value.key == "error.temperature_range"


def test_the_last_test_is_on_the_last_day() -> None:
    assert planned_test_days([1, 4, 7, 14], 14) == [1, 4, 7, 14]
    assert planned_test_days([1, 4, 7, 14], 21) == [1, 4, 7, 14, 21]
    assert planned_test_days([1, 4, 7, 14], 10) == [1, 4, 7, 10]


@pytest.fixture
def point(store: Store) -> Store:
    rooms = [{"code": f"30{i}", "floor": "3", "beds": 1, "blocked": False} for i in range(1, 6)]
    store.save_point("DD01", "一号点", rooms)
    return store


def arrive(store: Store, number: str, arrived: str = "2026-11-20 10:00") -> int:
    return store.stays.register(
        {
            "point": "DD01",
            "name": f"旅客{number}",
            "id_type": "passport",
            "id_number": number,
            "category": "inbound",
            "arrived_at": arrived,
        }
    )


def plan(store: Store, stay_id: int) -> list[tuple[int, str, str]]:
    return [
        (t["planned_day"], t["planned_date"], t["result"])
        for _, t in store.health.tests_of(stay_id)
    ]


def test_tests_are_planned_with_the_arrival_and_follow_extensions(point: Store) -> None:
    stay = arrive(point, "P1")
    assert plan(point, stay) == [
        (1, "2026-11-20", "pending"),
        (4, "2026-11-23", "pending"),
        (7, "2026-11-26", "pending"),
        (14, "2026-12-03", "pending"),
    ]
    point.stays.extend(stay, "-4", "shortened")
    assert plan(point, stay)[-1] == (10, "2026-11-29", "pending")
    assert [d for d, _, _ in plan(point, stay)] == [1, 4, 7, 10]
    point.stays.extend(stay, "+11", "contact of a case")
    assert [d for d, _, _ in plan(point, stay)] == [1, 4, 7, 14, 21]
    voided = [t for t in point.rows(TESTS).values() if t.get("voided")]
    assert [t["planned_day"] for t in voided] == [14, 10]


def test_a_round_is_stored_and_entering_again_corrects_it(point: Store) -> None:
    stay = arrive(point, "P1")
    check_id, draft, _ = point.health.record_check(stay, "2026-11-29", "morning", "365", at="08:10")
    assert draft is None
    check = point.get(CHECKS, check_id)
    assert check is not None
    assert (check["temperature"], check["status"], check["at"]) == (
        36.5,
        "well",
        "2026-11-29 08:10",
    )
    assert check["created"]["who"] == "tester"
    again, _, _ = point.health.record_check(stay, "2026-11-29", "morning", "m")
    assert again == check_id and point.get(CHECKS, check_id)["status"] == "missed"  # type: ignore[index]
    last = list(point.rows(AUDIT).values())[-1]
    assert (last["action"], last["before"]["status"], last["after"]["status"]) == (
        "correct",
        "well",
        "missed",
    )


def test_bad_values_store_nothing(point: Store) -> None:
    stay = arrive(point, "P1")
    before = len(point.rows(AUDIT))
    for value in ("abc", "33", "430"):
        with pytest.raises(FieldError):
            point.health.record_check(stay, "2026-11-29", "morning", value)
    with pytest.raises(FieldError):
        point.health.record_check(stay, "2026-11-30", "morning", "365")  # a future day
    assert point.rows(CHECKS) == {} and len(point.rows(AUDIT)) == before


def test_a_fever_opens_one_draft_incident_to_confirm(point: Store) -> None:
    stay = arrive(point, "P1")
    _, draft, _ = point.health.record_check(stay, "2026-11-29", "morning", "385", at="08:00")
    assert draft is not None
    incident = point.get(INCIDENTS, draft)
    assert incident is not None
    assert (incident["status"], incident["kind"], incident["severity"]) == ("draft", "fever", 3)
    assert "38.5" in incident["summary"] and incident["stays"] == [stay]
    _, again, _ = point.health.record_check(stay, "2026-11-29", "morning", "376")
    assert again == draft  # the same draft, not a second one
    counters = point.counters()["DD01"]
    assert (counters.incidents_draft, counters.incidents_open) == (1, 0)
    point.incidents.confirm(draft)
    assert point.counters()["DD01"].incidents_open == 1
    with pytest.raises(FieldError):
        point.incidents.confirm(draft)


def test_a_positive_test_holds_a_release_home_until_overridden(point: Store) -> None:
    stay = arrive(point, "P1", "2026-11-15 10:00")  # due 2026-11-29: today
    tests = point.health.tests_of(stay)
    draft = point.health.record_result(tests[-1][0], "阳性", "09:00")
    assert draft is not None and point.get(INCIDENTS, draft)["kind"] == "positive_test"  # type: ignore[index]
    fields = {"stay": str(stay), "discharged_at": "now", "kind": "released_home"}
    with pytest.raises(FieldError) as held:
        point.stays.discharge(fields)
    assert held.value.field == "override" and "positive" in held.value.message
    assert point.rows(DISCHARGES) == {}
    discharge_id = point.stays.discharge({**fields, "override": "retest negative at the CDC lab"})
    assert point.get(DISCHARGES, discharge_id)["test_override"] == "retest negative at the CDC lab"  # type: ignore[index]
    created = [a for a in point.rows(AUDIT).values() if a["table"] == DISCHARGES]
    assert created[0]["after"]["test_override"] == "retest negative at the CDC lab"


def test_a_negative_last_test_lets_them_go_home(point: Store) -> None:
    stay = arrive(point, "P1", "2026-11-15 10:00")
    point.health.record_result(point.health.tests_of(stay)[-1][0], "negative", "2026-11-28 08:00")
    point.stays.discharge({"stay": str(stay), "discharged_at": "now", "kind": "released_home"})
    assert point.counters()["DD01"].released_home == 1


def test_results_are_checked(point: Store) -> None:
    stay = arrive(point, "P1")
    first = point.health.tests_of(stay)[0][0]
    with pytest.raises(FieldError):
        point.health.record_result(first, "maybe")
    with pytest.raises(FieldError):
        point.health.record_result(first, "negative", "2026-11-19 10:00")  # before arrival
    with pytest.raises(FieldError):
        point.health.record_result(first, "negative", "2026-11-30 10:00")  # future


def test_tests_due_and_missed_checks_are_counted(point: Store) -> None:
    stay = arrive(point, "P1")
    other = arrive(point, "P2")
    due = point.health.tests_due("DD01", date(2026, 11, 29))
    assert [t["planned_day"] for _, t in due] == [1, 1, 4, 4, 7, 7]
    point.health.record_check(stay, "2026-11-29", "morning", "366")
    counters = point.counters()["DD01"]
    # 09:30: the morning round is not over yet, so nothing counts as missed.
    assert (counters.tests_due, counters.missed_checks) == (6, 0)
    assert point.health.missed_checks("DD01", point.clock().replace(hour=11)) == 1
    assert other in point.open_stays("DD01")


def test_rounds_go_by_floor_and_room(point: Store) -> None:
    for number, room in (("A", "305"), ("B", "301"), ("C", "303")):
        point.stays.register(
            {
                "point": "DD01",
                "room": room,
                "name": number,
                "id_type": "passport",
                "id_number": number,
                "category": "inbound",
                "arrived_at": "2026-11-20 10:00",
            }
        )
    assert [s["room"] for _, s in point.health.round_people("DD01")] == ["301", "303", "305"]


def test_early_release_needs_both_note_and_test(point: Store) -> None:
    stay = arrive(point, "P1")  # due 2026-12-04
    with pytest.raises(ValidationFailed):
        point.stays.discharge({"stay": str(stay), "discharged_at": "now", "kind": "released_home"})


def test_a_point_sets_its_own_schedule(point: Store) -> None:
    assert point.health.set_schedule("DD01", "境外回国", "1, 3,5") == [1, 3, 5]
    stay = arrive(point, "P1")
    assert [d for d, _, _ in plan(point, stay)] == [1, 3, 5, 14]
    for bad in ("", "0,3", "a,b", "1,200"):
        with pytest.raises(FieldError):
            point.health.set_schedule("DD01", "inbound", bad)
    with pytest.raises(FieldError):
        point.health.set_schedule("XX", "inbound", "1")


def test_check_finds_a_release_home_without_a_negative_last_test(point: Store) -> None:
    stay = arrive(point, "P1", "2026-11-15 10:00")
    point.health.record_check(stay, "2026-11-29", "morning", "366")
    point.stays.discharge(
        {"stay": str(stay), "discharged_at": "now", "kind": "released_home", "override": "CDC ok"}
    )
    assert list(problems(point)) == []
    # Damage the record by hand, as a bug or an editor might: check must say so.
    with point.transaction():
        discharge_id = point.get("stays", stay)["discharge"]  # type: ignore[index]
        point.table(DISCHARGES).update({"test_override": ""}, doc_ids=[discharge_id])
    assert any("without a negative last test" in p for p in problems(point))


def test_a_check_marked_missed_counts_at_once(point: Store) -> None:
    stay = arrive(point, "P1")
    assert point.health.missed_checks("DD01", point.clock()) == 0  # 09:30: round not over yet
    point.health.record_check(stay, "2026-11-29", "morning", "m")
    assert point.health.missed_checks("DD01", point.clock()) == 1


def test_a_sample_taken_days_early_cannot_fill_a_later_test(point: Store) -> None:
    stay = arrive(point, "P1")  # tests planned 11-20, 11-23, 11-26, 12-03
    last_id = point.health.tests_of(stay)[-1][0]
    with pytest.raises(FieldError) as early:
        point.health.record_result(last_id, "negative", "2026-11-29 09:00")
    assert early.value.field == "taken_at" and "2026-12-03" in early.value.message
    assert point.health.tests_of(stay)[-1][1]["result"] == "pending"
    fourth_day = point.health.tests_of(stay)[1][0]
    point.health.record_result(fourth_day, "negative", "2026-11-22 09:00")  # a day early: fine
