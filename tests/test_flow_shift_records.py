"""A shift worked as a new user would, each record meaning what the supervisor did:
a held release corrected to another kind, a reading left before a corrected
arrival, the questions of the arrival form, a full point, the discharge form's
title, the figures `stats --json` gives. Driven by Pilot at 80×24 and the CLI."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CliRunner, Clock
from rich.console import Console
from textual.widgets import Input, Select, Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless.check import problems
from isolation_tui.i18n import t
from isolation_tui.screens.base import MainScreen
from isolation_tui.screens.confirm import ConfirmScreen
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, DISCHARGES, STAYS

SIZE = (80, 24)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 29, 9, 30))


@pytest.fixture
def point(db_path: Path, clock: Clock) -> Iterator[Store]:
    store = open_store(str(db_path), create=True, actor=Actor("tester"), clock=clock)
    rooms = [{"code": f"{100 + n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2, 3)]
    rooms.append({"code": "201", "floor": "2", "beds": 2, "blocked": False})
    store.save_point("DG01", "东港1号点", rooms)
    yield store
    store.close()


def arrive(store: Store, number: str, at: str, room: str = "", name: str = "") -> int:
    return store.stays.register(
        {
            "point": "DG01",
            "room": room,
            "name": name or f"住客{number}",
            "id_type": "passport",
            "id_number": number,
            "category": "inbound",
            "arrived_at": at,
            "sex": "female",
        }
    )


def text_of(app: IsolationApp, widget: str = "#form-status") -> str:
    return str(app.screen.query_one(widget, Static).content)


# ---------------------------------------------------------------- 1. held release


async def test_a_held_release_corrected_to_hospital_loses_its_override(
    point: Store, lang: str
) -> None:
    stay = arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14) pending
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        app.screen.query_one("#field-override", Input).value = "上级特批 转居家"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not app.screen.query("#form-status"), text_of(app)
        (discharge,) = point.rows(DISCHARGES).values()
        assert discharge["test_override"] == "上级特批 转居家"
        await pilot.press("f3", "tab", "c")
        await pilot.pause()
        form = app.screen
        # The correction shows the override it would keep, under its hold.
        assert form.query_one("#field-override", Input).value == "上级特批 转居家"
        assert form.query_one("#release-held", Static).display
        form.query_one("#field-kind", Select).value = "hospital"
        await pilot.pause()
        assert not form.query_one("#row-override").display
        assert not form.query_one("#release-held", Static).display
        form.query_one("#field-destination", Input).value = "市中心医院"
        form.query_one("#field-reason", Input).value = "家中有急事，上级批准"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not form
        await pilot.press("f5")
        await pilot.pause()
        console = Console(file=io.StringIO(), width=78, color_system=None)
        console.print(app.screen.query_one("#handover-report", Static).content)
        report = console.file.getvalue()  # type: ignore[attr-defined]
        assert "市中心医院" in report and "上级特批" not in report, report
    (discharge,) = point.rows(DISCHARGES).values()
    assert discharge["kind"] == "hospital" and not discharge.get("test_override")
    (entry,) = [
        e
        for e in point.rows(AUDIT).values()
        if e["table"] == DISCHARGES and e["action"] == "correct"
    ]
    assert "上级特批 转居家" in json.dumps(entry, ensure_ascii=False)
    assert list(problems(point)) == []
    assert point.get(STAYS, stay)["status"] == "discharged"


async def test_a_discharge_corrected_to_release_home_is_held_as_a_new_one(
    point: Store, lang: str
) -> None:
    arrive(point, "P1", "2026-11-15 10:00")  # its last test (day 14) pending
    point.stays.discharge({"stay": "1", "discharged_at": "08:00", "kind": "hospital"})
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "tab", "c")
        await pilot.pause()
        form = app.screen
        assert not form.query_one("#row-override").display
        assert not form.query_one("#release-held", Static).display
        form.query_one("#field-kind", Select).value = "released_home"
        await pilot.pause()
        assert form.query_one("#row-override").display
        assert form.query_one("#release-held", Static).display
        form.query_one("#field-reason", Input).value = "wrong kind"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        assert t("field.override") in text_of(app)
        assert point.rows(DISCHARGES)["1"]["kind"] == "hospital"
        form.query_one("#field-override", Input).value = "doctor's note"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not form
    discharge = point.rows(DISCHARGES)["1"]
    assert discharge["kind"] == "released_home"
    assert discharge["test_override"] == "doctor's note"
    assert list(problems(point)) == []


def test_check_reports_an_override_on_a_discharge_not_home(point: Store) -> None:
    arrive(point, "P1", "2026-11-15 10:00")
    discharge = point.stays.discharge(
        {"stay": "1", "discharged_at": "08:00", "kind": "released_home", "override": "ok"}
    )
    assert list(problems(point)) == []
    with point.transaction():
        point._change(DISCHARGES, discharge, {"kind": "hospital"}, "correct")
    found = list(problems(point))
    assert found == [
        f"discharge {discharge} of person 1 (to hospital) carries a release-home override: ok"
    ]


# ---------------------------------------------------------------- 2, 3. before arrival


async def test_a_reading_left_before_a_corrected_arrival_is_flagged(
    point: Store, lang: str
) -> None:
    stay = arrive(point, "P1", "2026-11-29 06:58", name="孙六")
    test_id, _ = point.health.tests_of(stay)[0]
    point.health.record_result(test_id, "negative", "07:04")
    check_id, _, _ = point.health.record_check(stay, "2026-11-29", "morning", "365", at="07:04")
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "c")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-arrived_at", Input).value = "2026-11-29 07:05"
        form.query_one("#field-reason", Input).value = "typed wrong"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not form
        await pilot.press("enter")
        await pilot.pause()
        detail = str(app.screen.query_one("#detail-text", Static).content)
    flagged = [line for line in detail.splitlines() if line.startswith("⚑")]
    before = t("check.taken_before_arrival", at="07:05")
    assert len(flagged) == 2 and all(before in line for line in flagged), flagged
    assert t("check.off_plan_days", days=1) not in detail
    found = list(problems(point))
    assert len(found) == 2, found
    assert any(f"{check_id}" in line and "07:04" in line for line in found)


def test_a_sample_taken_days_before_its_plan_says_by_how_much(point: Store) -> None:
    stay = arrive(point, "P1", "2026-11-20 10:00")
    test_id, _ = point.health.tests_of(stay)[1]  # day 4: 2026-11-23
    point.health.record_result(test_id, "negative", "2026-11-23 09:00")
    point.stays.correct(stay, {"arrived_at": "2026-11-22 10:00"}, "the bus came later")
    (found,) = list(problems(point))
    assert t("check.off_plan_days", days=2) in found, found  # planned 2026-11-25 now
    assert "2026-11-25" in found and t("check.taken_before_arrival", at="10:00") not in found


# ---------------------------------------------------------------- 4, 5. arrival form


async def new_arrival(pilot: object, app: IsolationApp, name: str, number: str) -> None:
    await pilot.press("f2", "n", *name)  # type: ignore[attr-defined]
    form = app.screen
    form.query_one("#field-id_number", Input).value = number
    form.query_one("#field-id_type", Select).value = "passport"
    form.query_one("#field-sex", Select).value = "male"


async def test_sharing_is_asked_once_and_only_of_a_form_that_would_save(
    point: Store, lang: str
) -> None:
    arrive(point, "P1", "2026-11-29 08:00", room="201", name="张三")
    app = IsolationApp(point, point="DG01")
    asked: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await new_arrival(pilot, app, "李四", "P2")
        form = app.screen
        form.query_one("#field-room", Select).value = "201"
        form.query_one("#field-arrived_at", Input).value = "10:30"  # an hour ahead
        await pilot.press("ctrl+s")
        await pilot.pause()
        # The time is refused before anything is asked.
        assert app.screen is form and not isinstance(app.screen, ConfirmScreen)
        assert t("error.future", value="2026-11-29 10:30") in text_of(app)
        form.query_one("#field-arrived_at", Input).value = "09:35"  # within the tolerance
        await pilot.press("ctrl+s")
        for answer in ("y", "n"):
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            asked.append(str(app.screen.query_one(Static).content))
            await pilot.press(answer)
        await pilot.pause()
        # The room was still asked about after the time's yes; no to it: nothing stored.
        assert point.rows(STAYS).keys() == {"1"} and app.screen is form
        await pilot.press("ctrl+s")
        await pilot.pause()
        # The time was confirmed in this form: only the room is asked again, once.
        assert isinstance(app.screen, ConfirmScreen)
        asked.append(str(app.screen.query_one(Static).content))
        await pilot.press("y")
        await pilot.pause()
    share = t("ui.confirm_share", room="201", people="张三 (" + t("sex.female") + ")")
    assert len(asked) == 3 and asked[0] != share and asked[1:] == [share, share], asked
    stay = point.rows(STAYS)["2"]
    assert stay["room"] == "201" and stay["shares_with"] == [1]


async def test_a_point_with_no_empty_room_offers_its_shared_rooms_and_a_full_one_says_so(
    point: Store, lang: str
) -> None:
    for number, room in (("P1", "101"), ("P2", "102"), ("P3", "103"), ("P4", "201")):
        arrive(point, number, "2026-11-29 08:00", room=room, name=f"住客{number}")
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await new_arrival(pilot, app, "李四", "P5")
        form = app.screen
        offered = [str(label) for label, _ in form.query_one("#field-room", Select)._options]
        with_p4 = t("ui.room_with", room="201", people="住客P4 (" + t("sex.female") + ")")
        assert with_p4 in offered, offered
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert t("error.point_full", point="DG01") in text_of(app)
        form.query_one("#field-room", Select).value = "201"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert point.rows(STAYS)["5"]["room"] == "201"
        # Every bed taken: no room to share either, and the message says so.
        await new_arrival(pilot, app, "王五", "P6")
        await pilot.press("ctrl+s")
        await pilot.pause()
        status = text_of(app)
        assert t("error.point_no_bed", point="DG01", beds=5) in status, status
        assert t("error.point_full", point="DG01") not in status
    assert len(point.rows(STAYS)) == 5


# ---------------------------------------------------------------- 6. whose discharge


async def test_the_discharge_form_names_the_person_by_their_number(point: Store, lang: str) -> None:
    arrive(point, "P1", "2026-11-15 10:00", room="101", name="邵倩莹")
    point.stays.discharge({"stay": "1", "discharged_at": "08:00", "kind": "hospital"})
    arrive(point, "P2", "2026-11-15 10:00", room="102", name="张三")  # person 2
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        title = text_of(app, "#screen-title")
        assert t("ui.whose", name="张三", stay=2, room="102") in title, title
        await pilot.press("escape", "f3", "tab", "c")
        await pilot.pause()
        title = text_of(app, "#screen-title")
        assert t("ui.whose", name="邵倩莹", stay=1, room="101") in title, title
        app.screen.query_one("#field-reason", Input).value = "wrong time"
        await pilot.press("ctrl+s")
        await pilot.pause()
        said = " ".join(str(n.message) for n in app._notifications)
        whose = {"en": "邵倩莹 (person #1)", "zh": "邵倩莹(人员 #1)"}[lang]
        assert whose in said, said


# ---------------------------------------------------------------- 7. stats --json


def test_stats_json_gives_the_keys_the_readme_lists(point: Store, cli: CliRunner) -> None:
    arrive(point, "P1", "2026-11-15 10:00")
    point.close()
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    said = readme.split("`stats --json` prints one object with the keys", 1)[1]
    said = said.split("Counters are always computed", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", said))
    result = cli("stats", "--json", "--point", "DG01")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == listed
    assert figures["on_duty"] == 0 and figures["over_limit"] == 0
    assert figures["in_isolation"] == 1 and figures["point"] == "DG01"


# ---------------------------------------------------------------- 8. a correction's save


async def test_a_correction_saved_recounts_once_and_redraws_only_the_list_shown(
    point: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save costs one recount and the list it returns to: not a reload of the form
    that is closing, nor of every screen open behind it."""
    for number, room in (("P1", "101"), ("P2", "102")):
        arrive(point, number, "2026-11-29 08:00", room=room)
    app = IsolationApp(point, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "f4", "f1", "f2", "c")  # lists open behind, as in a shift
        await pilot.pause()
        form = app.screen
        form.query_one("#field-notes", Input).value = "坐第三排"
        form.query_one("#field-reason", Input).value = "漏填备注"
        calls: list[str] = []
        counters = point.counters
        monkeypatch.setattr(point, "counters", lambda *a: calls.append("count") or counters(*a))
        for screen in {*app.screen_stack, *app._installed_screens.values()}:
            if isinstance(screen, MainScreen):
                reload = screen.reload
                name = type(screen).__name__

                def counted(reload: Callable[[], None] = reload, name: str = name) -> None:
                    calls.append(name)
                    reload()

                monkeypatch.setattr(screen, "reload", counted)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not form
    assert point.rows(STAYS)["2"]["notes"] == "坐第三排"
    assert sorted(calls) == ["ArrivalsScreen", "count"], calls
