"""Stays on the arrivals list: extend, shorten, correct, and paging; Pilot at 80×24."""

from __future__ import annotations

import pytest
from conftest import stored_seq
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import STAYS
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)


@pytest.fixture
def one_stay(store: Store) -> Store:
    rooms = [{"code": f"10{i}", "floor": "1", "beds": 1, "blocked": False} for i in range(1, 4)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    store.stays.register(
        {
            "point": "DD01",
            "name": "李四",
            "id_type": "passport",
            "id_number": "E1234567",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
        }
    )
    return store


def first_row(app: IsolationApp) -> str:
    table = app.screen.query_one(RecordTable)
    return " ".join(str(c) for c in table.get_row_at(0))


async def test_x_extends_a_stay_with_a_reason_and_the_list_shows_the_new_due(
    one_stay: Store,
) -> None:
    assert one_stay.get(STAYS, 1)["release_due"] == "2026-11-29"  # type: ignore[index]
    app = IsolationApp(one_stay, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert "11-29" in first_row(app)
        await pilot.press("x")
        await pilot.pause()
        title = str(app.screen.query_one("#screen-title", Static).content)
        assert "李四" in title and "2026-11-29" in title
        await pilot.press(*"+7", "enter", *"密接者阳性")
        await pilot.press("ctrl+s")
        await pilot.pause()
        stay = one_stay.get(STAYS, 1)
        assert stay is not None
        assert stay["release_due"] == "2026-12-06"
        assert [(e["days"], e["reason"]) for e in stay["extensions"]] == [(7, "密接者阳性")]
        assert [t["planned_day"] for _, t in one_stay.health.tests_of(1)][-1] == 21
        assert one_stay.history(STAYS, 1)[-1]["reason"] == "密接者阳性"
        # The form has closed; the list shows the new date.
        assert app.screen.query(RecordTable)
        assert "12-06" in first_row(app)


async def test_an_extension_without_a_reason_is_refused_and_stores_nothing(
    one_stay: Store,
) -> None:
    seq = stored_seq(one_stay)
    app = IsolationApp(one_stay, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press(*"-3", "ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-reason"
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.screen.query_one("#field-days", Input).value == "-3"
    assert stored_seq(one_stay) == seq
    assert one_stay.get(STAYS, 1)["extensions"] == []  # type: ignore[index]


async def test_c_corrects_a_stay_with_a_reason_and_the_detail_shows_its_history(
    one_stay: Store,
) -> None:
    app = IsolationApp(one_stay, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#field-name", Input).value == "李四"
        assert form.query_one("#field-id_number", Input).value == "E1234567"
        form.query_one("#field-name", Input).value = "李思"
        await pilot.press("ctrl+s")  # a correction needs its reason
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-reason"
        assert one_stay.get(STAYS, 1)["person"]["name"] == "李四"  # type: ignore[index]
        await pilot.press(*"护照拼写", "ctrl+s")
        await pilot.pause()
        stay = one_stay.get(STAYS, 1)
        assert stay is not None and stay["person"]["name"] == "李思"
        assert one_stay.history(STAYS, 1)[-1]["reason"] == "护照拼写"
        assert "李思" in first_row(app)

        # The detail: the whole ID, the change with its reason; x from there too.
        await pilot.press("enter")
        await pilot.pause()
        detail = str(app.screen.query_one("#detail-text", Static).content)
        assert "E1234567" in detail and "护照拼写" in detail
        assert "李四" in detail and "李思" in detail
        await pilot.press("x", *"+2", "enter", *"复查", "ctrl+s")
        await pilot.pause()
        assert one_stay.get(STAYS, 1)["release_due"] == "2026-12-01"  # type: ignore[index]
        detail = str(app.screen.query_one("#detail-text", Static).content)
        assert "+2 复查" in detail and "2026-12-01" in detail


async def test_ctrl_arrows_page_through_a_long_list(store: Store) -> None:
    rooms = [{"code": f"{i:03d}", "floor": "1", "beds": 1, "blocked": False} for i in range(205)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    with store.transaction():
        for n in range(205):
            store.stays.register(
                {
                    "point": "DD01",
                    "name": f"旅客{n + 1}",
                    "id_type": "passport",
                    "id_number": f"P{n}",
                    "category": "inbound",
                    "arrived_at": "2026-11-20 10:00",
                }
            )
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert table.row_count == 200 and "旅客205" in first_row(app)
        await pilot.press("ctrl+right")
        await pilot.pause()
        assert table.row_count == 5 and "旅客5" in first_row(app)
        assert "201–205 of 205 (ctrl+→ / ctrl+←)" in [str(n.message) for n in app._notifications]
        await pilot.press("ctrl+right")  # there is no third page
        await pilot.pause()
        assert table.row_count == 5
        await pilot.press("ctrl+left")
        await pilot.pause()
        assert table.row_count == 200 and "旅客205" in first_row(app)
