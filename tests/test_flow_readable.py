"""Readable at 80×24, in both languages: nothing a supervisor must read is cut."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from textual.widget import Widget
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import set_language, t
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import STAYS
from isolation_tui.widgets import record_table
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
BAD_ID = "110105194912310021"  # the check digit should be X


@pytest.fixture
def chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("en")


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
    store.stays.register(
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
        one_person.incidents.open(
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
            t("incident_kind_short.facility"),
            t("incident_kind_short.medical"),
            t("incident_kind_short.supply"),
        } <= kinds


async def test_the_overview_opens_on_your_own_point(store: Store, lang: str) -> None:
    for n in range(1, 31):
        store.save_point(f"P{n:02d}", f"第{n}隔离点", [{"code": "101", "beds": 1}])
    app = IsolationApp(store, point="P27")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert table.current_key() == "P27"
        row = table.cursor_row
        assert table.scroll_y <= row < table.scroll_y + table.scrollable_content_region.height - 1


@pytest.fixture
def eight_people(store: Store) -> Store:
    store.save_point("DD01", "一号点", [{"code": f"10{n}", "beds": 1} for n in range(8)])
    for n in range(8):
        store.stays.register(
            {
                "point": "DD01",
                "name": f"住客{n}",
                "id_type": "passport",
                "id_number": f"P{n:04d}",
                "category": "inbound",
                "arrived_at": "2026-11-28 10:00",
            }
        )
    return store


async def test_arrivals_filter_says_when_empty_and_esc_clears_it(
    eight_people: Store, lang: str
) -> None:
    app = IsolationApp(eight_people, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "slash", *"zzz", "enter")
        await pilot.pause(0.5)
        table = app.screen.query_one(RecordTable)
        assert table.row_count == 0
        note = shown(app, app.screen.query_one("#filter-note"))
        assert "zzz" in note and "esc" in note
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert app.screen.query_one("#filter", Input).value == ""
        assert table.row_count == 8
        assert not app.screen.query_one("#filter-note").display
        # From inside the filter too.
        await pilot.press("slash", *"住客3")
        await pilot.pause(0.5)
        assert table.row_count == 1
        await pilot.press("escape")
        await pilot.pause(0.5)
        assert table.row_count == 8 and app.screen.focused is table


async def test_home_and_end_go_to_the_top_and_bottom_of_the_whole_list(
    eight_people: Store, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record_table, "PAGE_SIZE", 3)
    app = IsolationApp(eight_people, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "end")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert table.current_key() == "1"  # the oldest, on the last page
        await pilot.press("home")
        await pilot.pause()
        assert table.current_key() == "8"  # the newest


def notes(app: IsolationApp) -> str:
    return " ".join(n.message for n in app._notifications)


async def test_a_discharge_is_named_by_whose_it_is(store: Store, lang: str) -> None:
    """Discharge numbers and person numbers differ: every message names the person."""
    store.save_point("DD01", "一号点", [{"code": f"10{n}", "beds": 1} for n in range(3)])
    for n, name in enumerate(["李四", "王五", "赵六"]):
        store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "passport",
                "id_number": f"P{n}",
                "category": "close_contact",
                "arrived_at": "2026-11-20 10:00",
            }
        )
    # Discharge 1 is person 3's; the one made below, discharge 2, is person 1's.
    store.stays.discharge({"stay": "3", "discharged_at": "2026-11-29 08:00", "kind": "hospital"})
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        app.screen.query_one("#field-kind").value = "hospital"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = notes(app)
        assert "李四" in said and "#1" in said and "#2" not in said
        app.clear_notifications()
        # After a save the cursor is on the discharge just made (person 1's); the
        # one below it is person 3's.
        done = app.screen.query_one("#done-table", RecordTable)
        assert done.current_key() == "2"
        await pilot.press("tab", "down")
        await pilot.press("v")  # the discharge under the cursor: person 3's
        await pilot.pause()
        heading = shown(app, app.screen.query_one("#screen-title"))
        assert "赵六" in heading and "#3" in heading and "#1" not in heading
        app.screen.query_one("#field-reason", Input).value = "wrong person"
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = notes(app)
        assert "赵六" in said and "#3" in said and "#1" not in said
        await pilot.press("f1")
        await pilot.pause()
        panel = shown(app, app.screen.query_one("#point-panel"))
        assert "#3" in panel and "#2" not in panel


async def test_an_open_choice_list_says_its_keys_in_chinese(
    one_person: Store, chinese: None
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-category").focus()
        await pilot.press("space")
        await pilot.pause()
        footer = {key.key: key.description for key in app.screen.query(FooterKey)}
        assert footer["escape"] == t("ui.key_dismiss_menu") != "Dismiss menu"


async def test_the_correction_form_names_the_nationality(store: Store, lang: str) -> None:
    store.save_point("DD01", "一号点", [{"code": "101", "beds": 1}])
    stay_id = store.stays.register(
        {
            "point": "DD01",
            "name": "张伟",
            "id_number": "11010519491231002X",
            "category": "inbound",
            "arrived_at": "2026-11-28 10:00",
        }
    )
    assert store.get(STAYS, stay_id)["person"]["nationality"] == "CN"  # type: ignore[index]
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "c")
        await pilot.pause()
        field = app.screen.query_one("#field-nationality", Input)
        assert field.value == t("nationality.CN") != "CN"
        app.screen.query_one("#field-phone", Input).value = "13912345678"
        app.screen.query_one("#field-reason", Input).value = "new phone"
        await pilot.press("ctrl+s")
        await pilot.pause()
    person = store.get(STAYS, stay_id)["person"]  # type: ignore[index]
    assert person["phone"] == "13912345678" and person["nationality"] == "CN"


async def test_the_arrivals_and_discharges_lists_fit_80_columns(
    eight_people: Store, lang: str
) -> None:
    for stay in range(1, 4):
        eight_people.stays.discharge(
            {
                "stay": str(stay),
                "discharged_at": "2026-11-29 08:00",
                "kind": "hospital",
                "destination": "丹东市第一医院感染科隔离病区三楼东侧",
            }
        )
    app = IsolationApp(eight_people, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f2", "f3"):
            await pilot.press(key)
            await pilot.pause()
            for table in app.screen.query(RecordTable):
                assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_a_refusal_in_the_round_is_said_whole(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k", *"365", "enter")
        await pilot.pause()
        await pilot.press(*"366", "enter")  # past the last row: must not overwrite
        await pilot.pause()
        status = shown(app, app.screen.query_one("#entry-status"))
        assert whole(t("ui.already_entered", again="↵")) in status


async def test_a_held_release_says_why_whole(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        held = shown(app, app.screen.query_one("#release-held"))
        why = one_person.health.release_block(1)
        assert whole(t("ui.release_held", why=why)) in held
