"""Entry flows at 80×24, driven by Pilot: rooms, a bus typed fast, pastes, choices,
people named as supervisors write them, and symptoms that stay visible.

Each flow counts the keys a supervisor presses beyond the data they type.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import CliRunner, copy_demo
from rich.console import Console
from textual import events
from textual.widgets import Input, Static
from textual.widgets._select import SelectOverlay

from isolation_tui.app import IsolationApp
from isolation_tui.domain.errors import FieldError
from isolation_tui.headless.check import problems
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import CHECKS, INCIDENTS, STAYS
from isolation_tui.widgets.form import ChoiceField
from isolation_tui.widgets.record_table import RecordTable

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)
MAN = "110105194912310011"  # born 1949-12-31, male
WOMAN = "11010519491231002X"  # born 1949-12-31, female
LI_SI = "210603198405055550"  # born 1984-05-05, male


def room(code: str, beds: int = 1, floor: str = "") -> dict[str, object]:
    return {"code": code, "floor": floor or code[0], "beds": beds, "blocked": False}


@pytest.fixture
def hotel(store: Store) -> Store:
    """Point DD01: family rooms (2 beds) on floor 2, single rooms on floor 3."""
    store.save_point(
        "DD01",
        "一号点",
        [room("201", 2), room("202", 2), room("301"), room("302"), room("305")],
    )
    return store


def arrive(store: Store, number: str, name: str, **extra: str) -> int:
    fields = {
        "point": "DD01",
        "name": name,
        "id_number": number,
        "category": "inbound",
        "arrived_at": "2026-11-28 14:05",
        **extra,
    }
    return store.stays.register(fields)


def status(app: IsolationApp) -> str:
    return str(app.screen.query_one("#form-status", Static).content)


def field(app: IsolationApp, name: str) -> str:
    control = app.screen.query_one(f"#field-{name}")
    if isinstance(control, ChoiceField):
        return "" if control.is_blank() else str(control.value)
    assert isinstance(control, Input)
    return control.value


def focused(app: IsolationApp) -> str:
    assert app.focused is not None and app.focused.id is not None
    return app.focused.id.removeprefix("field-")


# ---------------------------------------------------------------- §4 rooms


async def test_automatic_placement_gives_each_stranger_an_empty_room(hotel: Store) -> None:
    """Seen: a man and a woman placed together in the first room with a free bed."""
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        for name, number in (("王强", MAN), ("赵敏", WOMAN), ("李四", LI_SI)):
            await pilot.press(*name, "enter", *number, "ctrl+s")
            await pilot.pause()
    stays = list(hotel.rows(STAYS).values())
    rooms = [stay["room"] for stay in stays]
    assert len(set(rooms)) == 3, rooms
    # Single rooms first: family rooms stay free for families.
    assert rooms == ["301", "302", "305"]
    assert not any(stay.get("shares_with") for stay in stays)
    assert list(problems(hotel)) == []


def test_no_empty_room_left_refuses_automatic_placement(hotel: Store) -> None:
    for n, number in enumerate((MAN, WOMAN, LI_SI, "E1", "E2")):
        id_type = {} if n < 3 else {"id_type": "passport"}
        arrive(hotel, number, f"客{n}", **id_type)
    with pytest.raises(FieldError) as full:
        arrive(hotel, "E3", "客5", id_type="passport")
    assert (full.value.field, full.value.key) == ("room", "error.point_full")


def test_a_room_left_empty_is_given_again_before_a_family_room(hotel: Store) -> None:
    first = arrive(hotel, MAN, "王强")
    arrive(hotel, WOMAN, "赵敏")
    arrive(hotel, "E1", "Smith", id_type="passport")
    hotel.stays.discharge({"stay": str(first), "discharged_at": "now", "kind": "hospital"})
    again = arrive(hotel, LI_SI, "李四")
    assert hotel.get(STAYS, again)["room"] == "301"  # type: ignore[index]
    family = arrive(hotel, "E2", "Jones", id_type="passport")
    assert hotel.get(STAYS, family)["room"] == "201"  # type: ignore[index]


async def test_choosing_an_occupied_room_names_who_and_asks(hotel: Store) -> None:
    arrive(hotel, MAN, "王强", room="201")
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        room_field = app.screen.query_one("#field-room", ChoiceField)
        labels = [str(label) for label, _ in room_field._options[1:]]
        assert labels[0] == "202 empty"
        assert "201 with 王强 (male)" in labels
        await pilot.press(*"赵敏", "enter", *WOMAN)
        room_field.value = "201"
        await pilot.pause()
        assert "same household" in str(app.screen.query_one("#error-room", Static).content)
        await pilot.press("ctrl+s")
        await pilot.pause()
        question = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "王强 (male)" in question and "household" in question
        await pilot.press("n")
        await pilot.pause()
        assert len(hotel.rows(STAYS)) == 1
        assert focused(app) == "room"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    stays = hotel.rows(STAYS)
    assert stays["2"]["room"] == "201" and stays["2"]["shares_with"] == [1]
    assert list(problems(hotel)) == []


async def test_enter_out_of_habit_does_not_answer_the_household_question(hotel: Store) -> None:
    """In the bus rhythm (name ↵ ID ↵ phone ↵) a supervisor presses enter out of
    habit: a question must be answered with y or n, never by enter."""
    arrive(hotel, MAN, "王强", room="201")
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        await pilot.press(*"赵敏", "enter", *WOMAN)
        app.screen.query_one("#field-room", ChoiceField).value = "201"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("enter", "enter")
        await pilot.pause()
        question = " ".join(str(s.content) for s in app.screen.query(Static))
        assert "王强 (male)" in question and "household" in question
        assert len(hotel.rows(STAYS)) == 1
        await pilot.press("y")
        await pilot.pause()
    assert hotel.rows(STAYS)["2"]["shares_with"] == [1]


def test_a_shared_room_without_a_confirmed_household_is_a_check_finding(
    hotel: Store, cli: CliRunner
) -> None:
    arrive(hotel, MAN, "王强", room="201")
    with pytest.raises(FieldError) as unconfirmed:
        arrive(hotel, WOMAN, "赵敏", room="201")
    assert unconfirmed.value.key == "error.room_occupied"
    assert "王强 (male)" in unconfirmed.value.message
    # Written around the rules, as an older version or a hand edit could have.
    stay_id = arrive(hotel, WOMAN, "赵敏")
    with hotel.transaction():
        hotel.table(STAYS).update({"room": "201"}, doc_ids=[stay_id])
    hotel.close()
    result = cli("check")
    assert result.returncode == 1
    assert "room 201 of point DD01 is shared by stays 1, 2" in result.stderr


def test_csv_import_places_in_empty_rooms_and_shares_only_when_told(
    hotel: Store, tmp_path: Path, cli: CliRunner
) -> None:
    hotel.close()
    header = "point,room,name,id_type,id_number,category,arrived_at,shares_room\n"
    rows = [
        f"DD01,,王强,,{MAN},inbound,2026-11-28 14:05,",
        f"DD01,,赵敏,,{WOMAN},inbound,2026-11-28 14:05,",
        f"DD01,201,李四,,{LI_SI},inbound,2026-11-28 14:05,",
        "DD01,201,李小四,passport,E1,inbound,2026-11-28 14:05,",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    refused = cli("import", "arrivals", str(bad))
    assert refused.returncode == 1
    assert "bad.csv:5: room" in refused.stderr and "李四 (male)" in refused.stderr
    rows[3] = "DD01,201,李小四,passport,E1,inbound,2026-11-28 14:05,是"
    good = tmp_path / "good.csv"
    good.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    assert cli("import", "arrivals", str(good)).returncode == 0, "imported"
    assert cli("check").returncode == 0


@pytest.mark.one_store  # the demo\'s data, the same on both (test_postgres)
def test_demo_shares_rooms_only_within_families(
    tmp_path: Path, cli: CliRunner, demo_template: Path
) -> None:
    # The demo's data as `demo` writes it (test_demo runs the command itself).
    db = copy_demo(demo_template, tmp_path / "demo.db")
    result = cli("check", "--db", str(db))
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- §6 a bus goes fast


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_second_arrival_of_a_bus_takes_three_keys(hotel: Store, lang: str) -> None:
    set_language(lang)
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-transport", Input).value = "CA123"
        await pilot.press(*"王强", "enter", *MAN, "enter", *"13812345678", "ctrl+s")
        await pilot.pause()
        assert len(hotel.rows(STAYS)) == 1
        # The second person: the typed data and exactly three more keys.
        await pilot.press(*"赵敏", "enter")
        assert focused(app) == "id_number"
        await pilot.press(*WOMAN, "enter")
        assert focused(app) == "phone"  # ID type, sex, birth date, nationality: filled
        await pilot.press(*"13900000000", "enter")
        await pilot.pause()
        stays = hotel.rows(STAYS)
        assert len(stays) == 2
        second = stays["2"]
        assert second["person"]["name"] == "赵敏"
        assert second["person"]["phone"] == "13900000000"
        assert second["person"]["sex"] == "female" and second["transport"] == "CA123"
        assert focused(app) == "name"


async def test_a_bus_typed_in_one_burst_loses_nothing(hotel: Store) -> None:
    """A fast typist over SSH (or a card reader): every key of three people arrives
    before the first is stored; each lands in its field and each person is saved."""
    people = [("王强", MAN, "13812345678"), ("赵敏", WOMAN, "13900000000"), ("李四", LI_SI, "")]
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        await pilot.press(*"王五", "enter", *"E1", "enter", "p", "ctrl+s")
        await pilot.pause()
        assert len(hotel.rows(STAYS)) == 1
        driver = app._driver
        assert driver is not None
        for name, number, phone in people:
            for char in [*name, "enter", *number, "enter", *phone, "enter"]:
                key = "enter" if char == "enter" else char
                driver.send_message(events.Key(key, "\r" if char == "enter" else char))
        for _ in range(200):
            await pilot.pause(0.02)
            if len(hotel.rows(STAYS)) == 4:
                break
        await pilot.pause()
    stored = [
        (s["person"]["name"], s["person"]["id_number"], s["person"]["phone"])
        for s in list(hotel.rows(STAYS).values())[1:]
    ]
    assert stored == people


async def test_a_resident_id_shows_what_it_says_at_once(hotel: Store) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        await pilot.press(*"赵敏", "enter", *WOMAN[:17])
        assert field(app, "sex") == "" and field(app, "birth_date") == ""
        await pilot.press(WOMAN[17])
        await pilot.pause()
        assert field(app, "sex") == "female"
        assert field(app, "birth_date") == "1949-12-31"
        assert field(app, "nationality") == "China"
        await pilot.press("backspace")
        await pilot.pause()
        assert field(app, "sex") == "" and field(app, "nationality") == ""


async def test_a_pasted_name_and_id_fill_two_fields(hotel: Store) -> None:
    """Seen: ``李四⏎210603198405055550`` pasted into Name kept the name, lost the ID."""
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        name = app.screen.query_one("#field-name", Input)
        name.post_message(events.Paste(f"李四\n{LI_SI}\n"))
        await pilot.pause()
        assert field(app, "name") == "李四" and field(app, "id_number") == LI_SI
        assert field(app, "sex") == "male"
        assert "Pasted 2" in status(app)
        assert focused(app) == "phone"
        await pilot.press("ctrl+s")
        await pilot.pause()
    (stay,) = hotel.rows(STAYS).values()
    assert stay["person"]["id_number"] == LI_SI and stay["person"]["name"] == "李四"


async def test_a_paste_that_does_not_fit_is_refused_whole(hotel: Store) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-notes", Input).post_message(events.Paste("a\nb\nc"))
        await pilot.pause()
        assert "Not pasted: 3 values but 2 fields" in status(app)
        assert field(app, "notes") == ""
        # A choice that does not exist: nothing of the paste is kept.
        app.screen.query_one("#field-name", Input).post_message(events.Paste(f"王强\n{MAN}\n驾照"))
        await pilot.pause()
        assert "ID type has no choice “驾照”" in status(app)
        assert field(app, "name") == "" and field(app, "id_number") == ""
        # Outside a form: refused with a message, never cut to its first line.
        await pilot.press("escape", "slash")
        await pilot.pause()
        app.screen.query_one("#filter", Input).post_message(events.Paste("王\n李"))
        await pilot.pause()
        assert app.screen.query_one("#filter", Input).value == ""
        assert any("one line" in str(n.message) for n in app._notifications)


async def test_a_spreadsheet_row_fills_the_fields_in_the_readme_order(hotel: Store) -> None:
    row = "\t".join(
        [
            "DD01",
            "",
            "王强",
            "男",
            "",
            "身份证",
            MAN,
            "",
            "13812345678",
            "首尔",
            "KE831",
            "境外输入",
            "2026-11-28 14:05",
            "14",
            "轮椅",
        ]
    )
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-name", Input).post_message(events.Paste(row))
        await pilot.pause()
        assert field(app, "transport") == "KE831" and field(app, "sex") == "male"
        await pilot.press("ctrl+s")
        await pilot.pause()
    (stay,) = hotel.rows(STAYS).values()
    assert stay["person"]["name"] == "王强" and stay["person"]["phone"] == "13812345678"
    assert (stay["origin"], stay["transport"], stay["notes"]) == ("首尔", "KE831", "轮椅")
    assert stay["arrived_at"] == "2026-11-28 14:05" and stay["quarantine_days"] == 14


async def test_choices_take_typing(hotel: Store) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        await pilot.press(*"Smith", "enter", *"E7654321", "enter")
        assert focused(app) == "id_type"
        await pilot.press("p")
        assert field(app, "id_type") == "passport"
        await pilot.press("enter", "f")
        assert field(app, "sex") == "female"
        await pilot.press("enter", "enter", "enter", "enter")
        assert focused(app) == "room"
        await pilot.press(*"30")
        assert field(app, "room") == "301"
        await pilot.press("5")
        assert field(app, "room") == "305"
        await pilot.press("ctrl+s")
        await pilot.pause()
    (stay,) = hotel.rows(STAYS).values()
    assert stay["person"]["id_type"] == "passport" and stay["person"]["sex"] == "female"
    assert stay["room"] == "305"


async def test_choices_take_chinese_and_offer_no_dummy(hotel: Store, chinese: None) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "n")
        await pilot.pause()
        kind = app.screen.query_one("#field-kind", ChoiceField)
        assert kind.is_blank()
        app.screen.set_focus(kind)
        await pilot.press("space")
        await pilot.pause()
        overlay = kind.query_one(SelectOverlay)
        assert overlay.highlighted is not None
        # The blank is no choice: the list holds only real ones, on the first.
        assert str(overlay.get_option_at_index(0).prompt) == "发热"
        assert overlay.highlighted == 0
        await pilot.press("enter")
        await pilot.pause()
        assert kind.value == "fever"
        await pilot.press("shift+tab")
        app.screen.set_focus(kind)
        await pilot.press("冲")
        assert kind.value == "conflict"


# ---------------------------------------------------------------- people involved


async def test_people_involved_as_supervisors_write_them(hotel: Store) -> None:
    wang = arrive(hotel, MAN, "王强", room="301")
    zhao = arrive(hotel, WOMAN, "赵敏", room="305")
    li = arrive(hotel, LI_SI, "李四", room="201")
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        for written, expected in (
            ("305室", [zhao]),
            ("3楼", [wang, zhao]),
            ("李四、301房", [li, wang]),
        ):
            await pilot.press("f4", "n")
            await pilot.pause()
            app.screen.query_one("#field-kind", ChoiceField).value = "conflict"
            app.screen.query_one("#field-people", Input).value = written
            app.screen.query_one("#field-summary", Input).value = written
            await pilot.press("ctrl+s")
            await pilot.pause()
            (incident,) = [i for i in hotel.rows(INCIDENTS).values() if i["summary"] == written]
            assert incident["stays"] == expected, written
        await pilot.press("f4", "n")
        await pilot.pause()
        app.screen.query_one("#field-kind", ChoiceField).value = "conflict"
        app.screen.query_one("#field-people", Input).value = "9楼"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "9楼" in status(app)
    assert len(hotel.rows(INCIDENTS)) == 3


async def test_an_incident_takes_kind_people_summary_and_four_keys(hotel: Store) -> None:
    zhao = arrive(hotel, WOMAN, "赵敏", room="305")
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        # n, ↵, ↵, ctrl+s beyond the data (the kind's first letter is the data).
        await pilot.press("n", "f", "enter", *"305", "enter", *"38.6 发热", "ctrl+s")
        await pilot.pause()
    (incident,) = hotel.rows(INCIDENTS).values()
    assert incident["kind"] == "fever" and incident["stays"] == [zhao]
    assert incident["summary"] == "38.6 发热" and incident["status"] == "open"


# ---------------------------------------------------------------- symptoms


async def test_symptoms_typed_in_a_round_stay_visible(hotel: Store) -> None:
    arrive(hotel, MAN, "王强", room="301")
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        await pilot.press(*"385 咳嗽 乏力", "enter")
        await pilot.pause()
        (check,) = hotel.rows(CHECKS).values()
        assert check["symptoms"] == "咳嗽 乏力"
        row = " ".join(str(c) for c in app.screen.query_one(RecordTable).get_row_at(0))
        assert "38.5!" in row and "咳嗽 乏力" in row
        (draft,) = hotel.rows(INCIDENTS).values()
        assert "咳嗽 乏力" in draft["summary"]
        await pilot.press("escape", "f5")
        await pilot.pause()
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#handover-report", Static).content)
        assert "38.5 °C 咳嗽 乏力" in console.export_text()
