"""Shift handover: windows, signing as shown, acknowledging, addenda, reports, screen."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import CliRunner
from rich.console import Console
from textual.widgets import Input, Static, TextArea

from isolation_tui.app import IsolationApp
from isolation_tui.domain.errors import FieldError
from isolation_tui.headless.handover_report import render
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import HANDOVERS, STAYS

SIZE = (80, 24)


def arrive(store: Store, number: str, room: str = "", name: str = "") -> int:
    return store.stays.register(
        {
            "point": "DD01",
            "room": room,
            "name": name or f"旅客{number}",
            "id_type": "passport",
            "id_number": number,
            "category": "inbound",
            "arrived_at": "2026-11-29 08:00",
        }
    )


@pytest.fixture
def point(store: Store) -> Store:
    rooms = [
        {"code": f"{100 + i}", "floor": "1", "beds": 1, "blocked": i == 6} for i in range(1, 7)
    ]
    store.save_point("DD01", "一号点", rooms)
    store.save_point("DD02", "二号点", rooms[:2])
    return store


def test_window_holds_exactly_what_was_recorded_since_the_last_handover(point: Store) -> None:
    first = arrive(point, "P1")
    point.stays.discharge(
        {"stay": str(first), "discharged_at": "2026-11-29 09:00", "kind": "hospital"}
    )
    incident = point.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "09:10",
            "kind": "fever",
            "severity": "3",
            "summary": "38.5",
        }
    )
    summary = point.handovers.summary("DD01")
    assert [a["id"] for a in summary["arrivals"]] == [first]
    assert summary["discharges_by_kind"] == {"hospital": 1}
    assert [i["id"] for i in summary["incidents_opened"]] == [incident]
    assert [i["id"] for i in summary["incidents_open"]] == [incident]
    assert summary["blocked_rooms"] == ["DD01 106"]
    point.handovers.sign(summary, "平稳", "张三")

    second = arrive(point, "P2")
    point.incidents.close(incident, "退烧", "09:20")
    arrive_elsewhere = point.stays.register(
        {
            "point": "DD02",
            "name": "别处",
            "id_type": "passport",
            "id_number": "Q1",
            "category": "inbound",
            "arrived_at": "09:00",
        }
    )
    following = point.handovers.summary("DD01")
    assert [a["id"] for a in following["arrivals"]] == [second]
    assert following["discharges"] == [] and following["incidents_opened"] == []
    assert [i["id"] for i in following["incidents_handled"]] == [incident]
    assert following["counters_start"]["received"] == 1
    assert following["counters_start"]["transferred"] == 1
    assert following["counters_start"]["incidents_open"] == 1
    assert following["counters_end"]["received"] == 2
    assert following["counters_end"]["incidents_handled"] == 1
    everywhere = point.handovers.summary(None)
    assert [a["id"] for a in everywhere["arrivals"]] == [first, second, arrive_elsewhere]


def test_a_chosen_start_includes_its_own_minute(point: Store) -> None:
    arrive(point, "P1")
    summary = point.handovers.summary("DD01", since="2026-11-29 09:30")
    assert len(summary["arrivals"]) == 1  # recorded at 09:30 (the store's clock)
    assert point.handovers.summary("DD01", since="2026-11-29 09:31")["arrivals"] == []


def test_signed_handover_is_kept_as_signed(point: Store) -> None:
    stay = arrive(point, "P1", name="王小明")
    handover_id = point.handovers.sign(point.handovers.summary("DD01"), "注意 101", "张三")
    signed = point.get(HANDOVERS, handover_id)
    assert signed is not None
    before = render(signed["summary"], signed["notes"], signed, "txt")
    point.stays.correct(stay, {"name": "王晓明"}, "spelling")
    point.stays.void(STAYS, stay, "wrong person")
    after = point.get(HANDOVERS, handover_id)
    assert after is not None
    assert render(after["summary"], after["notes"], after, "txt") == before
    assert "王小明" in before and "王晓明" not in before
    point.handovers.acknowledge(handover_id, "李四")
    point.handovers.add_addendum(handover_id, "101 改为王晓明")
    final = point.get(HANDOVERS, handover_id)
    assert final is not None
    assert final["summary"] == signed["summary"]
    assert final["incoming"] == "李四" and final["addenda"][0]["text"] == "101 改为王晓明"
    text = render(final["summary"], final["notes"], final, "txt")
    assert "李四" in text and "101 改为王晓明" in text
    with pytest.raises(Exception, match="already acknowledged"):
        point.handovers.acknowledge(handover_id, "王五")


def shown(app: IsolationApp) -> str:
    """The handover report as the screen draws it, as text."""
    console = Console(file=io.StringIO(), width=78, color_system=None)
    console.print(app.screen.query_one("#handover-report", Static).content)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_every_format_carries_the_same_figures(point: Store) -> None:
    for n in range(3):
        arrive(point, f"P{n}")
    summary = point.handovers.summary("DD01")
    md = render(summary, "", None, "md")
    txt = render(summary, "", None, "txt")
    html = render(summary, "", None, "html")
    for key in ("received", "in_isolation", "occupied_beds"):
        assert str(summary["counters_end"][key]) in md
    assert "Received: 3 (+3)" in md
    assert re.search(r"Received\s+0\s+3\s+\+3", txt)
    assert "<html" in html.lower()
    assert re.search(r"Received\s+0\s+3\s+\+3", re.sub(r"<[^>]+>", "", html))


def test_cli_prints_the_report_in_the_chosen_language(
    cli: CliRunner, db_path: Path, point: Store
) -> None:
    arrive(point, "P1")
    point.close()
    # Recorded at the fixture's clock; the command runs at the real one (a first
    # handover would cover only the real shift in progress): the window is chosen.
    since = ("--since", "2026-11-29 09:00")
    zh = cli("handover", "--point", "DD01", "--lang", "zh", *since)
    assert zh.returncode == 0, zh.stderr
    assert "交接班" in zh.stdout and "累计接收: 1 (+1)" in zh.stdout
    en = cli("handover", "--point", "DD01", "--format", "txt", "--lang", "en", *since)
    assert "Shift handover" in en.stdout and "Arrivals in the window: 1" in en.stdout
    bad = cli("handover", "--since", "yesterday-ish")
    assert bad.returncode == 1 and "--since" in bad.stderr
    assert cli("handover", "--point", "XX").returncode == 1


@pytest.mark.both_stores
async def test_sign_register_and_the_next_window_has_exactly_that_arrival(point: Store) -> None:
    arrive(point, "P1")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        report = shown(app)
        assert "Arrivals in the window: 1" in report
        app.screen.query_one("#notes", TextArea).text = "交班备注:一切正常"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#field-outgoing", Input).value == "tester"
        await pilot.press("ctrl+s")
        await pilot.pause()
        ((_, signed),) = point.handovers.past("DD01")
        assert signed["notes"] == "交班备注:一切正常" and signed["outgoing"] == "tester"
        assert [a["name"] for a in signed["summary"]["arrivals"]] == ["旅客P1"]

        await pilot.press("f2", "n", *"新来的", "enter", "enter")
        app.screen.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
        app.screen.query_one("#field-id_number", Input).value = "P9"
        await pilot.press("ctrl+s", "escape")
        await pilot.press("f5")
        await pilot.pause()
        summary = app.screen.summary  # type: ignore[attr-defined]
        assert [a["name"] for a in summary["arrivals"]] == ["新来的"]
        report = shown(app)
        assert "Arrivals in the window: 1" in report and "新来的" in report
        assert app.screen.query_one("#notes", TextArea).text == ""


@pytest.mark.both_stores
async def test_history_opens_a_handover_as_signed(point: Store) -> None:
    stay = arrive(point, "P1", name="王小明")
    handover_id = point.handovers.sign(point.handovers.summary("DD01"), "备注", "张三")
    point.stays.correct(stay, {"name": "王晓明"}, "spelling")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "h")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        report = shown(app)
        assert "王小明" in report and "王晓明" not in report
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one("#field-incoming", Input).value = "李四"
        await pilot.press("ctrl+s")
        await pilot.pause()
        handover = point.get(HANDOVERS, handover_id)
        assert handover is not None and handover["incoming"] == "李四"
        report = shown(app)
        assert "Taken over by 李四" in report


def test_handover_lists_fevers_positives_and_missed_checks(point: Store) -> None:
    first = arrive(point, "P1")
    point.handovers.sign(point.handovers.summary("DD01"), "", "张三")
    second = arrive(point, "P2")
    point.health.record_check(first, "2026-11-29", "morning", "386", at="08:00")
    point.health.record_check(second, "2026-11-29", "morning", "m", at="08:05")
    with pytest.raises(FieldError):  # before they arrived: refused, and not listed
        point.health.record_check(first, "2026-11-28", "afternoon", "365", at="2026-11-28 15:00")
    test_id = point.health.tests_of(second)[0][0]
    point.health.record_result(test_id, "positive", "09:00")
    summary = point.handovers.summary("DD01")
    assert [(f["stay"], f["temperature"]) for f in summary["fevers"]] == [(first, 38.6)]
    assert [p["stay"] for p in summary["positives"]] == [second]
    assert [(m["stay"], m["status"]) for m in summary["missed_checks"]] == [(second, "missed")]
    assert summary["incidents_opened"] == []  # drafts wait for a person to confirm
    text = render(summary, "", None, "txt")
    assert "Fevers in the window: 1" in text and "38.6 °C" in text
    assert "Positive tests in the window: 1" in text
    assert "Checks missed or refused in the window: 1" in text


def test_a_stale_handover_cannot_be_signed(point: Store) -> None:
    arrive(point, "P1")
    seen_by_a = point.handovers.summary("DD01")
    seen_by_b = point.handovers.summary("DD01")
    point.handovers.sign(seen_by_b, "", "李四")
    with pytest.raises(FieldError) as stale:
        point.handovers.sign(seen_by_a, "", "张三")
    assert "李四" in stale.value.message
    assert len(point.handovers.past("DD01")) == 1
    # A start chosen by hand may overlap on purpose.
    chosen = point.handovers.summary("DD01", since="2026-11-29 00:00")
    point.handovers.sign(chosen, "", "张三")
    assert len(point.handovers.past("DD01")) == 2


def test_handover_shows_drafts_overrides_and_counts_no_voided(point: Store) -> None:
    first = arrive(point, "P1")
    second = arrive(point, "P2")
    point.health.record_check(first, "2026-11-29", "morning", "388", at="08:30")
    point.stays.discharge(
        {
            "stay": str(second),
            "discharged_at": "09:00",
            "kind": "released_home",
            "notes": "省卫健委通知",
            "override": "疾控中心复核阴性",
        }
    )
    gone = point.stays.discharge({"stay": str(first), "discharged_at": "09:10", "kind": "hospital"})
    point.stays.void("discharges", gone, "wrong person")
    text = render(point.handovers.summary("DD01"), "", None, "txt")
    assert "drafts to confirm" in text and "38.8" in text
    assert "released despite the tests: 疾控中心复核阴性" in text
    assert "Discharges in the window: 1 (released home 1)" in text
