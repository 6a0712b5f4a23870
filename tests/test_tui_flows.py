"""User flows through the terminal program at 80×24, driven by Pilot.

Each test types as a supervisor would and checks both what is stored and what
the screen shows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXED_NOW, stored_seq
from rich.cells import cell_len
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.domain.counters import Counters
from isolation_tui.i18n import set_language
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import DISCHARGES, INCIDENTS, STAYS
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
ID_A = "11010519491231002X"


def rooms(n: int) -> list[dict[str, object]]:
    return [
        {"code": f"{100 + i}", "floor": "1", "beds": 1, "blocked": False} for i in range(1, n + 1)
    ]


# Every flow on each store (a file, PostgreSQL): they must not differ. What tests
# the screen alone (keys, layout, language) runs once.
pytestmark = pytest.mark.both_stores


@pytest.fixture
def point_store(store: Store) -> Store:
    store.save_point("DD01", "一号点", rooms(5))
    store.save_point("DD02", "二号点", rooms(3))
    store.stays.register(
        {
            "point": "DD01",
            "name": "李四",
            "id_type": "passport",
            "id_number": "E1234567",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
            "phone": "13812345678",
        }
    )
    return store


def cell_text(app: IsolationApp, key: str) -> str:
    return str(app.screen.query_one(f"#counter-{key}", CounterCell).content)


def table_texts(app: IsolationApp) -> list[str]:
    table = app.screen.query_one(RecordTable)
    return [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_new_arrival_is_stored_listed_and_counted(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert cell_text(app, "received") == "Received 1"
        await pilot.press("f2", "n")
        await pilot.press(*"王小明", "enter")
        await pilot.press(*ID_A)
        await pilot.press("ctrl+s")
        await pilot.pause()
        stays = point_store.rows(STAYS)
        assert len(stays) == 2
        new = stays["2"]
        assert new["person"]["name"] == "王小明"
        assert new["person"]["birth_date"] == "1949-12-31"
        assert new["room"] == "102"
        assert new["created"]["who"] == "tester"
        assert cell_text(app, "received") == "Received 2"
        assert cell_text(app, "in_isolation") == "In isolation 2"
        # The form stays open for the next person, cursor on the name, bus fields kept.
        assert app.focused is not None and app.focused.id == "field-name"
        assert app.screen.query_one("#field-arrived_at", Input).value == "now"
        await pilot.press("escape")
        await pilot.pause()
        assert "王小明" in table_texts(app)[0]
        assert "1101**********002X" in table_texts(app)[0]


async def test_bus_load_keeps_repeating_fields(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        form = app.screen
        form.query_one("#field-transport", Input).value = "CA123"
        form.query_one("#field-origin", Input).value = "首尔"
        for n, name in enumerate(["甲", "乙", "丙"]):
            await pilot.press(*name, "enter")
            form.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
            form.query_one("#field-id_number", Input).value = f"P{n}"
            await pilot.press("ctrl+s")
            await pilot.pause()
        stays = [s for s in point_store.rows(STAYS).values() if s["transport"] == "CA123"]
        assert [s["person"]["name"] for s in stays] == ["甲", "乙", "丙"]
        assert {s["origin"] for s in stays} == {"首尔"}
        assert len({s["room"] for s in stays}) == 3


async def test_rejected_save_stores_nothing_and_points_at_the_field(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    seq = stored_seq(point_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.press(*"王小明", "enter")
        await pilot.press(*"110105194912310021")  # wrong check digit
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-id_number"
        error = app.screen.query_one("#error-id_number", Static)
        assert "check digit" in str(error.content)
        assert len(point_store.rows(STAYS)) == 1
        assert cell_text(app, "received") == "Received 1"
    assert stored_seq(point_store) == point_store.db.storage.seq == seq


@pytest.mark.parametrize(
    ("typed", "shown"),
    [("E12345\u200b67", "already in isolation"), ("Е1234567", "CYRILLIC CAPITAL LETTER IE")],
)
async def test_a_look_alike_passport_number_is_no_second_stay(
    point_store: Store, typed: str, shown: str
) -> None:
    """李四 is in isolation as E1234567: the same number with a zero-width space, or
    with a Cyrillic Е, is refused beside the field and nothing is stored."""
    app = IsolationApp(point_store, point="DD01")
    seq = stored_seq(point_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.press(*"李四", "enter")
        app.screen.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
        app.screen.query_one("#field-id_number", Input).value = typed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-id_number"
        error = app.screen.query_one("#error-id_number", Static)
        assert shown in str(error.content)
        assert len(point_store.rows(STAYS)) == 1
    assert stored_seq(point_store) == seq


async def test_discharge_moves_the_counters(point_store: Store) -> None:
    # Home only after a negative last planned test (the override is in test_health_tui).
    last_test, _ = point_store.health.tests_of(1)[-1]
    point_store.health.record_result(last_test, "negative", "2026-11-28 08:00")
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-kind"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert point_store.rows(STAYS)["1"]["status"] == "discharged"
        (discharge,) = point_store.rows(DISCHARGES).values()
        assert discharge["kind"] == "released_home" and discharge["negative_test"] is True
        assert not discharge["test_override"]
        assert cell_text(app, "released_home") == "Released home 1"
        assert cell_text(app, "in_isolation") == "In isolation 0"


async def test_incident_goes_from_open_to_handled(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "n")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-kind").value = "fever"  # type: ignore[attr-defined]
        form.query_one("#field-people", Input).value = "101"
        form.query_one("#field-summary", Input).value = "38.5 [b]高烧[/b]"
        await pilot.press("ctrl+s")
        await pilot.pause()
        (incident,) = point_store.rows(INCIDENTS).values()
        assert incident["status"] == "open" and incident["stays"] == [1]
        assert cell_text(app, "incidents") == "Handled 0 (open 1)"
        assert "38.5 [b]高烧[/b]" in table_texts(app)[0]
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("ctrl+s")  # no resolution: refused
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "field-resolution"
        await pilot.press(*"送定点医院")
        await pilot.press("ctrl+s")
        await pilot.pause()
        (incident,) = point_store.rows(INCIDENTS).values()
        assert incident["status"] == "handled" and incident["resolution"] == "送定点医院"
        assert cell_text(app, "incidents") == "Handled 1 (open 0)"


async def test_fkeys_switch_screens_from_inside_a_form_and_keep_it(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n", *"半截")
        await pilot.press("f4")
        await pilot.pause()
        assert app.current_mode == "incidents"
        await pilot.press("f1")
        assert app.current_mode == "overview"
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen.query_one("#field-name", Input).value == "半截"
        await pilot.press("escape")  # typed in: asks first
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#field-name", Input).value == "半截"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert app.screen.query(RecordTable)


async def test_markup_and_control_characters_show_literally(point_store: Store) -> None:
    point_store.stays.register(
        {
            "point": "DD01",
            "name": "a[/]b [red]x[/red] 😷",
            "id_type": "passport",
            "id_number": "X1",
            "category": "inbound",
            "arrived_at": "2026-11-28 10:00",
        }
    )
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert "a[/]b [red]x[/red] 😷" in table_texts(app)[0]
        await pilot.press("n")
        await pilot.press(*"x\x1by")
        assert app.screen.query_one("#field-name", Input).value == "xy"
        await pilot.press("escape", "y", "enter")
        await pilot.pause()
        detail = str(app.screen.query_one("#detail-text", Static).content)
        assert "a[/]b [red]x[/red] 😷" in detail


async def test_details_unmask_what_lists_mask(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        assert "E1****67" in table_texts(app)[0]
        assert "13812345678" not in " ".join(table_texts(app))
        await pilot.press("enter")
        await pilot.pause()
        detail = str(app.screen.query_one("#detail-text", Static).content)
        assert "E1234567" in detail and "13812345678" in detail


async def test_read_only_opens_no_form(store_location: str, point_store: Store) -> None:
    viewer = open_store(store_location, read_only=True, actor=Actor("viewer"))
    app = IsolationApp(viewer, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        assert app.screen.query(RecordTable)
        assert "READ-ONLY" in str(app.screen.query_one("#mode-tabs", Static).content)
        await app.screen.run_action("new")  # as the command palette would
        await pilot.pause()
        assert app.screen.query(RecordTable)
        assert any("read-only" in str(n.message) for n in app._notifications)


@pytest.mark.one_store  # the screen alone
async def test_too_small_says_so(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        assert "too small" in str(app.screen.query_one("#too-small", Static).content)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.query("#counter-bar")


WRITER = """
import sys
from isolation_tui.storage.repository import open_store
store = open_store(sys.argv[1])
store.stays.register({"point": "DD01", "name": "other", "id_type": "passport",
    "id_number": "Z9", "category": "inbound", "arrived_at": "2026-11-28 10:00"})
"""


async def test_another_process_write_shows_without_a_key(
    store_location: str, point_store: Store
) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        assert cell_text(app, "received") == "Received 1"
        subprocess.run([sys.executable, "-c", WRITER, store_location], check=True)
        for _ in range(40):
            await pilot.pause(0.05)
            if cell_text(app, "received") == "Received 2":
                break
        assert cell_text(app, "received") == "Received 2"
        assert app.screen.query_one("#counter-received").has_class("changed")


@pytest.mark.one_store  # the screen alone
async def test_chinese_screens_have_no_english(point_store: Store, chinese: None) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f1", "f2", "f3", "f4"):
            await pilot.press(key)
            await pilot.pause()
            bar = cell_text(app, "received")
            assert bar.startswith("累计接收")


@pytest.mark.one_store  # the screen alone
def test_fixed_now_is_the_clock(point_store: Store) -> None:
    assert point_store.clock() == FIXED_NOW


@pytest.mark.one_store  # the screen alone
async def test_each_app_speaks_its_own_language(point_store: Store) -> None:
    """Key descriptions are translated per app, never left over from an earlier one."""
    for lang, save in (("zh", "保存"), ("en", "Save"), ("zh", "保存")):
        set_language(lang)
        app = IsolationApp(point_store, point="DD01")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2", "n")
            await pilot.pause()
            descriptions = {b.binding.description for b in app.active_bindings.values()}
            assert save in descriptions
    set_language("en")


async def test_spaces_are_typed_as_they_are(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n", *"JOHN SMITH", "enter")
        app.screen.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
        app.screen.query_one("#field-id_number", Input).value = "E55"
        app.screen.query_one("#field-transport", Input).value = "CA 123"
        await pilot.press("ctrl+s")
        await pilot.pause()
    (stay,) = [s for s in point_store.rows(STAYS).values() if s["person"]["id_number"] == "E55"]
    assert stay["person"]["name"] == "JOHN SMITH" and stay["transport"] == "CA 123"


@pytest.mark.one_store  # the screen alone
async def test_quit_asks_when_a_form_holds_typing(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n", *"未保存", "f1", "ctrl+q")
        await pilot.pause()
        assert app.is_running and "Quit anyway" in str(app.screen.query_one(Static).content)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q", "y")
        await pilot.pause()
        assert not app.is_running


@pytest.mark.one_store  # the screen alone
async def test_palette_reaches_actions_of_other_screens(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "New arrival (Arrivals)" in titles and "Void (Discharges)" in titles
        await app._run_in_mode("arrivals", "new")
        await pilot.pause()
        assert app.current_mode == "arrivals"
        assert app.focused is not None and app.focused.id == "field-name"


async def test_unshown_rule_is_said_in_the_status_line(point_store: Store) -> None:
    point_store.stays.discharge({"stay": "1", "discharged_at": "09:00", "kind": "hospital"})
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("tab", "v")
        await pilot.pause()
        assert "李四" in str(app.screen.query_one("#screen-title", Static).content)
        point_store.stays.void("discharges", 1, "already done elsewhere")
        await pilot.press(*"again", "ctrl+s")
        await pilot.pause()
        status = str(app.screen.query_one("#form-status", Static).content)
        assert status.startswith("Not saved.") and "already voided" in status
        assert "李四" in status and "already done elsewhere" in status


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_counter_bar_fits_80_columns_with_large_figures(
    point_store: Store, lang: str
) -> None:
    """Eight figures of a city at demo scale, and the point on the F-key line."""
    set_language(lang)
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        big = Counters(
            received=4113,
            released_home=3558,
            transferred=123,
            in_isolation=432,
            incidents_handled=33,
            incidents_open=19,
            beds=4743,
            occupied_beds=432,
            due_today=18,
            overdue=12,
            missed_checks=140,
            tests_due=197,
        )
        app.counters = {**app.counters, "DD01": big}
        app.data_changed.publish(frozenset({"*"}))
        await pilot.pause()
        for counter in app.screen.query(CounterCell):
            text = str(counter.content)
            assert cell_len(text) <= counter.content_region.width, text
        assert "4113" in cell_text(app, "received") and "197" in cell_text(app, "health")
        tabs = str(app.screen.query_one("#mode-tabs", Static).content)
        # The point by its name, or by its code where the F-key line has no room left.
        assert cell_len(tabs) <= 80 and "F5" in tabs and "F7" in tabs
        assert "F6 一号点" in tabs or "F6 DD01" in tabs
    set_language("en")


@pytest.mark.one_store
async def test_a_journal_damaged_while_running_does_not_end_the_program(
    db_path: Path, point_store: Store
) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n", *"还在")
        journal = db_path.with_name(db_path.name + "-journal")
        with journal.open("ab") as fh:
            fh.write(b'00000000 {"seq": 99}\n')
        for _ in range(20):
            await pilot.pause(0.05)
        assert app.is_running
        assert app.screen.query_one("#field-name", Input).value == "还在"
        assert any("read-only" in entry.message for entry in app.said)  # whole, as F9 shows
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(point_store.rows(STAYS)) == 1


@pytest.mark.slow
@pytest.mark.one_store  # the screen alone
async def test_the_cursor_never_leaves_a_form(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        for key in ["tab"] * 20 + ["shift+tab"] * 25 + ["enter"] * 17:
            await pilot.press(key)
            focused = app.focused
            assert focused is not None and (focused.id or "").startswith("field-"), key
            row = focused.parent
            assert row is not None and row.has_class("-current")
            assert len(app.screen.query(".field-row.-current")) == 1


@pytest.mark.one_store  # the screen alone
async def test_quit_asks_when_handover_notes_are_typed(point_store: Store) -> None:
    app = IsolationApp(point_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "tab", *"夜班备注", "ctrl+q")
        await pilot.pause()
        assert app.is_running and "Quit anyway" in str(app.screen.query_one(Static).content)
