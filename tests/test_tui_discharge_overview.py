"""Correcting a discharge on F3, and choosing one's point on F1; Pilot at 80×24."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import DISCHARGES
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.mode_tabs import ModeTabs
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def two_points(store: Store) -> Store:
    for code, name in (("DD01", "一号点"), ("DD02", "二号点")):
        rooms = [{"code": f"10{i}", "floor": "1", "beds": 1, "blocked": False} for i in range(1, 4)]
        store.save_point(code, name, rooms)  # type: ignore[arg-type]
    for number, code in (("P1", "DD01"), ("P2", "DD02"), ("P3", "DD02")):
        store.stays.register(
            {
                "point": code,
                "name": f"旅客{number}",
                "id_type": "passport",
                "id_number": number,
                "category": "inbound",
                "arrived_at": "2026-11-20 10:00",
            }
        )
    return store


def cell_text(app: IsolationApp, key: str) -> str:
    return str(app.screen.query_one(f"#counter-{key}", CounterCell).content)


async def test_c_corrects_a_discharge_with_a_reason(two_points: Store) -> None:
    discharge_id = two_points.stays.discharge(
        {"stay": "1", "discharged_at": "2026-11-28 10:00", "kind": "hospital"}
    )
    app = IsolationApp(two_points, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert cell_text(app, "transferred") == "Transferred 1"
        await pilot.press("tab", "c")
        await pilot.pause()
        assert "旅客P1" in str(app.screen.query_one("#screen-title", Static).content)
        form = app.screen
        assert form.query_one("#field-discharged_at", Input).value == "2026-11-28 10:00"
        form.query_one("#field-kind").value = "other_point"  # type: ignore[attr-defined]
        form.query_one("#field-destination", Input).value = "二号点"
        await pilot.press("ctrl+s")  # without a reason: refused, nothing stored
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-reason"
        assert two_points.get(DISCHARGES, discharge_id)["kind"] == "hospital"  # type: ignore[index]
        form.query_one("#field-reason", Input).value = "转的是隔离点"
        await pilot.press("ctrl+s")
        await pilot.pause()
        discharge = two_points.get(DISCHARGES, discharge_id)
        assert discharge is not None
        assert (discharge["kind"], discharge["destination"]) == ("other_point", "二号点")
        assert two_points.history(DISCHARGES, discharge_id)[-1]["reason"] == "转的是隔离点"
        table = app.screen.query_one("#done-table", RecordTable)
        assert "二号点" in " ".join(str(c) for c in table.get_row_at(0))
        assert cell_text(app, "transferred") == "Transferred 1"


async def test_enter_on_the_overview_makes_a_point_yours(two_points: Store) -> None:
    app = IsolationApp(two_points, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        panel = str(app.screen.query_one("#point-panel", Static).content)
        assert "一号点" in panel
        table = app.screen.query_one(RecordTable)
        keys = [str(table.coordinate_to_cell_key((r, 0)).row_key.value) for r in range(3)]
        table.move_cursor(row=keys.index("DD02"), animate=False)
        await pilot.press("enter")
        await pilot.pause()
        assert app.point == "DD02"
        assert "二号点" in str(app.screen.query_one("#point-panel", Static).content)
        assert cell_text(app, "in_isolation") == "In isolation 2"
        await pilot.press("f2")
        await pilot.pause()
        rows = app.screen.query_one(RecordTable)
        names = {str(rows.get_row_at(i)[2]) for i in range(rows.row_count)}
        assert names == {"旅客P2", "旅客P3"}


async def test_f6_switches_the_counters_between_the_point_and_all_points(
    two_points: Store,
) -> None:
    app = IsolationApp(two_points, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        tabs = app.screen.query_one(ModeTabs)
        assert cell_text(app, "in_isolation") == "In isolation 1"
        assert tabs.scope == "一号点"
        await pilot.press("f6")
        await pilot.pause()
        assert cell_text(app, "in_isolation") == "In isolation 3"
        assert tabs.scope == "All 2 points"
        rows = app.screen.query_one(RecordTable)
        assert rows.row_count == 3  # the list follows the scope
        await pilot.press("f6")
        await pilot.pause()
        assert cell_text(app, "in_isolation") == "In isolation 1"
        assert tabs.scope == "一号点"
