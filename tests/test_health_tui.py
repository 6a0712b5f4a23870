"""Health rounds and tests through the terminal program at 80×24, driven by Pilot.

The clock is fixed at 2026-11-29 09:30: the morning round of that day.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import stored_seq
from textual import events
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import CHECKS, DISCHARGES, INCIDENTS, STAYS, TESTS
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)
DAY = "2026-11-29"
FLOOR = [f"{3}{n:02d}" for n in range(1, 31)]


@pytest.fixture
def floor_store(store: Store) -> Store:
    """Point DD01: floor 2 with 2 rooms (one taken), floor 3 with 30 rooms, all taken."""
    rooms = [{"code": f"20{n}", "floor": "2", "beds": 1, "blocked": False} for n in (1, 2)]
    rooms += [{"code": code, "floor": "3", "beds": 1, "blocked": False} for code in FLOOR]
    store.save_point("DD01", "一号点", rooms)
    for n, room in enumerate(["201", *FLOOR]):
        store.stays.register(
            {
                "point": "DD01",
                "room": room,
                "name": f"住客{n}",
                "id_type": "passport",
                "id_number": f"P{n:04d}",
                "category": "inbound",
                "arrived_at": "2026-11-15 10:00",
            }
        )
    return store


def floor_stays(store: Store) -> list[int]:
    """The stays of floor 3, by room."""
    stays = store.rows(STAYS)
    return sorted(
        (int(key) for key, stay in stays.items() if stay["room"] in FLOOR),
        key=lambda key: stays[str(key)]["room"],
    )


def morning(store: Store, stay_id: int) -> dict[str, object] | None:
    check_id = store.health.check_of(stay_id, DAY, "morning")
    return store.get(CHECKS, check_id) if check_id is not None else None


def status_text(app: IsolationApp) -> str:
    return str(app.screen.query_one("#entry-status", Static).content)


def current_room(app: IsolationApp) -> str:
    table = app.screen.query_one(RecordTable)
    return str(table.get_row_at(table.cursor_row)[1])


async def open_round(pilot: object, app: IsolationApp) -> None:
    await pilot.press("f2", "k")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert app.focused is not None and app.focused.id == "entry-value"


VALUES = [f"{360 + n % 12}" for n in range(30)]  # 36.0 … 37.1: no fever


async def test_a_floor_with_digits_and_enter_stores_exactly_those(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press("down")  # past room 201 (floor 2) to the first room of floor 3
        assert current_room(app) == "301"
        for value in VALUES:
            await pilot.press(*value, "enter")
        await pilot.pause()
        title = str(app.screen.query_one("#screen-title", Static).content)
        assert "Morning round 11-29" in title and "30/31 done" in title
    stays = floor_stays(floor_store)
    for stay_id, value in zip(stays, VALUES, strict=True):
        check = morning(floor_store, stay_id)
        assert check is not None
        assert check["temperature"] == int(value) / 10
        assert check["status"] == "well" and check["round"] == "morning"
        assert check["created"]["who"] == "tester"  # type: ignore[index]
    assert len(floor_store.rows(CHECKS)) == 30
    assert morning(floor_store, 1) is None  # room 201 was skipped
    audit = [e for e in floor_store.rows("audit").values() if e["table"] == CHECKS]
    assert len(audit) == 30 and {e["os_user"] for e in audit} == {"tester"}


async def test_a_floor_typed_in_one_burst_lands_room_by_room(floor_store: Store) -> None:
    """A fast typist over SSH: every key arrives before the first value is stored."""
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press("down")
        driver = app._driver
        assert driver is not None
        for value in VALUES:
            for char in value:
                driver.send_message(events.Key(char, char))
            driver.send_message(events.Key("enter", "\r"))
        for _ in range(200):
            await pilot.pause(0.02)
            if len(floor_store.rows(CHECKS)) == 30:
                break
        await pilot.pause()
        assert app.screen.query_one("#entry-value", Input).value == ""
    temperatures = [morning(floor_store, s)["temperature"] for s in floor_stays(floor_store)]  # type: ignore[index]
    assert temperatures == [int(v) / 10 for v in VALUES]


async def test_missed_refused_and_symptoms(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press("m", "r", *"372 sore throat", "enter")
        await pilot.pause()
    first, second, third = (morning(floor_store, s) for s in (1, 2, 3))
    assert first is not None and first["status"] == "missed" and first["temperature"] is None
    assert second is not None and second["status"] == "refused"
    # "r" in the symptoms is text there, not "refused".
    assert third is not None and third["temperature"] == 37.2
    assert third["symptoms"] == "sore throat" and third["status"] == "unwell"


async def test_a_fever_opens_a_draft_incident_to_confirm(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*"385", "enter")
        await pilot.pause()
        (incident,) = floor_store.rows(INCIDENTS).values()
        assert incident["status"] == "draft" and incident["kind"] == "fever"
        assert incident["stays"] == [1] and incident["severity"] == 3
        assert "fever: draft incident #1" in status_text(app)
        row = app.screen.query_one(RecordTable).get_row_at(0)
        assert str(row[3]) == "38.5!"
        await pilot.press("escape", "f4")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert "draft" in " ".join(str(c) for c in table.get_row_at(0))
        await pilot.press("c")
        await pilot.pause()
        assert floor_store.get(INCIDENTS, 1)["status"] == "open"  # type: ignore[index]
        assert str(app.screen.query_one("#counter-incidents", CounterCell).content) == (
            "Handled 0 (open 1)"
        )


async def test_a_draft_raised_by_mistake_is_voided_with_a_reason(floor_store: Store) -> None:
    floor_store.health.record_check(1, DAY, "morning", "375")
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "v")
        await pilot.pause()
        assert "住客0" in str(app.screen.query_one("#screen-title", Static).content)
        await pilot.press(*"thermometer fault", "ctrl+s")
        await pilot.pause()
    incident = floor_store.get(INCIDENTS, 1)
    assert incident is not None and incident["voided"]["reason"] == "thermometer fault"


@pytest.mark.parametrize("typed", ["426", "339", "3", "abc", "36..5", "-365"])
async def test_out_of_range_and_non_numeric_store_nothing(floor_store: Store, typed: str) -> None:
    seq = stored_seq(floor_store)
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*typed, "enter")
        await pilot.pause()
        assert status_text(app).startswith("Not saved. Temperature:")
        assert current_room(app) == "201"  # the cursor stays on the person
        assert stored_seq(floor_store) == seq
        assert floor_store.rows(CHECKS) == {}
        # The refused text stays selected: typing again replaces it.
        await pilot.press(*"366", "enter")
        await pilot.pause()
        assert current_room(app) == "301"
    check = morning(floor_store, 1)
    assert check is not None and check["temperature"] == 36.6


async def test_entering_again_corrects_and_the_other_round_is_apart(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*"365", "enter", "up", *"366", "enter")
        await pilot.pause()
        # 09:30: the afternoon round has not begun, its reading waits for noon.
        await pilot.press("ctrl+t", "up", *"369", "enter")
        await pilot.pause()
        assert "12:00" in status_text(app)
        floor_store.clock = lambda: datetime(2026, 11, 29, 12, 30)
        await pilot.press("enter")
        await pilot.pause()
        assert "Afternoon round" in str(app.screen.query_one("#screen-title", Static).content)
    assert morning(floor_store, 1)["temperature"] == 36.6  # type: ignore[index]
    afternoon = floor_store.get(CHECKS, floor_store.health.check_of(1, DAY, "afternoon") or 0)
    assert afternoon is not None and afternoon["temperature"] == 36.9
    assert len(floor_store.rows(CHECKS)) == 2


async def test_read_only_round_stores_nothing(store_location: str, floor_store: Store) -> None:
    viewer = open_store(store_location, read_only=True, actor=Actor("viewer"))
    app = IsolationApp(viewer, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*"365", "enter", "m")
        await pilot.pause()
        assert any("read-only" in str(n.message) for n in app._notifications)
    assert floor_store.rows(CHECKS) == {}


# ---------------------------------------------------------------------- tests due


def results(store: Store) -> list[tuple[int, str, str]]:
    return [(t["planned_day"], t["result"], t["taken_at"]) for _, t in store.health.tests_of(1)]


async def test_results_typed_quickly(one_person: Store) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.screen.query_one("#counter-health", CounterCell).content) == (
            "Missed 0, tests 4"
        )
        await pilot.press("f2", "t")
        await pilot.pause()
        assert app.screen.query_one(RecordTable).row_count == 4
        await pilot.press("n", *"08:00", "n", *"阴", "enter", "enter")
        await pilot.pause()
        assert str(app.screen.query_one("#counter-health", CounterCell).content) == (
            "Missed 0, tests 1"
        )
        # Entered rows stay listed, with their result, until the screen is opened again.
        assert app.screen.query_one(RecordTable).row_count == 4
    assert results(one_person) == [
        (1, "negative", "2026-11-29 09:30"),
        (4, "negative", "2026-11-29 08:00"),
        (7, "negative", "2026-11-29 09:30"),
        (14, "pending", ""),
    ]


async def test_a_positive_test_holds_the_release_until_overridden(one_person: Store) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t")
        await pilot.pause()
        await pilot.press("n", "n", "n", "p")
        await pilot.pause()
        assert results(one_person)[-1][:2] == (14, "positive")
        (incident,) = one_person.rows(INCIDENTS).values()
        assert incident["status"] == "draft" and incident["kind"] == "positive_test"
        assert "POSITIVE" in status_text(app)

        await pilot.press("escape", "f3", "d")
        await pilot.pause()
        held = str(app.screen.query_one("#release-held", Static).content)
        assert "day 14" in held and "positive" in held
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-override"
        assert "override reason" in str(app.screen.query_one("#error-override", Static).content)
        assert one_person.rows(DISCHARGES) == {}
        assert one_person.get(STAYS, 1)["status"] == "open"  # type: ignore[index]

        await pilot.press(*"re-tested negative at the hospital", "ctrl+s")
        await pilot.pause()
    (discharge,) = one_person.rows(DISCHARGES).values()
    assert discharge["kind"] == "released_home"
    assert discharge["test_override"] == "re-tested negative at the hospital"
    assert one_person.get(STAYS, 1)["status"] == "discharged"  # type: ignore[index]


async def test_a_stored_result_changes_only_when_asked_and_its_draft_follows(
    one_person: Store,
) -> None:
    """A positive stored by mistake, then ↑ n: one key must not turn a medical result
    around. The change is asked about; a yes stores it and voids the positive's draft."""
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t")
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert results(one_person)[0][:2] == (1, "positive")
        (draft,) = one_person.rows(INCIDENTS).values()
        assert draft["status"] == "draft"
        await pilot.press("up", "n")
        await pilot.pause()
        question = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "positive" in question and "negative" in question
        await pilot.press("enter", "n")
        await pilot.pause()
        assert results(one_person)[0][:2] == (1, "positive")
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert results(one_person)[0][:2] == (1, "negative")
    (draft,) = one_person.rows(INCIDENTS).values()
    assert (
        draft["voided"]["reason"] == "the result that raised it was corrected (positive → negative)"
    )
    assert one_person.counters()["DD01"].incidents_draft == 0


async def test_a_negative_last_test_lets_the_person_go_home(one_person: Store) -> None:
    for test_id, _ in one_person.health.tests_of(1):
        one_person.health.record_result(test_id, "negative", "2026-11-28 08:00")
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        assert not app.screen.query("#release-held") and not app.screen.query("#row-override")
        await pilot.press("ctrl+s")
        await pilot.pause()
    (discharge,) = one_person.rows(DISCHARGES).values()
    assert discharge["kind"] == "released_home" and not discharge["test_override"]


async def test_tests_screen_refuses_a_word_that_is_no_result(one_person: Store) -> None:
    seq = stored_seq(one_person)
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t")
        await pilot.pause()
        await pilot.press(*"x", "enter")
        await pilot.pause()
        assert status_text(app).startswith("Not saved. Result:")
    assert stored_seq(one_person) == seq
    assert all(result == "pending" for _, result, _ in results(one_person))
    assert not one_person.rows(TESTS)["1"]["taken_at"]


async def test_the_palette_reaches_the_round_and_its_keys(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Round (Arrivals)" in titles and "Tests due (Arrivals)" in titles
        await app._run_in_mode("arrivals", "round")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "entry-value"
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        await commands["Missed"].callback()  # type: ignore[misc]
        await pilot.pause()
    check = morning(floor_store, 1)
    assert check is not None and check["status"] == "missed"


async def test_an_early_held_release_names_every_problem_at_once(one_person: Store) -> None:
    one_person.stays.extend(1, "+3", "contact of a positive case")  # due 12-02: early
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-override"
        assert str(app.screen.query_one("#error-override", Static).content)
        assert "3 day" in str(app.screen.query_one("#error-notes", Static).content)
        await pilot.press(*"released by the district", "ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-notes"
        assert one_person.rows(DISCHARGES) == {}


async def test_a_letter_after_a_refused_value_acts_on_the_person(floor_store: Store) -> None:
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*"3x5", "enter", "m")  # the refused "3x5" is selected: m = missed
        await pilot.press(*"37", "left", "r")  # inside typed text, r is text: "3r7"
        await pilot.pause()
        assert app.screen.query_one("#entry-value", Input).value == "3r7"
        assert current_room(app) == "301"
    first = morning(floor_store, 1)
    assert first is not None and first["status"] == "missed"
    assert morning(floor_store, 2) is None


async def test_a_burst_past_the_last_empty_row_overwrites_nothing(one_person: Store) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2", "k", *"365", "enter", *"372", "enter")
        await pilot.pause()
        checks = list(one_person.rows("checks").values())
        assert [c["temperature"] for c in checks] == [36.5]
        status = str(app.screen.query_one("#entry-status").content)  # type: ignore[attr-defined]
        assert "already has an entry" in status
        await pilot.press("escape")
        await pilot.press("k", "up", *"368", "enter")  # moved onto it on purpose: corrected
        await pilot.pause()
        assert [c["temperature"] for c in one_person.rows("checks").values()] == [36.8]


async def test_a_reading_under_the_cursor_is_replaced_by_the_same_entry_again(
    one_person: Store, lang: str
) -> None:
    """Seen in a trial: the round opened on a row with a reading (nobody left to
    check), and ↵ said "move onto it with ↑/↓" with the cursor already on it."""
    one_person.health.record_check(1, DAY, "morning", "365", "")
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2", "k", *"367", "enter")
        await pilot.pause()
        temperatures = [c["temperature"] for c in one_person.rows("checks").values()]
        assert temperatures == [36.5]
        status = str(app.screen.query_one("#entry-status").content)  # type: ignore[attr-defined]
        assert t("ui.already_entered", again="↵") in status
        assert "36.5" in status  # what would be replaced, said
        # Another value typed over it is refused too: only the same again replaces.
        await pilot.press(*"368", "enter")
        await pilot.pause()
        assert [c["temperature"] for c in one_person.rows("checks").values()] == [36.5]
        await pilot.press("enter")
        await pilot.pause()
        assert [c["temperature"] for c in one_person.rows("checks").values()] == [36.8]
        # Marks the same way: m refused, m again stores it.
        await pilot.press("m")
        await pilot.pause()
        status = str(app.screen.query_one("#entry-status").content)  # type: ignore[attr-defined]
        assert t("ui.already_entered", again="m") in status
        await pilot.press("m")
        await pilot.pause()
        checks = list(one_person.rows("checks").values())
        assert [c["status"] for c in checks] == ["missed"]
