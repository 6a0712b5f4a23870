"""Readable at 80×24, in both languages: nothing a supervisor must read is cut."""

from __future__ import annotations

import re

import pytest
from textual.widget import Widget
from textual.widgets import Input

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
BAD_ID = "110105194912310021"  # the check digit should be X


def shown(app: IsolationApp, widget: Widget) -> str:
    """What the terminal shows of ``widget``, its lines joined, without spaces (a
    wrapped line may break anywhere in Chinese)."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    lines = [
        "".join(segment.text for segment in strips[y].crop(region.x, region.right))
        for y in range(region.y, region.bottom)
    ]
    return re.sub(r"\s+", "", "".join(lines))


def whole(message: str) -> str:
    return re.sub(r"\s+", "", message)


async def save_arrival(app: IsolationApp, pilot: object, id_number: str) -> None:
    await pilot.press("f2", "n")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    app.screen.query_one("#field-name", Input).value = "王五"
    app.screen.query_one("#field-id_number", Input).value = id_number
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_a_wrong_check_digit_is_said_whole_beside_the_field(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await save_arrival(app, pilot, BAD_ID)
        error = app.screen.query_one("#error-id_number")
        assert whole(t("error.id_check_digit")) in shown(app, error)


async def test_a_person_already_in_isolation_is_said_whole(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
        await save_arrival(app, pilot, "E1234567")
        error = app.screen.query_one("#error-id_number")
        message = t("error.already_isolated", id=1, point="DD01")
        assert whole(message) in shown(app, error)


LONG_NAME = "振安1号点·五龙背温泉宾馆"


@pytest.fixture
def long_named(store: Store) -> Store:
    store.save_point("ZA01", LONG_NAME, [{"code": "101", "floor": "1", "beds": 1}])
    store.register_arrival(
        {
            "point": "ZA01",
            "name": "李四",
            "id_type": "passport",
            "id_number": "E1234567",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
        }
    )
    return store


@pytest.mark.parametrize(("key", "name"), [("k", "ui.round_morning"), ("t", "ui.title_tests")])
async def test_the_round_and_tests_titles_keep_the_point_name(
    long_named: Store, lang: str, key: str, name: str
) -> None:
    app = IsolationApp(long_named, point="ZA01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", key)
        await pilot.pause()
        title = shown(app, app.screen.query_one("#screen-title"))
        assert title.startswith(whole(t(name)))
        assert whole(LONG_NAME) in title and "…" not in title


async def test_the_export_format_is_said_whole(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "e")
        await pilot.pause()
        assert whole(t("format.md")) in shown(app, app.screen.query_one("#field-format"))


async def test_a_long_point_name_is_said_whole_in_the_arrival_form(
    long_named: Store, lang: str
) -> None:
    app = IsolationApp(long_named, point="ZA01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        assert whole(LONG_NAME) in shown(app, app.screen.query_one("#field-point"))


def column_widths(table: RecordTable) -> list[int]:
    return [column.get_render_width(table) for column in table.ordered_columns]


async def test_the_incident_table_keeps_its_widths_and_fits(one_person: Store, lang: str) -> None:
    for kind, severity in [("facility", "2"), ("medical", "3"), ("supply", "1")]:
        one_person.open_incident(
            {
                "point": "DD01",
                "occurred_at": "2026-11-29 08:00",
                "kind": kind,
                "severity": severity,
                "summary": "3楼热水器故障，6个房间没有热水，已通知维修",
            }
        )
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        before = column_widths(table)
        # The whole row is on screen: no column hides past the right edge.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        for keys in (["a", *"called", "ctrl+s"], ["h", *"fixed", "ctrl+s"], ["v", *"x", "ctrl+s"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert app.screen.query_one(RecordTable) is table
            assert column_widths(table) == before
        kinds = {str(table.get_row_at(row)[2]) for row in range(table.row_count)}
        assert {
            t("incident_kind.facility"),
            t("incident_kind.medical"),
            t("incident_kind.supply"),
        } <= kinds
