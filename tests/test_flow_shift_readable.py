"""A whole shift at 80×24, read as a new supervisor reads it, in both languages:
nothing cut mid-word without the whole of it on the screen, every mark explained."""

from __future__ import annotations

import re

import pytest
import test_health_tui
import test_supplies
from rich.cells import cell_len
from test_flow_readable import shown, whole

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.mode_tabs import MODES, ModeTabs
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
floor_store = test_health_tui.floor_store
open_round = test_health_tui.open_round
two_points = test_supplies.two_points
clock = test_supplies.clock


def row_shown(app: IsolationApp, table: RecordTable, row: int) -> str:
    """Row ``row`` of ``table`` as the terminal shows it, without spaces."""
    strips = app.screen._compositor.render_strips()
    y = table.region.y + 1 + row - int(table.scroll_y)  # under the header
    text = "".join(segment.text for segment in strips[y].crop(table.region.x, table.region.right))
    return whole(text)


# Within what the entry line takes, and longer than the line below the list at 80.
SYMPTOMS = {
    "en": "sore throat and cough since the morning, tired, no food",
    "zh": "头痛 寒战 乏力 咽痛 鼻塞 流涕 腹泻 全身酸痛 胸闷 气短 味觉减退",
}


async def test_a_rounds_symptoms_are_read_whole_for_the_row_under_the_cursor(
    floor_store: Store,
    lang: str,
) -> None:
    symptoms = SYMPTOMS[lang]
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        await pilot.press(*f"391 {symptoms}", "enter", *f"372 {symptoms}", "enter")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        for row, mark in ((0, "39.1!"), (1, "37.2+")):
            line = row_shown(app, table, row)
            assert mark in line
            # The list's cell is whole or says it is cut; the line below has it all.
            assert whole(symptoms) in line or line.endswith("…")
        for _ in range(2):
            await pilot.press("up")
            await pilot.pause()
            detail = shown(app, app.screen.query_one("#entry-status"))
            # And who entered it, when (the list's column has the time only).
            assert whole(symptoms) in detail and "09:30tester" in detail


async def test_a_rounds_marks_are_explained_where_the_readings_show(
    floor_store: Store,
    lang: str,
) -> None:
    """``37.2+`` and ``39.1!``: what the ``+`` and the ``!`` mean is on the screen."""
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await open_round(pilot, app)
        legend = shown(app, app.screen.query_one("#entry-hint"))
        for mark, meaning in (("!", "ui.round_mark_fever"), ("+", "ui.round_mark_symptoms")):
            assert whole(f"{mark} {t(meaning)}") in legend


async def test_the_f_key_line_keeps_every_label_it_has_room_for(store: Store, lang: str) -> None:
    """Seen in English: ``F1  F2 Arrivals  F3  F4  F5  F7`` with room to spare, while
    the Chinese line showed every label. A label gives way only when the line has no
    room for it, whole, and by the same rule in both languages."""
    store.save_point("DG01", "东港1号点·大东宾馆", [{"code": "101", "beds": 1}])
    store.actor = Actor("root", on_duty="Alice")
    app = IsolationApp(store, point="DG01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        tabs = app.screen.query_one(ModeTabs)
        line = str(tabs.render())
        assert "F6 " in line and "Alice" in line
        labels = [f"{key} {t(f'ui.title_{mode}')}" for key, mode in MODES]
        shown_labels = [label for label in labels if label in line]
        assert labels[1] in shown_labels
        # Each label left out would not have fitted beside those shown.
        for label in labels:
            if label not in shown_labels:
                key = label.split()[0]
                assert cell_len(line.rstrip()) + cell_len(label) - len(key) > SIZE[0]


def test_a_supply_line_does_not_read_as_below_its_flag_when_it_is_not(
    two_points: Store, lang: str
) -> None:
    """Seen: ``防护服 144件，可用 8.8 天（低于 3 天预警）``: 8.8 days read as below a
    warning. The line gives the days left and the flag threshold as what it is."""
    from isolation_tui.headless.handover_report import render

    store = two_points
    test_supplies.receive(store, "DD01", "protective_suit", 30, "2026-11-27 08:00")
    store.supplies.record(
        "issue",
        {"point": "DD01", "item": "protective_suit", "quantity": "5", "at": "2026-11-28 20:00"},
    )
    text = render(store.handovers.summary("DD01", since="2026-11-27 00:00"), "", None, "txt")
    (line,) = [row for row in text.splitlines() if t("supply_item.protective_suit") in row]
    assert "⚠" not in line
    assert not any(word in line for word in ("below", "低于", "under", "不足"))
    assert t("handover.supply_threshold", threshold=3) in line


async def test_the_arrivals_of_all_points_say_which_point_each_room_is_at(
    store: Store, lang: str
) -> None:
    for code in ("DG01", "DG02"):
        store.save_point(code, f"{code}宾馆", [{"code": "101", "beds": 1}])
        store.stays.register(
            {
                "point": code,
                "name": f"住客{code}",
                "id_type": "passport",
                "id_number": f"P{code}",
                "category": "inbound",
                "arrived_at": "2026-11-28 10:00",
            }
        )
    app = IsolationApp(store)  # no point: the whole city
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        table = app.screen.query_one("#stays-table", RecordTable)
        assert table.row_count == 2
        for row in range(2):
            line = row_shown(app, table, row)
            code = "DG02" if row == 0 else "DG01"  # newest first
            assert f"住客{code}" in line and f"{code}·101" in line
        # The people due to go home, of every point, too.
        await pilot.press("f3")
        await pilot.pause()
        table = app.screen.query_one("#due-table", RecordTable)
        assert {row_shown(app, table, row)[1:].count("·101") for row in range(2)} == {1}
        assert "DG01·101" in row_shown(app, table, 0) + row_shown(app, table, 1)


@pytest.mark.parametrize("name", ["何强志", "LIM SEOYEON"])
async def test_an_incidents_summary_shows_its_reading_in_the_list(
    floor_store: Store, lang: str, name: str
) -> None:
    """Seen in English on F4: ``何强志 (204): 39.…``, the temperature cut. The list
    gives the summary the room to show who and the reading; the pane below it has
    the whole summary of the incident under the cursor."""
    stay = floor_store.stays.register(
        {
            "point": "DD01",
            "room": "202",
            "name": name,
            "id_type": "passport",
            "id_number": "E7654321",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
        }
    )
    floor_store.health.record_check(stay, "2026-11-29", "morning", "391", "头痛 寒战")
    app = IsolationApp(floor_store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one("#incidents-table", RecordTable)
        assert re.search("39.1(°C|℃)", row_shown(app, table, 0))
        detail = shown(app, app.screen.query_one("#incident-text"))
        assert whole(f"{name}(202)") in detail.replace("（", "(").replace("）", ")")
        assert whole(t("incident_kind.fever")) in detail and "头痛寒战" in detail
