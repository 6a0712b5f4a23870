"""The daily flows at 80×24 in both languages: nothing on screen is cut without a way
to read the rest, and nothing lies over anything else."""

from __future__ import annotations

import pytest
from test_flow_texts import shown

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
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
