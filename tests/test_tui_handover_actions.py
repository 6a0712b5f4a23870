"""F5 beyond signing: acknowledging as the incoming supervisor, choosing the window's
start, and an addendum to a signed handover; driven by Pilot at 80×24."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from rich.console import Console
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import HANDOVERS

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def point(store_location: str) -> Iterator[Store]:
    """Two arrivals recorded an hour apart (the window goes by when a change was made)."""
    now = [datetime(2026, 11, 29, 8, 0)]
    store = open_store(
        store_location, create=True, actor=Actor("tester", "local"), clock=lambda: now[0]
    )
    rooms = [{"code": f"10{i}", "floor": "1", "beds": 1, "blocked": False} for i in range(1, 5)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    for number in ("P1", "P2"):
        store.stays.register(
            {
                "point": "DD01",
                "name": f"旅客{number}",
                "id_type": "passport",
                "id_number": number,
                "category": "inbound",
                "arrived_at": "now",
            }
        )
        now[0] += timedelta(hours=1)
    yield store
    store.close()


def shown(app: IsolationApp) -> str:
    console = Console(file=io.StringIO(), width=78, color_system=None)
    console.print(app.screen.query_one("#handover-report", Static).content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_acknowledge_the_waiting_handover_from_f5(point: Store) -> None:
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        # Nothing waits: `a` is not offered, and opens nothing.
        assert not app.screen.query("#field-incoming")

        handover_id = point.handovers.sign(point.handovers.summary("DD01"), "夜班正常", "张三")
        await pilot.press("a")
        await pilot.pause()
        field = app.screen.query_one("#field-incoming", Input)
        assert field.value == "tester"
        field.value = "李四"
        await pilot.press("ctrl+s")
        await pilot.pause()
        handover = point.get(HANDOVERS, handover_id)
        assert handover is not None and handover["incoming"] == "李四"
        assert handover["acknowledged"]["who"] == "tester"


async def test_the_window_starts_where_the_supervisor_says(point: Store) -> None:
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert "Arrivals in the window: 2" in shown(app)
        await pilot.press("t")
        await pilot.pause()
        app.screen.query_one("#field-since", Input).value = "not a time"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-since"
        app.screen.query_one("#field-since", Input).value = "2026-11-29 08:30"
        await pilot.press("ctrl+s")
        await pilot.pause()
        report = shown(app)
        assert "Window: 2026-11-29 08:30" in report
        assert "Arrivals in the window: 1" in report
        assert "旅客P2" in report and "旅客P1" not in report


async def test_an_addendum_is_added_to_a_signed_handover(point: Store) -> None:
    handover_id = point.handovers.sign(point.handovers.summary("DD01"), "备注", "张三")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "h")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press(*"补记:P1 发热已处理", "ctrl+s")
        await pilot.pause()
        handover = point.get(HANDOVERS, handover_id)
        assert handover is not None
        assert [(a["text"], a["who"]) for a in handover["addenda"]] == [
            ("补记:P1 发热已处理", "tester")
        ]
        assert handover["notes"] == "备注"
        assert "补记:P1 发热已处理" in shown(app)
