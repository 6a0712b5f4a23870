"""The first handover on a database with history covers the shift in progress,
not the whole history of the point."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import pytest
from conftest import CliRunner, Clock
from rich.console import Console
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 10, 0))


@pytest.fixture
def history(store_location: str, clock: Clock) -> Iterator[Store]:
    """Arrivals typed in as they came: on the 20th, last night, and this morning."""
    store = open_store(store_location, create=True, actor=Actor("tester"), clock=clock)
    rooms = [{"code": f"{100 + n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2, 3)]
    store.save_point("DD01", "一号点", rooms)
    for number, at in (
        ("P1", "2026-11-20 10:00"),
        ("P2", "2026-11-28 21:00"),
        ("P3", "2026-11-29 08:30"),
    ):
        clock.now = datetime.strptime(at, "%Y-%m-%d %H:%M")
        store.stays.register(
            {
                "point": "DD01",
                "name": f"住客{number}",
                "id_type": "passport",
                "id_number": number,
                "category": "inbound",
                "arrived_at": at,
            }
        )
    clock.now = datetime(2026, 11, 29, 9, 30)
    yield store
    store.close()


async def test_first_f5_shows_the_shift_in_progress(history: Store) -> None:
    app = IsolationApp(history, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        summary = app.screen.summary  # type: ignore[attr-defined]
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#handover-report", Static).content)
        report = console.export_text()
    assert summary["start"] == "2026-11-29 08:00" and "11-29 08:00" in report
    assert [a["name"] for a in summary["arrivals"]] == ["住客P3"]
    assert summary["counters_start"]["received"] == 2
    assert summary["counters_end"]["received"] == 3


async def test_before_the_first_shift_of_the_day_the_night_shift_is_shown(
    history: Store, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 29, 5, 0)
    app = IsolationApp(history, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        summary = app.screen.summary  # type: ignore[attr-defined]
    assert summary["start"] == "2026-11-28 20:00"
    assert "住客P1" not in [a["name"] for a in summary["arrivals"]]
    assert summary["counters_start"]["received"] == 1


async def test_shift_starts_are_set_per_database(history: Store, cli: CliRunner) -> None:
    history.close()
    assert cli("shifts").stdout.strip() == "08:00,20:00"
    refused = cli("shifts", "7 o'clock")
    assert refused.returncode == 1 and "not a list of shift start times" in refused.stderr
    done = cli("shifts", "7:00, 19:00")
    assert done.returncode == 0, done.stderr
    assert cli("shifts").stdout.strip() == "07:00,19:00"
    store = open_store(history.path, actor=Actor("tester"), clock=history.clock)
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        summary = app.screen.summary  # type: ignore[attr-defined]
    store.close()
    assert summary["start"] == "2026-11-29 07:00"
    assert [a["name"] for a in summary["arrivals"]] == ["住客P3"]
