"""Corrections carry through: a supervisor's correction or void leaves every record,
list and counter saying what was really done. Driven by Pilot at 80×24."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from conftest import Clock
from textual.widgets import Input, Select, Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless.check import problems
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, STAYS, TESTS
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 30))


@pytest.fixture
def point(store_location: str, clock: Clock) -> Iterator[Store]:
    store = open_store(store_location, create=True, actor=Actor("tester"), clock=clock)
    rooms = [{"code": f"{100 + n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2, 3)]
    store.save_point("DD01", "一号点", rooms)
    yield store
    store.close()


def arrive(store: Store, number: str, at: str, room: str = "") -> int:
    return store.stays.register(
        {
            "point": "DD01",
            "room": room,
            "name": f"住客{number}",
            "id_type": "passport",
            "id_number": number,
            "category": "inbound",
            "arrived_at": at,
        }
    )


def cell_text(app: IsolationApp, key: str) -> str:
    return str(app.screen.query_one(f"#counter-{key}", CounterCell).content)


def status_of(app: IsolationApp, widget: str = "#form-status") -> str:
    return str(app.screen.query_one(widget, Static).content)


def rows_of(app: IsolationApp) -> list[str]:
    table = app.screen.query_one(RecordTable)
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_correcting_the_arrival_replans_its_tests(point: Store) -> None:
    """Typed as 2020-01-01, corrected to now: the tests follow, none overdue in 2020;
    a result entered before the correction stays, flagged."""
    stay = arrive(point, "P1", "2020-01-01 08:00")
    first, _ = point.health.tests_of(stay)[0]
    point.health.record_result(first, "negative", "2020-01-01 09:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert "tests 3" in cell_text(app, "health")  # days 4, 7 and 14 of 2020
        await pilot.press("f2")
        await pilot.pause()
        # The year shows (not this year); the hour is on the detail view, so the row fits.
        assert "2020-01-01" in rows_of(app)[0] and "01-01 08:00" not in rows_of(app)[0]
        await pilot.press("c")
        await pilot.pause()
        arrived = app.screen.query_one("#field-arrived_at", Input)
        arrived.value = ""
        app.screen.set_focus(arrived)
        await pilot.press(*"now")
        app.screen.set_focus(app.screen.query_one("#field-reason", Input))
        await pilot.press(*"typed the year wrong", "ctrl+s")
        await pilot.pause()
        assert "no longer fit" in " ".join(str(n.message) for n in app._notifications)
        assert "tests 0" in cell_text(app, "health")
        assert cell_text(app, "due") == "Due 0 (+0 late)"
        await pilot.press("enter")  # the stay in full: the result that no longer fits
        await pilot.pause()
        detail = str(app.screen.query_one("#detail-text", Static).content)
        # What is wrong, said: taken before the (corrected) arrival.
        assert (
            "⚑ test 1 of person 1: sample taken 2020-01-01 09:00, before the arrival at "
            "2026-11-29 09:30"
        ) in detail
    plan = [(test["planned_day"], test["planned_date"]) for _, test in point.health.tests_of(stay)]
    assert plan == [(1, "2026-11-29"), (4, "2026-12-02"), (7, "2026-12-05"), (14, "2026-12-12")]
    assert point.get(TESTS, first)["taken_at"] == "2020-01-01 09:00"  # type: ignore[index]
    found = list(problems(point))
    assert len(found) == 1 and "taken 2020-01-01 09:00" in found[0]
    replans = [e for e in point.rows(AUDIT).values() if e["action"] == "replan"]
    assert len(replans) == 4 and {e["os_user"] for e in replans} == {"tester"}


async def test_an_arrival_days_back_is_asked_about_first(point: Store) -> None:
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n", *"王五", "enter", *"P9")
        form = app.screen
        form.query_one("#field-id_type", Select).value = "passport"
        arrived = form.query_one("#field-arrived_at", Input)
        arrived.value = "2026-11-20 08:00"  # 9 days back
        name = form.query_one("#field-name", Input)
        name.value = ""
        await pilot.press("ctrl+s")  # a rule broken is said first, nothing asked
        await pilot.pause()
        assert app.screen is form and "Name: is required" in status_of(app)
        name.value = "王五"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "more than 2 days ago" in status_of(app, "Static")
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is form and point.rows(STAYS) == {}
        assert "Not saved" in status_of(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        (stay,) = point.rows(STAYS).values()
        assert stay["arrived_at"] == "2026-11-20 08:00"
        # A few minutes ahead of the clock (within its tolerance) is asked about too.
        await pilot.press(*"王六", "enter", *"P10")
        form.query_one("#field-id_type", Select).value = "passport"
        arrived.value = "09:35"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "later than now" in status_of(app, "Static")
        await pilot.press("n")
        # An hour ahead is refused outright, nothing asked.
        arrived.value = "10:30"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form and "in the future" in status_of(app)
    assert len(point.rows(STAYS)) == 1


async def test_a_round_refuses_a_reading_from_before_the_arrival(
    point: Store, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 29, 14, 0)
    arrive(point, "P1", "2026-11-29 12:30")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        assert "Afternoon round" in status_of(app, "#screen-title")
        await pilot.press("ctrl+t")  # the morning round: over at 10:00, before the arrival
        await pilot.press(*"365", "enter")
        await pilot.pause()
        status = status_of(app, "#entry-status")
        assert status.startswith("Not saved.") and "before the arrival" in status, status
        assert point.rows(CHECKS) == {}
        await pilot.press("ctrl+t", *"365", "enter")
        await pilot.pause()
    (check,) = point.rows(CHECKS).values()
    assert check["round"] == "afternoon"


async def test_correcting_a_fever_reading_voids_its_draft(point: Store) -> None:
    arrive(point, "P1", "2026-11-15 10:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        await pilot.press(*"385", "enter")
        await pilot.pause()
        (draft,) = point.rows(INCIDENTS).values()
        assert draft["status"] == "draft" and "38.5" in draft["summary"]
        assert cell_text(app, "incidents") == "Handled 0 (open 0)"
        await pilot.press("up", *"385", "backspace", "backspace", *"75", "enter")
        await pilot.pause()
        (draft,) = point.rows(INCIDENTS).values()
        assert "37.5" in draft["summary"] and draft["severity"] == 2
        assert "updated" in status_of(app, "#entry-status")
        await pilot.press("up", *"366", "enter")
        await pilot.pause()
        assert "draft incident #1 voided" in status_of(app, "#entry-status")
    (draft,) = point.rows(INCIDENTS).values()
    assert draft["voided"]["reason"] == "the reading that raised it was corrected (37.5 → 36.6 °C)"
    actions = [e["action"] for e in point.rows(AUDIT).values() if e["table"] == INCIDENTS]
    assert actions == ["create", "correct", "void"]
    assert point.counters()["DD01"].incidents_draft == 0
    assert list(problems(point)) == []


async def test_another_kind_clears_the_hold_and_its_override(point: Store) -> None:
    arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14, today) is pending
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        banner = app.screen.query_one("#release-held", Static)
        override = app.screen.query_one("#field-override", Input)
        assert banner.display and override.display
        override.value = "doctor says fine"
        app.screen.query_one("#field-kind", Select).value = "hospital"
        await pilot.pause()
        assert not banner.display and not app.screen.query_one("#row-override").display
        assert override.value == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
    (discharge,) = point.rows(DISCHARGES).values()
    assert discharge["kind"] == "hospital" and not discharge.get("test_override")


async def test_another_kind_typed_in_clears_the_hold(point: Store) -> None:
    """As a supervisor does it: the kind chosen by typing its letter in the form."""
    arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14, today) is pending
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        app.screen.query_one("#field-kind", Select).focus()
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert app.screen.query_one("#field-kind", Select).value == "hospital"
        assert not app.screen.query_one("#release-held", Static).display
        assert not app.screen.query_one("#row-override").display
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is None or app.focused.id != "field-override"


async def test_voiding_a_discharge_whose_room_is_taken_says_so_in_its_terms(
    point: Store,
) -> None:
    arrive(point, "P1", "2026-11-15 10:00", room="101")
    point.stays.discharge({"stay": "1", "discharged_at": "08:00", "kind": "hospital"})
    arrive(point, "P2", "2026-11-29 08:30", room="101")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "tab", "v")
        await pilot.pause()
        await pilot.press(*"wrong person", "ctrl+s")
        await pilot.pause()
        status = status_of(app)
        assert status.startswith("Not saved. Void:"), status
        assert "room 101" in status and "住客P2" in status and "Room:" not in status
    assert point.rows(DISCHARGES)["1"].get("voided") is None


async def test_an_arrival_entered_by_mistake_is_voided_and_counted_nowhere(
    point: Store,
) -> None:
    arrive(point, "P1", "2026-11-15 10:00")
    mistake = arrive(point, "P2", "2026-11-20 10:00")
    point.health.record_check(mistake, "2026-11-29", "morning", "385", at="08:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Void (Arrivals)" in titles
        assert cell_text(app, "received") == "Received 2"
        assert cell_text(app, "health") == "Missed 0, tests 7"
        await pilot.press("f2")
        await pilot.pause()
        assert "住客P2" in rows_of(app)[0]  # newest first: under the cursor
        await pilot.press("v")
        await pilot.pause()
        assert "住客P2" in status_of(app, "#screen-title")
        await pilot.press(*"entered twice by mistake", "ctrl+s")
        await pilot.pause()
        assert cell_text(app, "received") == "Received 1"
        assert cell_text(app, "in_isolation") == "In isolation 1"
        assert cell_text(app, "health") == "Missed 0, tests 4"
        assert rows_of(app)[0].endswith("void")  # the status column, cut at 80 columns
    stay = point.rows(STAYS)[str(mistake)]
    assert stay["voided"]["reason"] == "entered twice by mistake"
    assert [e["action"] for e in point.history(STAYS, mistake)] == ["create", "void"]
    counters = point.counters()["DD01"]
    assert (counters.received, counters.incidents_draft, counters.tests_due) == (1, 0, 4)
    assert list(problems(point)) == []


def test_a_fever_while_its_incident_is_open_makes_no_second_draft(point: Store) -> None:
    """The supervisor confirmed the morning's fever; the afternoon's is part of that
    incident, not a new draft left waiting for ever."""
    stay = arrive(point, "P1", "2026-11-15 10:00")
    _, draft, _ = point.health.record_check(
        stay, "2026-11-28", "morning", "382", at="2026-11-28 08:10"
    )
    assert draft is not None
    point.incidents.confirm(draft)
    _, again, _ = point.health.record_check(
        stay, "2026-11-28", "afternoon", "376", at="2026-11-28 15:10"
    )
    assert again is None
    point.incidents.close(draft, "better", "2026-11-28 20:00")
    _, later, _ = point.health.record_check(stay, "2026-11-29", "morning", "379", at="08:10")
    assert later is not None and later != draft  # a new fever after it was handled
    assert point.counters()["DD01"].incidents_draft == 1


async def test_lists_show_the_year_when_it_is_not_this_year(point: Store) -> None:
    arrive(point, "P1", "2025-12-30 22:00")
    arrive(point, "P2", "2026-11-28 10:00")
    fields = {"point": "DD01", "kind": "facility", "severity": "1", "summary": "灯坏了"}
    point.incidents.open({**fields, "occurred_at": "2025-12-31 23:00"})
    point.incidents.open({**fields, "occurred_at": "2026-11-29 08:00"})
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        last_year, this_year = rows_of(app)[1], rows_of(app)[0]
        assert "2025-12-30" in last_year and "2026" not in this_year
        await pilot.press("f4")
        await pilot.pause()
        incidents = " ".join(rows_of(app))
        assert "2025-12-31 23:00" in incidents and "11-29 08:00" in incidents
        assert "2026-11-29" not in incidents


def test_check_reports_records_that_do_not_follow_their_stay(point: Store) -> None:
    """The rules above, as `check` verifies them on files changed another way: a
    planned date not following the arrival, a reading of a round before it, a draft
    left waiting about an arrival voided as a mistake."""
    stay = arrive(point, "P1", "2026-11-28 12:30")
    mistake = arrive(point, "P2", "2026-11-20 10:00")
    _, draft, _ = point.health.record_check(mistake, "2026-11-29", "morning", "385", at="08:00")
    check_id, _, _ = point.health.record_check(stay, "2026-11-29", "morning", "366", at="08:10")
    point.stays.void(STAYS, mistake, "entered twice")
    assert list(problems(point)) == []
    test_id, _ = point.health.tests_of(stay)[1]
    with point.transaction():
        point._change(TESTS, test_id, {"planned_date": "2020-01-04"}, "correct")
        point._change(CHECKS, check_id, {"day": "2026-11-28", "round": "morning"}, "correct")
        point._change(INCIDENTS, draft, {"voided": None}, "correct")
    found = set(problems(point))
    assert found == {
        f"test record {test_id}: Planned date “2020-01-04” breaks the rules",
        f"check {check_id} of person {stay}: the morning round of 2026-11-28 is outside the "
        "stay (2026-11-28 12:30 to -)",
        f"draft incident {draft} is about voided arrivals only, yet still waits to be confirmed",
    }


def test_a_finished_stay_corrected_keeps_its_tests_on_its_arrival(point: Store) -> None:
    stay = arrive(point, "P1", "2026-11-16 10:00")
    point.stays.discharge({"stay": str(stay), "discharged_at": "08:00", "kind": "hospital"})
    point.stays.correct(stay, {"arrived_at": "2026-11-15 10:00"}, "the bus came a day earlier")
    plan = [test["planned_date"] for _, test in point.health.tests_of(stay)]
    assert plan == ["2026-11-15", "2026-11-18", "2026-11-21", "2026-11-28"]
    assert list(problems(point)) == []
