"""Defects found by the acceptance trial of a whole shift (issue 8), each as a flow:
a new user at 80×24, in Chinese and in English, on one database.

The clock is 2026-11-30 05:11 where a round has not begun yet.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from conftest import CliRunner, Clock
from rich.cells import cell_len
from rich.console import Console
from textual.widgets import Input, Select, Static, TextArea
from textual.widgets._select import SelectOverlay

from isolation_tui.app import IsolationApp
from isolation_tui.domain.errors import FieldError, ValidationFailed
from isolation_tui.headless.handover_report import render
from isolation_tui.i18n import t
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import CHECKS, DISCHARGES, STAYS
from isolation_tui.widgets.counter_bar import CounterCell
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
EARLY = datetime(2026, 11, 30, 5, 11)


@pytest.fixture
def clock() -> Clock:
    return Clock(EARLY)


@pytest.fixture
def early_store(db_path: Path, clock: Clock) -> Iterator[Store]:
    """One person in room 101 of DD01 since 2026-11-20, the clock before 06:00."""
    s = open_store(db_path, create=True, actor=Actor("tester"), clock=clock)
    s.save_point("DD01", "一号点", [{"code": "101", "floor": "1", "beds": 1, "blocked": False}])
    s.stays.register(
        {
            "point": "DD01",
            "name": "王五",
            "id_type": "passport",
            "id_number": "E7654321",
            "category": "inbound",
            "arrived_at": "2026-11-20 10:00",
        }
    )
    yield s
    s.close()


def status_text(app: IsolationApp) -> str:
    return str(app.screen.query_one("#entry-status", Static).content)


async def test_a_reading_before_its_round_begins_is_refused(
    lang: str, early_store: Store, cli: CliRunner
) -> None:
    """05:11: the morning round (06:00–10:00) and the afternoon one have not begun."""
    app = IsolationApp(early_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k")
        await pilot.pause()
        await pilot.press(*"365", "enter")
        await pilot.pause()
        assert "06:00" in status_text(app)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press(*"365", "enter")
        await pilot.pause()
        assert "12:00" in status_text(app)
    assert early_store.rows(CHECKS) == {}
    early_store.stays.discharge(
        {"stay": 1, "kind": "hospital", "destination": "x", "discharged_at": "05:13"}
    )
    early_store.close()
    result = cli("check")
    assert result.returncode == 0, result.stderr


def test_a_discharge_before_a_stored_reading_is_refused_naming_it(
    early_store: Store, clock: Clock, cli: CliRunner
) -> None:
    clock.now = datetime(2026, 11, 30, 6, 30)
    early_store.health.record_check(1, "2026-11-30", "morning", "365")
    with pytest.raises((FieldError, ValidationFailed)) as refused:
        early_store.stays.discharge(
            {"stay": 1, "kind": "hospital", "destination": "x", "discharged_at": "06:10"}
        )
    assert "06:30" in str(refused.value) and "36.5" in str(refused.value)
    assert early_store.rows(DISCHARGES) == {}
    early_store.stays.discharge(
        {"stay": 1, "kind": "hospital", "destination": "x", "discharged_at": "06:30"}
    )
    early_store.close()
    result = cli("check")
    assert result.returncode == 0, result.stderr


def report_text(app: IsolationApp) -> str:
    """The handover report as the screen draws it, as text."""
    console = Console(file=io.StringIO(), width=78, color_system=None)
    console.print(app.screen.query_one("#handover-report", Static).content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_a_voided_incident_is_marked_and_not_counted_in_the_handover(
    lang: str, store: Store
) -> None:
    store.save_point("DD01", "一号点", [{"code": "101", "floor": "1", "beds": 1, "blocked": False}])
    kept = store.incidents.open(
        {"point": "DD01", "occurred_at": "09:00", "kind": "fever", "severity": "2", "summary": "A"}
    )
    voided = store.incidents.open(
        {"point": "DD01", "occurred_at": "09:10", "kind": "fever", "severity": "2", "summary": "B"}
    )
    store.stays.void("incidents", voided, "entered twice")
    opened = t("handover.incidents_opened", count=1)
    mark = f"#{voided} "
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        text = report_text(app)
    line = next(row for row in text.splitlines() if mark in row)
    assert opened in text and f"({t('ui.status_voided')})" in line
    assert f"#{kept} " in text
    summary = store.handovers.summary("DD01")
    for form in ("md", "txt", "html"):
        exported = render(summary, "", None, form)
        assert opened in exported, form
        row = next(r for r in exported.splitlines() if mark in r)
        assert t("ui.status_voided") in row, form


@pytest.mark.parametrize(
    ("key", "table_id", "kind"),
    [("f2", "", "stays"), ("f3", "#done-table", "discharges"), ("f4", "", "incidents")],
)
async def test_v_on_a_voided_record_says_at_once_it_is_already_voided(
    lang: str, store: Store, key: str, table_id: str, kind: str
) -> None:
    rooms = [{"code": f"10{n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2)]
    store.save_point("DD01", "一号点", rooms)
    ids = {}
    for n, name in enumerate(["甲", "乙"]):
        ids[name] = store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "passport",
                "id_number": f"E00{n}",
                "category": "inbound",
                "arrived_at": "2026-11-29 08:00",
            }
        )
    store.stays.void("stays", ids["甲"], "entered twice")
    gone = store.stays.discharge({"stay": ids["乙"], "kind": "hospital", "discharged_at": "09:00"})
    store.stays.void("discharges", gone, "wrong person")
    incident = store.incidents.open(
        {"point": "DD01", "occurred_at": "09:10", "kind": "fever", "severity": "2", "summary": "A"}
    )
    store.stays.void("incidents", incident, "entered twice")
    record = {"stays": ids["甲"], "discharges": gone, "incidents": incident}[kind]
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(table_id or RecordTable, RecordTable)
        table.go_to(str(record))
        table.focus()
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert app.screen is screen  # no void form opened
        said = " ".join(entry.message for entry in app.said)  # whole, as F9 shows them
    reason = {"stays": "entered twice", "discharges": "wrong person", "incidents": "entered twice"}
    assert t("ui.status_voided") in said or "voided" in said
    assert "tester" in said and "09:30" in said and reason[kind] in said
    if kind == "discharges":
        assert "乙" in said and f"#{gone}" not in said


async def overlay_choices(app: IsolationApp, field: str) -> list[str]:
    choice = app.screen.query_one(f"#field-{field}", Select)
    overlay = choice.query_one(SelectOverlay)
    return [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]


@pytest.mark.parametrize(("key", "field"), [("f2", "sex"), ("f4", "kind")])
async def test_a_required_list_starts_on_no_choice_without_a_dummy_entry(
    lang: str, one_person: Store, key: str, field: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key, "n")
        await pilot.pause()
        choices = await overlay_choices(app, field)
        assert "—" not in choices and choices[0].strip()
        assert app.screen.query_one(f"#field-{field}", Select).value is Select.NULL
        if field == "kind":
            await pilot.press("ctrl+s")
            await pilot.pause()
            status = str(app.screen.query_one("#form-status", Static).content)
            assert t("field.kind") in status


async def test_an_arrival_of_the_morning_is_missed_at_18_but_not_for_the_morning(
    early_store: Store, clock: Clock
) -> None:
    """Arrived 08:00: after the morning round began (not missed for it), before the
    afternoon one began (missed for it at 18:00 when nobody checked them)."""
    clock.now = datetime(2026, 11, 30, 18, 30)
    early_store.health.record_check(1, "2026-11-30", "morning", "365", at="07:00")
    early_store.health.record_check(1, "2026-11-30", "afternoon", "365", at="13:00")
    early_store.save_point(
        "DD01",
        "一号点",
        [{"code": c, "floor": "1", "beds": 1, "blocked": False} for c in ("101", "102", "103")],
    )
    for n, at in enumerate(["2026-11-30 08:00", "2026-11-30 12:30"]):
        early_store.stays.register(
            {
                "point": "DD01",
                "name": f"新{n}",
                "id_type": "passport",
                "id_number": f"N{n:04d}",
                "category": "inbound",
                "arrived_at": at,
            }
        )
    assert early_store.health.missed_checks("DD01", clock.now) == 1
    app = IsolationApp(early_store, point="DD01")
    async with app.run_test(size=SIZE):
        bar = app.screen.query_one("#counter-health", CounterCell)
        assert str(bar.content).startswith("Missed 1")


async def test_a_new_discharge_kind_clears_the_errors_of_the_old_one(
    lang: str, one_person: Store
) -> None:
    one_person.stays.extend(1, "+3", "contact of a positive case")  # due 12-02: early
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert str(app.screen.query_one("#error-notes", Static).content)
        kind = app.screen.query_one("#field-kind", Select)
        kind.value = "hospital"
        await pilot.pause()
        for field in ("notes", "override", "kind"):
            assert str(app.screen.query_one(f"#error-{field}", Static).content) == "", field
        assert str(app.screen.query_one("#form-status", Static).content) == ""


async def test_signing_with_notes_takes_three_keys_then_the_report_keys_work(
    lang: str, one_person: Store
) -> None:
    """Notes typed, signed: the next key is the report's (h: history), not a letter
    typed into the next shift's notes."""
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("tab", *"all quiet", "ctrl+s")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert len(one_person.handovers.past("DD01")) == 1
        await pilot.press("h")
        await pilot.pause()
        assert type(app.screen).__name__ == "HandoverHistoryScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#notes", TextArea).text == ""


async def test_a_refused_arrival_time_stays_in_its_field_with_its_error(
    lang: str, one_person: Store
) -> None:
    rooms = [{"code": f"10{n}", "floor": "1", "beds": 1, "blocked": False} for n in (1, 2)]
    one_person.save_point("DD01", "一号点", rooms)
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        app.screen.query_one("#field-name", Input).value = "赵六"
        app.screen.query_one("#field-id_type", Select).value = "passport"
        app.screen.query_one("#field-id_number", Input).value = "E5550001"
        app.screen.query_one("#field-arrived_at", Input).value = "09:52"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#field-arrived_at", Input).value == "09:52"
        error = str(app.screen.query_one("#error-arrived_at", Static).content)
        status = str(app.screen.query_one("#form-status", Static).content)
        assert "09:52" in error + status
    assert len(one_person.rows(STAYS)) == 1


async def test_the_people_involved_hint_is_read_whole_at_80x24(
    lang: str, one_person: Store
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "n")
        await pilot.pause()
        people = app.screen.query_one("#field-people", Input)
        assert cell_len(people.placeholder) <= people.content_region.width
