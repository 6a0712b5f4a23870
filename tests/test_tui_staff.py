"""F7 Staff at 80×24, driven by Pilot: staff typed in a row, on and off duty with one
key, an overlap refused, and the over-limit flag appearing on the counter bar, the
list and the overview as the clock moves, with no write."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import Clock
from rich.console import Console
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import DUTY, STAFF
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 30))


@pytest.fixture
def point(db_path: Path, clock: Clock) -> Iterator[Store]:
    store = open_store(db_path, create=True, actor=Actor("tester"), clock=clock)
    rooms = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    yield store
    store.close()


def bar(app: IsolationApp) -> str:
    return str(app.screen.query_one("#counter-duty", CounterCell).content)


def rows(app: IsolationApp) -> list[str]:
    table = app.screen.query_one(RecordTable)
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def settle(pilot: object, app: IsolationApp, wanted: str) -> str:
    for _ in range(40):
        if bar(app) == wanted:
            break
        await pilot.pause(0.025)  # type: ignore[attr-defined]
    return bar(app)


async def test_staff_typed_in_a_row_then_on_and_off_duty(point: Store, clock: Clock) -> None:
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7", "n")
        await pilot.pause()
        await pilot.press(*"王护士", "enter", "n", "enter", *"13800001234", "ctrl+s")
        await pilot.pause()
        # The role and point stay; name ↵ role ↵ phone ↵ saves the next one.
        await pilot.press(*"[red]x[/]", "enter", "enter", *"13900005678", "enter")
        await pilot.pause()
        staff = {doc["name"]: doc for doc in point.rows(STAFF).values()}
        assert {name: doc["role"] for name, doc in staff.items()} == {
            "王护士": "nursing",
            "[red]x[/]": "nursing",
        }
        await pilot.press("escape")
        await pilot.pause()
        listed = rows(app)
        assert any("[red]x[/]" in line and "139*****678" in line for line in listed), listed
        assert all("13900005678" not in line for line in listed)
        assert bar(app) == "On duty 0"

        await pilot.press("home", "d", "enter")  # on duty now
        await pilot.pause()
        assert bar(app) == "On duty 1"
        assert "11-29 09:30 0.0h" in rows(app)[0]
        clock.now = datetime(2026, 11, 29, 17, 0)
        await pilot.press("d", *"16:45", "enter")  # off duty at a time typed
        await pilot.pause()
        assert bar(app) == "On duty 0"
    periods = [(p["start"], p["end"]) for p in point.rows(DUTY).values()]
    assert periods == [("2026-11-29 09:30", "2026-11-29 16:45")]
    (period_id,) = map(int, point.rows(DUTY))
    assert [e["action"] for e in point.history(DUTY, period_id)] == ["create", "off_duty"]


async def test_an_overlapping_period_is_refused_on_screen(point: Store, clock: Clock) -> None:
    staff_id = point.staff.add_staff({"point": "DD01", "name": "李医生", "role": "medical"})
    point.staff.start_duty(staff_id, "2026-11-29 06:00")
    point.staff.end_duty(staff_id, "2026-11-29 09:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7", "d", *"08:00", "enter")
        await pilot.pause()
        status = str(app.screen.query_one("#form-status", Static).content)
        assert "overlaps duty period #1" in status
        await pilot.press("escape", "y")
        await pilot.pause()
    assert len(point.rows(DUTY)) == 1


async def test_over_the_limit_appears_as_time_passes(point: Store, clock: Clock) -> None:
    staff_id = point.staff.add_staff({"point": "DD01", "name": "李医生", "role": "medical"})
    point.staff.start_duty(staff_id, "2026-11-29 08:00")
    clock.now = datetime(2026, 11, 29, 19, 59)
    journal = Path(point.path + "-journal").read_bytes()
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        app._poller.stop()  # no polling: only the boundary timer can recount
        assert app._boundary == datetime(2026, 11, 29, 20, 1)
        await pilot.press("f7")
        await pilot.pause()
        assert bar(app) == "On duty 1"
        assert "⚠" not in rows(app)[0]
        clock.now = datetime(2026, 11, 29, 20, 1)
        app._boundary_timer.stop()
        app._at_boundary()
        assert (await settle(pilot, app, "On duty 1 (⚠ 1 over the limit)")) == (
            "On duty 1 (⚠ 1 over the limit)"
        )
        await pilot.pause()
        assert "12.0h ⚠" in rows(app)[0]
        assert app.screen.query_one("#counter-duty").has_class("flagged")
        await pilot.press("f1")
        await pilot.pause()
        panel = str(app.screen.query_one("#point-panel", Static).content)
        assert "李医生 12.0h" in panel
    assert Path(point.path + "-journal").read_bytes() == journal


async def test_the_handover_screen_shows_who_is_on_duty(point: Store, clock: Clock) -> None:
    staff_id = point.staff.add_staff({"point": "DD01", "name": "[b]李医生", "role": "medical"})
    point.staff.start_duty(staff_id, "2026-11-28 20:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(app.screen.query_one("#handover-report", Static).content)
        text = console.file.getvalue()  # type: ignore[attr-defined]
        assert "On duty: 1 (1 over the limit)" in text
        assert "#1 [b]李医生 medical since 11-28 20:00, 13.5 h ⚠ over the limit of 12 h" in text


async def test_correct_and_void_people_and_periods_on_screen(point: Store, clock: Clock) -> None:
    staff_id = point.staff.add_staff(
        {"point": "DD01", "name": "李医生", "role": "medical", "phone": "13800001234"}
    )
    point.staff.start_duty(staff_id, "2026-11-29 06:00")
    point.staff.end_duty(staff_id, "2026-11-29 09:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f7", "e")  # the latest period, its times filled in
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-start"
        await pilot.press("tab", "end", "ctrl+u", *"05:00", "tab", *"x", "ctrl+s")
        await pilot.pause()
        status = str(app.screen.query_one("#form-status", Static).content)
        assert "the end must be after the start (2026-11-29 06:00)" in status
        await pilot.press("escape", "y")
        await pilot.pause()
        await pilot.press("e", "end", "ctrl+u", *"05:30", "tab", "tab", *"早来了", "ctrl+s")
        await pilot.pause()
        detail = str(app.screen.query_one("#staff-text", Static).content)
        assert "#1 11-29 05:30 → 11-29 09:00" in detail
        assert "早来了" in detail

        await pilot.press("c")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-name"
        await pilot.press("tab", "tab", "end", "ctrl+u", *"13911112222", "ctrl+s")
        await pilot.pause()
        await pilot.press(*"换号", "ctrl+s")
        await pilot.pause()
        assert point.get(STAFF, staff_id)["phone"] == "13911112222"  # type: ignore[index]
        assert any("139*****222" in line for line in rows(app))

        await pilot.press("x", *"录错了", "ctrl+s")
        await pilot.pause()
        assert point.get(DUTY, 1)["voided"]["reason"] == "录错了"  # type: ignore[index]
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("v", *"离职", "ctrl+s")
        await pilot.pause()
        assert rows(app) == []
    assert [e["action"] for e in point.history(STAFF, staff_id)] == ["create", "correct", "void"]
    assert [e["action"] for e in point.history(DUTY, 1)] == [
        "create",
        "off_duty",
        "correct",
        "void",
    ]


async def test_a_period_entered_late_moves_the_flag_timer(point: Store, clock: Clock) -> None:
    """At 19:00 someone is entered as on duty since 07:00: the flag comes at 19:01,
    not at midnight, the next moment the timer waited for."""
    staff_id = point.staff.add_staff({"point": "DD01", "name": "李医生", "role": "medical"})
    clock.now = datetime(2026, 11, 29, 19, 0)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert app._boundary == datetime(2026, 11, 30, 0, 0)
        point.staff.start_duty(staff_id, "07:00")
        await pilot.pause()
        assert app._boundary == datetime(2026, 11, 29, 19, 1)
        assert bar(app) == "On duty 1"
