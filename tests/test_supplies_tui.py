"""F8 Supplies, driven by Pilot at 80×24: a receipt, a shift's issues, a transfer
to another point, a count, the days-left flag, a refusal below zero."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Clock
from rich.cells import cell_len
from rich.console import Console
from test_supplies import NOW, ROOMS, stock
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.domain.supplies import item_label
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.supplies import SUPPLIES
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def two_points(db_path: Path, clock: Clock) -> Iterator[Store]:
    store = open_store(db_path, create=True, actor=Actor("tester"), clock=clock)
    store.save_point("DD01", "一号点", ROOMS)
    store.save_point("DD02", "二号点", ROOMS)
    yield store
    store.close()


def items_row(app: IsolationApp, item: str) -> str:
    table = app.screen.query_one("#supply-items", RecordTable)
    return " ".join(str(c) for c in table.get_row(item))


def status(app: IsolationApp) -> str:
    return str(app.screen.query_one("#form-status", Static).content)


def alerts(app: IsolationApp) -> str:
    line = app.screen.query_one("#counter-alerts", Static)
    return str(line.content) if line.display else ""


@pytest.mark.slow
async def test_receive_issue_transfer_and_count(two_points: Store) -> None:
    store = two_points
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        assert "一号点" in str(app.screen.query_one("#screen-title", Static).content)

        # A delivery of two items: the form stays open for the second one, with the
        # time and the kind still filled (enter passes by the donor and the other point).
        await pilot.press("r", "p", "enter", *"800", "enter", "enter", "ctrl+u", *"07:00")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "#1" in status(app)
        await pilot.press("N", "enter", *"300", "ctrl+s")
        await pilot.pause()
        assert stock(store, "DD01", "protective_suit") == 800
        assert stock(store, "DD01", "n95_mask") == 300
        received = [m for m in store.rows(SUPPLIES).values() if m["kind"] == "delivery"]
        assert {m["at"] for m in received} == {"2026-11-29 07:00"}
        await pilot.press("escape")
        await pilot.pause()
        assert items_row(app, "protective_suit").startswith("protective suits pcs 800")

        # The day shift's issues, item after item; the time stays filled.
        await pilot.press("i", "p", "enter", *"120", "enter", "end", "ctrl+u", *"08:00", "ctrl+s")
        await pilot.pause()
        await pilot.press("N", "enter", *"60", "ctrl+s")
        await pilot.pause()
        issued = [m for _, m in store.rows(SUPPLIES).items() if m["kind"] == "issue"]
        assert [(m["item"], m["quantity"], m["at"]) for m in issued] == [
            ("protective_suit", 120, "2026-11-29 08:00"),
            ("n95_mask", 60, "2026-11-29 08:00"),
        ]
        await pilot.press("escape")
        await pilot.pause()

        # 500 suits to the other point: stock on both sides.
        await pilot.press("t", "p", "enter", *"500", "enter", "D", "ctrl+s")
        await pilot.pause()
        assert stock(store, "DD01", "protective_suit") == 180
        assert stock(store, "DD02", "protective_suit") == 500
        await pilot.press("escape")
        await pilot.pause()
        assert items_row(app, "protective_suit").startswith("protective suits pcs 180")

        # A count at handover that differs: an adjustment, with its reason.
        await pilot.press("k", "p", "enter", *"178", "ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-reason"
        assert "the stock is 180" in status(app)
        await pilot.press(*"2 torn", "ctrl+s")
        await pilot.pause()
        assert stock(store, "DD01", "protective_suit") == 178
        await pilot.press("escape")
        await pilot.pause()
        moves = app.screen.query_one("#supply-moves", RecordTable)
        newest = " ".join(str(c) for c in moves.get_row_at(0))
        assert "count adjustment" in newest and "-2" in newest and "2 torn" in newest


async def test_an_issue_beyond_the_stock_is_refused_on_screen(two_points: Store) -> None:
    store = two_points
    store.supplies.record("delivery", {"point": "DD01", "item": "gloves", "quantity": "10"})
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8", "i", "g", "enter", *"11", "ctrl+s")
        await pilot.pause()
        assert "below zero" in status(app) and "1 short" in status(app)
        assert app.focused is not None and app.focused.id == "field-quantity"
        assert stock(store, "DD01", "gloves") == 10


async def test_the_days_left_flag_appears(two_points: Store, clock: Clock) -> None:
    store = two_points
    fields = {"point": "DD01", "item": "test_kit"}
    store.supplies.record("delivery", {**fields, "quantity": "100", "at": "2026-11-26 08:00"})
    for day in (26, 27):
        store.supplies.record("issue", {**fields, "quantity": "20", "at": f"2026-11-{day} 20:00"})
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        # 60 left, 40 used in 3 days: 4.5 days.
        assert "4.5" in items_row(app, "test_kit")
        assert "⚠" not in alerts(app)
        await pilot.press("i", "t", "enter", *"20", "ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        # 40 left, 60 used in 3 days: 2.0 days, below the 3 days of the threshold.
        assert "2.0" in items_row(app, "test_kit") and "⚠" in items_row(app, "test_kit")
        assert alerts(app) == "⚠ Short: test kits 2.0 d"
        await pilot.press("f1")
        await pilot.pause()
        assert alerts(app) == "⚠ Short: test kits 2.0 d"
        # The handover on F5 says so too.
        await pilot.press("f5")
        await pilot.pause()
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#handover-report", Static).content)
        report = console.export_text()
        assert "Supplies — items flagged for days of stock left: 1" in report
        assert "⚠ test kits 40 kits, 2.0 days left (flag threshold 3 days)" in report


async def test_flags_that_do_not_fit_give_way_whole(two_points: Store, lang: str) -> None:
    """Beside the people on duty the flags have half a line: what does not fit is
    counted (+2), never cut mid-word; a wider terminal shows every flag."""
    store = two_points
    for item in ("protective_suit", "n95_mask", "test_kit"):
        fields = {"point": "DD01", "item": item}
        store.supplies.record("delivery", {**fields, "quantity": "100", "at": "2026-11-26 08:00"})
        store.supplies.record("issue", {**fields, "quantity": "60", "at": "2026-11-28 20:00"})
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.query_one("#counter-alerts", Static)
        shown = alerts(app)
        assert cell_len(shown) <= line.content_size.width
        assert "…" not in shown and shown.endswith("+2")
        assert shown.count("2.0") == 1 and shown.count(item_label("protective_suit")) == 1
        await pilot.resize_terminal(160, 24)
        await pilot.pause()
        shown = alerts(app)
        assert shown.count("2.0") == 3 and "+" not in shown
        for item in ("protective_suit", "n95_mask", "test_kit"):
            assert item_label(item) in shown


async def test_the_city_overview_shows_where_supplies_run_short(
    two_points: Store, lang: str
) -> None:
    store = two_points
    suits = {"item": "protective_suit"}
    store.supplies.record(
        "delivery", {**suits, "point": "DD01", "quantity": "900", "at": "2026-11-26 08:00"}
    )
    store.supplies.record(
        "delivery", {**suits, "point": "DD02", "quantity": "100", "at": "2026-11-26 08:00"}
    )
    store.supplies.record(
        "issue", {**suits, "point": "DD02", "quantity": "60", "at": "2026-11-28 20:00"}
    )
    app = IsolationApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1", "s")
        await pilot.pause()
        table = app.screen.query_one("#supply-overview", RecordTable)
        rows = {key: [str(c) for c in table.get_row(key)] for key in ("*", "DD01", "DD02")}
        assert rows["DD01"][2:4] == ["900", "—"]
        assert rows["DD02"][2:4] == ["40", "⚠2.0"]
        assert rows["*"][2:4] == ["940", "47.0"]
        # Every column fits 80 columns, in both languages.
        assert table.virtual_size.width <= 80
        assert "DD02" in alerts(app) and "DD01" not in alerts(app)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.point == "DD02"
        assert "二号点" in str(app.screen.query_one("#screen-title", Static).content)
        assert "⚠" in items_row(app, "protective_suit")


async def test_a_donation_chosen_from_the_list_asks_for_its_donor_next(two_points: Store) -> None:
    store = two_points
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        # The kind chosen from the open list (space, down, enter): the donor is next.
        await pilot.press("f8", "r", "p", "enter", *"40", "enter", "space", "down", "enter")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-donor"
        await pilot.press(*"[b]红十字会[/b]", "ctrl+s")
        await pilot.pause()
        (donation,) = store.rows(SUPPLIES).values()
        assert (donation["kind"], donation["donor"], donation["quantity"]) == (
            "donation",
            "[b]红十字会[/b]",
            40,
        )
        await pilot.press("escape")
        await pilot.pause()
        moves = app.screen.query_one("#supply-moves", RecordTable)
        assert "[b]红十字会[/b] (tester)" in " ".join(str(c) for c in moves.get_row_at(0))


async def test_a_movement_corrected_and_voided_an_item_added_and_its_flag_set(
    two_points: Store,
) -> None:
    store = two_points
    for quantity, at in (("100", "2026-11-29 07:00"), ("50", "2026-11-29 08:00")):
        fields = {"point": "DD01", "item": "protective_suit", "quantity": quantity, "at": at}
        store.supplies.record("delivery", fields)
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        await pilot.press("tab")
        await pilot.pause()
        moves = app.screen.query_one("#supply-moves", RecordTable)
        chosen = int(moves.current_key() or 0)
        other = 150 - int(store.get(SUPPLIES, chosen)["quantity"])  # type: ignore[index]
        await pilot.press("c")
        await pilot.pause()
        app.screen.query_one("#field-quantity").value = "120"  # type: ignore[attr-defined]
        app.screen.query_one("#field-reason").value = "数错了"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert store.get(SUPPLIES, chosen)["quantity"] == 120  # type: ignore[index]
        assert stock(store, "DD01", "protective_suit") == 120 + other

        await pilot.press("v")
        await pilot.pause()
        app.screen.query_one("#field-reason").value = "重复录入"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert store.get(SUPPLIES, chosen)["voided"]  # type: ignore[index]
        assert stock(store, "DD01", "protective_suit") == other

        await pilot.press("shift+tab", "a")
        await pilot.pause()
        app.screen.query_one("#field-item").value = "隔离衣"  # type: ignore[attr-defined]
        app.screen.query_one("#field-unit").value = "件"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "隔离衣" in [item_label(code) for code, _, _ in store.supplies.items("DD01")]

        await pilot.press("d")
        await pilot.pause()
        app.screen.query_one("#field-threshold").value = "5"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        thresholds = {code: days for code, _, days in store.supplies.items("DD01")}
        assert 5 in thresholds.values()
