"""Voiding a discharge puts the person back in their room. When someone else has
been placed there since (a room of two beds: the bed check passes), the void asks,
as an arrival does, whether they are one household or group; a no stores nothing,
and ``check`` never finds the room shared unconfirmed. Pilot at 80×24."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from conftest import Clock

from isolation_tui.app import IsolationApp
from isolation_tui.domain.errors import FieldError
from isolation_tui.headless.check import problems
from isolation_tui.screens.confirm import ConfirmScreen
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import DISCHARGES, STAYS

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def point(store_location: str) -> Iterator[Store]:
    store = open_store(
        store_location,
        create=True,
        actor=Actor("tester"),
        clock=Clock(datetime(2026, 11, 29, 9, 30)),
    )
    store.save_point("DD01", "一号点", [{"code": "201", "floor": "2", "beds": 2, "blocked": False}])
    yield store
    store.close()


def arrive(store: Store, number: str, sex: str) -> int:
    return store.stays.register(
        {
            "point": "DD01",
            "room": "201",
            "name": f"住客{number}",
            "sex": sex,
            "id_type": "passport",
            "id_number": number,
            "category": "inbound",
            "arrived_at": "2026-11-20 10:00",
        }
    )


async def test_voiding_a_discharge_into_a_room_taken_since_asks_about_sharing(
    point: Store, lang: str
) -> None:
    first = arrive(point, "P1", "male")
    point.stays.discharge({"stay": str(first), "discharged_at": "08:00", "kind": "hospital"})
    second = arrive(point, "P2", "female")  # the room was empty: no question then
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "tab", "v")
        await pilot.pause()
        await pilot.press(*"wrong person", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "201" in question and "住客P2" in question and "住客P1" in question
        await pilot.press("n")
        await pilot.pause()
        assert point.rows(DISCHARGES)["1"].get("voided") is None
        assert point.rows(STAYS)[str(first)]["status"] == "discharged"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert point.rows(DISCHARGES)["1"]["voided"]["reason"] == "wrong person"
    stay = point.rows(STAYS)[str(first)]
    assert stay["status"] == "open" and stay["shares_with"] == [second]
    assert list(problems(point)) == []


def test_the_store_refuses_a_void_into_a_room_taken_since_unless_shared(point: Store) -> None:
    first = arrive(point, "P1", "male")
    point.stays.discharge({"stay": str(first), "discharged_at": "08:00", "kind": "hospital"})
    arrive(point, "P2", "female")
    with pytest.raises(FieldError) as refused:
        point.stays.void(DISCHARGES, 1, "wrong person")
    assert "201" in refused.value.message and "住客P2" in refused.value.message
    assert point.rows(STAYS)[str(first)]["status"] == "discharged"
    assert list(problems(point)) == []
