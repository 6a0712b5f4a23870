"""The arrivals filter takes every key typed after ``/``, however fast they come.

Seen over tmux at 80×24: ``/王一`` sent in one go left the filter empty, ``/蒋十四``
filtered on ``十四``; esc on an empty filter left the cursor in it, so the next
``/`` was typed as text.
"""

from __future__ import annotations

import pytest
from test_flow_bursts import burst
from textual.widgets import Input

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
NAMES = ("王一", "蒋十四", "李十四", "Dee Evans", "Bob")


@pytest.fixture
def five_people(store: Store) -> Store:
    store.save_point("DD01", "一号点", [{"code": f"10{n}", "beds": 1} for n in range(8)])
    for n, name in enumerate(NAMES, start=1):
        store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "passport",
                "id_number": f"P{n:04d}",
                "category": "inbound",
                "arrived_at": "2026-11-28 10:00",
            }
        )
    return store


def names_listed(app: IsolationApp) -> list[str]:
    table = app.screen.query_one("#stays-table", RecordTable)
    return sorted(str(table.get_row_at(row)[2]) for row in range(table.row_count))


@pytest.mark.parametrize(
    ("typed", "found"),
    [("王一", ["王一"]), ("蒋十四", ["蒋十四"]), ("de", ["Dee Evans"])],
)
async def test_a_filter_typed_in_one_burst_after_slash_keeps_every_key(
    five_people: Store, lang: str, typed: str, found: list[str]
) -> None:
    app = IsolationApp(five_people, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await burst(pilot, "/", *typed)
        await pilot.pause(0.5)
        assert app.screen.query_one("#filter", Input).value == typed
        assert names_listed(app) == found


async def test_esc_on_an_empty_filter_goes_back_to_the_list(five_people: Store, lang: str) -> None:
    """Esc in the filter with nothing typed: the cursor back in the list, so the
    next ``/`` opens the filter again instead of being typed into it."""
    app = IsolationApp(five_people, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await burst(pilot, "/", "escape")
        table = app.screen.query_one("#stays-table", RecordTable)
        assert app.screen.focused is table
        await burst(pilot, "/", *"Bob")
        await pilot.pause(0.5)
        assert app.screen.query_one("#filter", Input).value == "Bob"
        assert names_listed(app) == ["Bob"]
