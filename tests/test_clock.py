"""Counters stay true as time passes: the flows at several times of day, and a clock
that moves during a session (the counter bar changes with no write)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from conftest import Clock, stored_seq
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.domain.health import next_boundary
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import CHECKS
from isolation_tui.widgets.counter_bar import CounterCell

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 30))


@pytest.fixture
def point(store_location: str, clock: Clock) -> Iterator[Store]:
    store = open_store(store_location, create=True, actor=Actor("tester"), clock=clock)
    rooms = [{"code": f"{100 + n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2)]
    store.save_point("DD01", "一号点", rooms)
    store.stays.register(
        {
            "point": "DD01",
            "name": "住客甲",
            "id_type": "passport",
            "id_number": "P1",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",  # due 2026-11-29
        }
    )
    yield store
    store.close()


def bar(app: IsolationApp, key: str) -> str:
    return str(app.screen.query_one(f"#counter-{key}", CounterCell).content)


async def settle(pilot: object, app: IsolationApp, key: str, wanted: str) -> str:
    """The bar's cell once it shows ``wanted`` (or after a second: what it shows)."""
    for _ in range(40):
        if bar(app, key) == wanted:
            break
        await pilot.pause(0.025)  # type: ignore[attr-defined]
    return bar(app, key)


@pytest.mark.parametrize(
    ("now", "after"),
    [
        ("2026-11-29 00:00", "2026-11-29 10:00"),
        ("2026-11-29 09:30", "2026-11-29 10:00"),
        ("2026-11-29 10:00", "2026-11-29 12:00"),
        ("2026-11-29 12:00", "2026-11-29 18:00"),
        ("2026-11-29 17:59", "2026-11-29 18:00"),
        ("2026-11-29 18:00", "2026-11-30 00:00"),
        ("2026-11-29 23:59", "2026-11-30 00:00"),
    ],
)
def test_the_next_moment_a_counter_changes(now: str, after: str) -> None:
    fmt = "%Y-%m-%d %H:%M"
    assert next_boundary(datetime.strptime(now, fmt)) == datetime.strptime(after, fmt)


async def test_missed_turns_at_ten_with_no_write(point: Store, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 29, 9, 59)
    seq = stored_seq(point)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert bar(app, "health").startswith("Missed 0")
        clock.now = datetime(2026, 11, 29, 10, 0)
        assert (await settle(pilot, app, "health", "Missed 1, tests 4")) == "Missed 1, tests 4"
    assert stored_seq(point) == seq


async def test_the_timer_fires_at_the_boundary_of_a_running_clock(
    point: Store, clock: Clock
) -> None:
    """Nothing but the timer: set for a tenth of a second after the start, it finds
    the clock not there yet and waits on, then recounts once the clock is at 10:00."""
    clock.now = datetime(2026, 11, 29, 9, 59, 59, 900000)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        app._poller.stop()  # no polling: only the timer can recount
        await pilot.pause(0.3)
        assert bar(app, "health").startswith("Missed 0")
        clock.now = datetime(2026, 11, 29, 10, 0)
        assert (await settle(pilot, app, "health", "Missed 1, tests 4")) == "Missed 1, tests 4"
        assert app._boundary == datetime(2026, 11, 29, 12, 0)


async def test_the_afternoon_round_is_missed_from_six_in_the_evening(
    point: Store, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 29, 14, 0)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        title = str(app.screen.query_one("#screen-title", Static).content)
        assert title.startswith("Afternoon round 11-29")
        await pilot.press("ctrl+t", *"365", "enter")  # the morning round, entered late
        await pilot.pause()
        assert bar(app, "health").startswith("Missed 0")
        clock.now = datetime(2026, 11, 29, 17, 59)
        await pilot.pause(0.3)
        assert bar(app, "health").startswith("Missed 0")
        clock.now = datetime(2026, 11, 29, 18, 0)
        assert (await settle(pilot, app, "health", "Missed 1, tests 4")) == "Missed 1, tests 4"
    (check,) = point.rows(CHECKS).values()
    assert (check["round"], check["at"]) == ("morning", "2026-11-29 14:00")


async def test_the_round_turns_to_the_afternoon_at_noon(point: Store, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 29, 11, 59)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        title = app.screen.query_one("#screen-title", Static)
        assert str(title.content).startswith("Morning round 11-29")
        clock.now = datetime(2026, 11, 29, 12, 0)
        for _ in range(40):
            if str(title.content).startswith("Afternoon"):
                break
            await pilot.pause(0.025)
        assert str(title.content).startswith("Afternoon round 11-29")
        await pilot.press(*"366", "enter")
        await pilot.pause()
    (check,) = point.rows(CHECKS).values()
    assert check["round"] == "afternoon"


async def test_midnight_makes_releases_due_and_overdue(point: Store, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 28, 23, 59)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert bar(app, "due") == "Due 0 (+0 late)"
        assert bar(app, "health") == "Missed 2, tests 4"  # 28th: both rounds missed
        clock.now = datetime(2026, 11, 29, 0, 0)
        assert (await settle(pilot, app, "due", "Due 1 (+0 late)")) == "Due 1 (+0 late)"
        # A new day: nothing missed yet, and today's test (day 14) is due.
        assert bar(app, "health") == "Missed 0, tests 4"
        clock.now = datetime(2026, 11, 30, 0, 0, 1)
        assert (await settle(pilot, app, "due", "Due 0 (+1 late)")) == "Due 0 (+1 late)"


@pytest.mark.parametrize(
    ("now", "round_title", "missed"),
    [
        ("2026-11-29 08:00", "Morning round 11-29", 0),
        ("2026-11-29 15:30", "Afternoon round 11-29", 1),
        ("2026-11-29 23:58", "Afternoon round 11-29", 1),
    ],
)
async def test_a_round_entry_at_any_time_of_day(
    point: Store, clock: Clock, now: str, round_title: str, missed: int
) -> None:
    """The round and the tests due, as a supervisor works them at that hour: the
    reading lands in the round of that hour and the counters say what is left."""
    clock.now = datetime.strptime(now, "%Y-%m-%d %H:%M")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        assert str(app.screen.query_one("#screen-title", Static).content).startswith(round_title)
        await pilot.press(*"366", "enter")
        await pilot.pause()
        # The other round of the day, if over, is what is missed (the one entered is not).
        assert bar(app, "health").startswith(f"Missed {missed}")
        await pilot.press("escape", "t", "n")
        await pilot.pause()
    (check,) = point.rows(CHECKS).values()
    assert check["day"] == now[:10] and check["at"] == now
    entered = [test for _, test in point.health.tests_of(1) if test["result"] == "negative"]
    assert [test["planned_day"] for test in entered] == [1]


async def test_just_after_midnight_the_morning_round_waits_for_its_start(
    point: Store, clock: Clock
) -> None:
    """00:02: the round in front is the coming morning one, which takes no reading
    before 06:00 (a reading then would stand for a round not yet walked)."""
    clock.now = datetime(2026, 11, 30, 0, 2)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        assert str(app.screen.query_one("#screen-title", Static).content).startswith(
            "Morning round 11-30"
        )
        await pilot.press(*"366", "enter")
        await pilot.pause()
        assert "06:00" in str(app.screen.query_one("#entry-status", Static).content)
    assert point.rows(CHECKS) == {}
