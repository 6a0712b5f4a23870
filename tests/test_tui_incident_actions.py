"""An incident's life on F4 after it is opened: actions, handled, reopened, voided.

Driven by Pilot at 80×24; each step checks what is stored and what the screen shows.
"""

from __future__ import annotations

import pytest
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import INCIDENTS
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


def opened(store: Store) -> int:
    rooms = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    return store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "08:10",
            "kind": "conflict",
            "severity": "2",
            "summary": "争吵 [red]x[/]",
        }
    )


def detail(app: IsolationApp) -> str:
    return str(app.screen.query_one("#incident-text", Static).content)


def row(app: IsolationApp) -> str:
    table = app.screen.query_one(RecordTable)
    return " ".join(str(c) for c in table.get_row_at(0))


def incidents_cell(app: IsolationApp) -> str:
    return str(app.screen.query_one("#counter-incidents", CounterCell).content)


async def test_act_close_reopen_and_void_an_incident(store: Store) -> None:
    incident_id = opened(store)
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert "争吵 [red]x[/]" in row(app)

        await pilot.press("a", *"劝开双方", "ctrl+s")
        await pilot.pause()
        incident = store.get(INCIDENTS, incident_id)
        assert incident is not None
        assert [(a["what"], a["who"]) for a in incident["actions"]] == [("劝开双方", "tester")]
        assert "tester: 劝开双方" in detail(app)

        await pilot.press("h", *"已调换房间", "ctrl+s")
        await pilot.pause()
        incident = store.get(INCIDENTS, incident_id)
        assert incident is not None
        assert (incident["status"], incident["resolution"]) == ("handled", "已调换房间")
        assert incidents_cell(app) == "Handled 1 (open 0)"
        assert "已调换房间" in detail(app)

        await pilot.press("r", "ctrl+s")  # a reopening needs its reason
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-reason"
        await pilot.press(*"又吵起来", "ctrl+s")
        await pilot.pause()
        incident = store.get(INCIDENTS, incident_id)
        assert incident is not None
        assert (incident["status"], incident["resolution"]) == ("open", "")
        assert incidents_cell(app) == "Handled 0 (open 1)"
        assert "又吵起来" in detail(app)

        await pilot.press("v", *"录入错误", "ctrl+s")
        await pilot.pause()
        incident = store.get(INCIDENTS, incident_id)
        assert incident is not None and incident["voided"]["reason"] == "录入错误"
        assert incidents_cell(app) == "Handled 0 (open 0)"
        assert " void " in row(app)
    assert [e["action"] for e in store.history(INCIDENTS, incident_id)] == [
        "create",
        "act",
        "close",
        "reopen",
        "void",
    ]


async def test_confirm_on_an_open_incident_says_why_not(store: Store) -> None:
    incident_id = opened(store)
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert store.get(INCIDENTS, incident_id)["status"] == "open"  # type: ignore[index]
        messages = [str(n.message) for n in app._notifications]
        assert "this incident is not a draft waiting for confirmation" in messages
