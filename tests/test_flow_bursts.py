"""Keys that arrive together (tmux send-keys, a fast typist over SSH, a card reader)
land where the screen shows they would, and a save lands on the record just written.

Pilot's ``press`` lets the app go idle after every key; a terminal does not: a burst
of keys is read in one go. ``burst`` sends them as a terminal does.
"""

from __future__ import annotations

import pytest
import test_corrections
from textual import events
from textual.app import ComposeResult
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Input

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.supplies import SUPPLIES
from isolation_tui.storage.tables import DISCHARGES, STAYS
from isolation_tui.widgets.form import RecordForm
from isolation_tui.widgets.key_order import KeysInOrder
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


# The point of the corrections' flows: three single rooms, a clock at 09:30.
clock = test_corrections.clock
point = test_corrections.point
arrive = test_corrections.arrive


async def burst(pilot: Pilot[None], *keys: str) -> None:
    """Send ``keys`` as one read from the terminal: all queued before any is handled."""
    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        character = key if len(key) == 1 else None
        if key == "space":
            character = " "
        event = events.Key(key if len(key) > 1 else _name(key), character)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()
    await pilot.pause()


def _name(character: str) -> str:
    """The key's name as Textual's driver gives it (``/`` is ``slash``)."""
    return _character_to_key(character)


async def test_a_discharge_typed_in_one_burst_keeps_its_destination(point: Store) -> None:
    """Seen over tmux: another kind typed on a held release, tab, tab, a destination,
    ctrl+s: the destination went into the time field, the save was refused, and the
    destination field was empty. (A held release opens on the override reason:
    shift+tab goes back to the kind.)"""
    arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14, today) is pending
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await burst(pilot, "shift+tab", "h", "tab", "tab", *"City hospital")
        destination = app.screen.query_one("#field-destination", Input)
        assert destination.value == "City hospital"
        assert app.screen.query_one("#field-discharged_at", Input).value == "now"
        await pilot.press("ctrl+s")
        await pilot.pause()
    (discharge,) = point.rows(DISCHARGES).values()
    assert discharge["kind"] == "hospital" and discharge["destination"] == "City hospital"


async def test_a_discharge_entered_through_in_one_burst_keeps_its_destination(
    point: Store,
) -> None:
    """The same with enter, the key a supervisor uses to move on."""
    arrive(point, "P1", "2026-11-15 10:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await burst(pilot, "shift+tab", "h", "enter", "enter", *"City hospital", "ctrl+s")
        await pilot.pause()
    (discharge,) = point.rows(DISCHARGES).values()
    assert discharge["kind"] == "hospital" and discharge["destination"] == "City hospital"


def current_key(app: IsolationApp, table: str) -> str | None:
    return app.screen.query_one(table, RecordTable).current_key()


async def test_a_new_incident_saved_is_under_the_cursor(point: Store) -> None:
    """F4, n, a new incident saved: the list's cursor is on it, not on the old one."""
    stay = arrive(point, "P1", "2026-11-15 10:00")
    point.incidents.open(
        {
            "point": "DD01",
            "kind": "fever",
            "severity": "4",
            "summary": "old",
            "occurred_at": "08:00",
        },
        stays=[stay],
    )
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        assert current_key(app, "#incidents-table") == "1"
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("f", "enter", "enter", *"lift stuck", "ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#incidents-table", RecordTable).row_count == 2
        assert current_key(app, "#incidents-table") == "2"
        assert "lift stuck" in str(app.screen.query_one("#incident-text").render())


async def test_a_discharge_saved_is_under_the_cursor_of_the_discharges(point: Store) -> None:
    for number in ("P1", "P2", "P3"):
        arrive(point, number, "2026-11-10 10:00")
    point.stays.discharge({"stay": "3", "discharged_at": "08:00", "kind": "hospital"})
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "tab", "down")  # the older discharges, as if looked at
        await pilot.press("shift+tab", "d")
        await pilot.pause()
        await pilot.press("h", "ctrl+s")
        await pilot.pause()
        assert len(point.rows(DISCHARGES)) == 2
        assert current_key(app, "#done-table") == "2"


def title_of(app: IsolationApp) -> str:
    return str(app.screen.query_one("#screen-title").render())


async def test_down_then_v_in_one_burst_voids_the_row_below(point: Store) -> None:
    """Seen over tmux on F2: ``Down v`` in one read opened the void form for the row
    the cursor was on before Down: the void would land on another person."""
    for number in ("P1", "P2", "P3"):
        arrive(point, number, "2026-11-28 10:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert current_key(app, "#stays-table") == "3"
        await burst(pilot, "down", "v")
        assert "住客P2" in title_of(app) and "住客P3" not in title_of(app)
        await burst(pilot, *"typed twice", "ctrl+s")
        await pilot.pause()
    assert [s for s, stay in point.rows(STAYS).items() if stay.get("voided")] == ["2"]


async def test_up_then_c_in_one_burst_corrects_the_row_above(point: Store) -> None:
    for number in ("P1", "P2", "P3"):
        arrive(point, number, "2026-11-28 10:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "down", "down")
        await pilot.pause()
        assert current_key(app, "#stays-table") == "1"
        await burst(pilot, "up", "c")
        assert getattr(app.screen, "stay_id", None) == 2
        await pilot.press("escape")
        await pilot.pause()
        await burst(pilot, "down", "c")
        assert getattr(app.screen, "stay_id", None) == 1


async def test_a_typo_fixed_in_one_burst_is_stored_fixed(point: Store) -> None:
    """Backspace and the right character read together: the wrong one goes, the right
    one stays (seen: ``abc`` then ``BSpace x`` gave ``abc``, an ID ending 1720 then
    ``BSpace 8`` stayed 1720)."""
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        await burst(pilot, *"Zhang San", "enter", *"110105198503017000")
        await burst(pilot, "backspace", "7")
        await burst(pilot, "enter", *"139001")
        await burst(pilot, "backspace", "2", "left", "left", "backspace", "7")
        form = app.screen.query_one(RecordForm)
        assert form.row("id_number").value() == "110105198503017007"
        assert form.row("phone").value() == "139702"
        await burst(pilot, "ctrl+s")
        await pilot.pause()
    (stay,) = point.rows(STAYS).values()
    assert stay["person"]["id_number"] == "110105198503017007"
    assert stay["person"]["phone"] == "139702"


async def test_tab_tab_and_a_destination_in_one_burst_is_saved_with_it(point: Store) -> None:
    """Seen over tmux: ``Tab Tab City hospital ctrl+s`` in one read typed the text
    into the choice that had the cursor before the tabs; saved with no destination."""
    arrive(point, "P1", "2026-11-10 10:00")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await pilot.press("shift+tab", "h")  # from the override reason to the kind
        await burst(pilot, "tab", "tab", *"City hospital", "ctrl+s")
        await pilot.pause()
    (discharge,) = point.rows(DISCHARGES).values()
    assert discharge["kind"] == "hospital" and discharge["destination"] == "City hospital"


class OneField(KeysInOrder):
    """The smallest app with the keys-in-order handling: one field."""

    def compose(self) -> ComposeResult:
        yield Input()


async def test_keys_in_order_holds_on_the_textual_in_use() -> None:
    """What widgets/key_order.py relies on in Textual: a bound key (backspace, left)
    comes back up to the app and its binding runs before the next key is taken. On
    Textual 8.2.8 without it, ``abc`` then backspace and ``x`` read together give
    ``ab`` (https://github.com/Textualize/textual/issues/6605)."""
    app = OneField()
    async with app.run_test(size=SIZE) as pilot:
        await burst(pilot, *"abc", "backspace", "x", "left", "backspace", "y")
        assert app.query_one(Input).value == "ayx"
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_down_then_v_on_the_supplies_voids_a_movement_of_the_item_below(
    point: Store,
) -> None:
    """F8: the movements shown follow the item under the cursor; ``Down v`` read
    together voids a movement of the item moved to, never one of the item left."""
    for item in ("protective_suit", "n95_mask", "test_kit"):
        point.supplies.record(
            "delivery", {"point": "DD01", "item": item, "quantity": "100", "at": "08:00"}
        )
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f8")
        await pilot.pause()
        items = app.screen.query_one("#supply-items", RecordTable)
        second = str(items.coordinate_to_cell_key((1, 0)).row_key.value)
        await burst(pilot, "down", "v")
        await pilot.press(*"wrong item", "ctrl+s")
        await pilot.pause()
    (voided,) = [m for m in point.rows(SUPPLIES).values() if m.get("voided")]
    assert voided["item"] == second
