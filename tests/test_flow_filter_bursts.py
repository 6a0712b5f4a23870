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


@pytest.fixture
def with_incidents(five_people: Store) -> Store:
    for stay, summary in ((1, "发热"), (4, "lift stuck on floor 2")):
        five_people.incidents.open(
            {
                "point": "DD01",
                "kind": "other",
                "severity": "2",
                "summary": summary,
                "occurred_at": "2026-11-28 11:00",
            },
            stays=[stay],
        )
    return five_people


def listed(app: IsolationApp, table_id: str, column: int) -> list[str]:
    table = app.screen.query_one(table_id, RecordTable)
    return sorted(str(table.get_row_at(row)[column]) for row in range(table.row_count))


@pytest.mark.parametrize(
    ("screen", "table_id", "column", "typed", "found"),
    [
        ("f3", "#due-table", 3, "王一", ["王一"]),
        ("f3", "#due-table", 3, "de", ["Dee Evans"]),  # d discharges when not typed
        ("f3", "#due-table", 3, "蒋十四", ["蒋十四"]),
        ("f4", "#incidents-table", 0, "王一", ["1"]),
        ("f4", "#incidents-table", 0, "dee", ["2"]),
    ],
)
async def test_the_discharges_and_incidents_filters_take_a_burst_after_slash(
    with_incidents: Store,
    lang: str,
    screen: str,
    table_id: str,
    column: int,
    typed: str,
    found: list[str],
) -> None:
    app = IsolationApp(with_incidents, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(screen)
        await pilot.pause()
        before = app.screen
        await burst(pilot, "/", *typed)
        await pilot.pause(0.5)
        assert app.screen is before  # no form opened by a letter of the text
        assert app.screen.query_one("#filter", Input).value == typed
        assert listed(app, table_id, column) == found
        await burst(pilot, "escape")
        await pilot.pause(0.5)
        assert app.screen.focused is app.screen.query(RecordTable).first()
        assert app.screen.query_one("#filter", Input).value == ""
