"""Keys that arrive together (tmux send-keys, a fast typist over SSH, a card reader)
land where the screen shows they would, and a save lands on the record just written.

Pilot's ``press`` lets the app go idle after every key; a terminal does not: a burst
of keys is read in one go. ``burst`` sends them as a terminal does.
"""

from __future__ import annotations

import unicodedata

import pytest
import test_corrections
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import DISCHARGES
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
    if character.isalnum():
        return character
    return unicodedata.name(character).lower().replace(" ", "_")


async def test_a_discharge_typed_in_one_burst_keeps_its_destination(point: Store) -> None:
    """Seen over tmux: another kind typed on a held release, tab, tab, a destination,
    ctrl+s: the destination went into the time field, the save was refused, and the
    destination field was empty."""
    arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14, today) is pending
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await burst(pilot, "h", "tab", "tab", *"City hospital")
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
        await burst(pilot, "h", "enter", "enter", *"City hospital", "ctrl+s")
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
