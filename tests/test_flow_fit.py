"""The daily flows at 80×24 in both languages: nothing on screen is cut without a way
to read the rest, and nothing lies over anything else."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from rich.cells import cell_len
from test_flow_texts import shown
from textual.widget import Widget

from isolation_tui.app import IsolationApp
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import CHECKS
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)
SYMPTOMS = "咳嗽 乏力 头痛 全身酸痛 呕吐 腹泻 胸闷 咽痛 嗅觉减退"


@pytest.mark.parametrize("reading", ["372", "395"])  # well, and a fever (a draft incident)
async def test_a_round_entry_with_many_symptoms_is_read_whole(
    one_person: Store, lang: str, reading: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k", *f"{reading} {SYMPTOMS}", "enter")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        # The list fits the screen: no column lies past its right edge.
        assert table.virtual_size.width <= table.size.width
        row = shown(app, table)
        assert "咳嗽" in row and "…" in row and "嗅觉减退" not in row
        # The line below says what was stored, whole.
        assert SYMPTOMS.replace(" ", "") in shown(app, app.screen.query_one("#entry-status"))


def region_lines(app: IsolationApp, widget: Widget) -> list[str]:
    """The lines the terminal shows of ``widget``, without the padding."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    return [
        "".join(segment.text for segment in strips[y].crop(region.x, region.right)).strip()
        for y in range(region.y, region.bottom)
    ]


async def test_a_held_release_s_errors_break_between_words_not_inside_them(
    one_person: Store, chinese: None
) -> None:
    """Chinese fills each line (a long phrase is not sent whole to the next one, to
    be cut there by width), and a date or a closing mark stays whole with its line,
    in the column beside the field and in the line under the form."""
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        for where in ("#error-override", "#form-status"):
            widget = app.screen.query_one(where)
            lines = region_lines(app, widget)
            assert len(lines) > 1, where
            for token in re.findall(r"\d{4}-\d{2}-\d{2}", " ".join(lines)):
                assert any(token in line for line in lines), (where, token, lines)
            for line, after in pairwise(lines):
                assert after[:1] not in ",.;:)、。,;:)”", (where, lines)
                # Full: a Chinese character the next line starts with did not fit here.
                if cell_len(after[:1]) == 2:
                    room = widget.content_region.width
                    assert cell_len(line) + 2 > room, (where, lines)


async def test_long_symptoms_typed_in_a_round_are_stored_whole(one_person: Store) -> None:
    """The line takes what a supervisor writes; past its limit a key says so, never
    dropped without a word."""
    symptoms = "cough fatigue headache body aches vomiting diarrhoea chest tightness"
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k", *f"372 {symptoms}", "enter")
        await pilot.pause()
        (check,) = one_person.rows(CHECKS).values()
        assert check["symptoms"] == symptoms
        await pilot.press("up", *"372 ", *("x" * 200))
        await pilot.pause()
        assert app.said and "200" in app.said[-1].message


async def test_the_round_line_names_who_entered_the_reading_as_it_stands(
    one_person: Store, lang: str
) -> None:
    """A reading entered by one supervisor and corrected by 王芳 on duty: the line
    under the round's list names 王芳, who made the reading what it is, not the first
    entry's author."""
    rooms = [{"code": code, "floor": "1", "beds": 1, "blocked": False} for code in ("101", "102")]
    one_person.save_point("DD01", "一号点", rooms)
    one_person.stays.register(
        {
            "point": "DD01",
            "name": "王五",
            "id_type": "passport",
            "id_number": "E7654321",
            "category": "inbound",
            "arrived_at": "2026-11-15 10:00",
            "room": "102",
        }
    )
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k", *"365", "enter")
        await pilot.pause()
        one_person.actor = Actor("tester", on_duty="王芳")
        await pilot.press("up", *"372", "enter")
        await pilot.pause()
        await pilot.press("down", "up")
        await pilot.pause()
        line = shown(app, app.screen.query_one("#entry-status"))
        assert "37.2" in line and "王芳(tester)" in line, line
