"""A filter searches sealed history in a worker: the screen never freezes.

Seen at ``demo --scale 10``: typing ``张伟`` in F2's filter froze the whole program
for 5-7 s (F1, pressed meanwhile, answered after 5 s), the filter reading every
sealed month on the UI thread. Now the live set's matches show at once, the filter
line says earlier months are being searched, every key keeps working, and a new
filter (or leaving the screen) drops the search under way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXED_NOW
from test_store_seal import history, seal
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.screens.overview import OverviewScreen
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import DISCHARGES, INCIDENTS, STAYS
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)


class Held:
    """The store's walk through sealed history, held until the test lets it go."""

    def __init__(self, store: Store, tables: tuple[str, ...] = (STAYS, DISCHARGES)) -> None:
        self.go = threading.Event()
        self.started: list[str] = []
        storage = store.db.storage
        walk = storage.sealed_parts

        def held(table: str, *args: Any) -> Iterator[dict[str, Any]]:
            if table in tables:
                self.started.append(table)
                assert self.go.wait(10), "the test never let the search go"
            yield from walk(table, *args)

        storage.sealed_parts = held  # type: ignore[method-assign]


@pytest.fixture
def sealed_store(store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """人0 and 人1 discharged in September and October, 人2 voided: sealed; 人3 in
    isolation: live. As at a point that has run for years, the overview's latest
    changes are all in the live set (here a few thousand would reach the seal)."""
    monkeypatch.setattr(Store, "RECENT_WINDOW", 1)
    history(store)
    store.close()
    assert seal(db_path)
    again = open_store(db_path, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    again.save_point("DD02", "二号点", [{"code": "201", "beds": 1}])  # a change since
    yield again
    assert again.history_sealed()  # never read in whole
    again.close()


def column(app: IsolationApp, table_id: str, index: int) -> list[str]:
    table = app.screen.query_one(table_id, RecordTable)
    return sorted(str(table.get_row_at(row)[index]) for row in range(table.row_count))


def note(app: IsolationApp) -> str:
    shown = app.screen.query_one("#filter-note", Static)
    return str(shown.content) if shown.display else ""


async def test_f2_shows_the_live_match_at_once_and_earlier_months_when_read(
    sealed_store: Store, lang: str
) -> None:
    held = Held(sealed_store)
    app = IsolationApp(sealed_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "slash", "人")
        await pilot.pause(0.5)
        assert column(app, "#stays-table", 2) == ["人3"]
        assert held.started == ["stays"]
        assert note(app) == t("ui.filter_searching", text="人")
        # Every other key works meanwhile: the overview, and back.
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("f2")
        await pilot.pause(0.5)
        assert column(app, "#stays-table", 2) == ["人3"]
        held.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert column(app, "#stays-table", 2) == ["人0", "人1", "人2", "人3"]
        assert note(app) == ""


async def test_a_new_filter_drops_the_search_under_way(sealed_store: Store, lang: str) -> None:
    held = Held(sealed_store)
    app = IsolationApp(sealed_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "slash", "人")
        await pilot.pause(0.5)
        await pilot.press("1")
        await pilot.pause(0.5)
        assert column(app, "#stays-table", 2) == []
        assert note(app) == t("ui.filter_searching", text="人1")
        held.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # Only 人1: what the first search found for 人 is never shown.
        assert column(app, "#stays-table", 2) == ["人1"]
        assert note(app) == ""
        await pilot.press("escape")
        await pilot.pause()
        # The live set on the first page, and the sealed rows said to follow.
        assert column(app, "#stays-table", 2) == ["人3"]
        assert note(app) == t("ui.sealed_below", count=3)


async def test_f3_finds_earlier_discharges_by_person_and_destination(
    sealed_store: Store, lang: str
) -> None:
    held = Held(sealed_store)
    app = IsolationApp(sealed_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "slash", *"人1")
        await pilot.pause(0.5)
        assert column(app, "#done-table", 2) == []
        assert note(app) == t("ui.filter_searching", text="人1")
        held.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert column(app, "#done-table", 2) == ["人1"]
        assert note(app) == ""
        await pilot.press("escape")
        for typed in ("slash", *"市医院"):
            await pilot.press(typed)
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert column(app, "#done-table", 2) == ["人0", "人1"]


async def test_f4_finds_an_earlier_incident_when_its_month_is_read(
    sealed_store: Store, lang: str
) -> None:
    held = Held(sealed_store, (INCIDENTS,))
    app = IsolationApp(sealed_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "slash", *"发热")
        await pilot.pause(0.5)
        assert column(app, "#incidents-table", 0) == []
        assert held.started == [INCIDENTS]
        assert note(app) == t("ui.filter_searching", text="发热")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("f4")
        await pilot.pause(0.5)
        held.go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert column(app, "#incidents-table", 0) == ["1"]
        assert note(app) == ""
