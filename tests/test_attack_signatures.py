"""A handover is signed and taken over with a name typed in the form: a colleague
can type someone else's. The report and the list of past handovers then name the
account that signed beside the name typed, as the history views do, so a forged
signature reads as what it is."""

from __future__ import annotations

from isolation_tui.headless.handover_report import render
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import HANDOVERS


def test_a_name_typed_for_someone_else_shows_the_account_that_signed(one_person: Store) -> None:
    one_person.actor = Actor("mallory")
    handover_id = one_person.handovers.sign(one_person.handovers.summary("DD01"), "", "张三")
    one_person.handovers.acknowledge(handover_id, "李四")
    handover = one_person.get(HANDOVERS, handover_id)
    assert handover is not None

    for fmt in ("txt", "md", "html"):
        text = render(handover["summary"], handover["notes"], handover, fmt)
        assert "张三 (mallory)" in text, fmt
        assert "李四 (mallory)" in text, fmt


def test_a_signature_in_ones_own_name_is_that_name_alone(one_person: Store) -> None:
    one_person.actor = Actor("mallory")
    handover_id = one_person.handovers.sign(one_person.handovers.summary("DD01"), "", "mallory")
    handover = one_person.get(HANDOVERS, handover_id)
    assert handover is not None

    text = render(handover["summary"], handover["notes"], handover, "txt")
    assert "by mallory at" in text


async def test_past_handovers_list_the_account_beside_a_typed_name(one_person: Store) -> None:
    from textual.widgets import DataTable

    from isolation_tui.app import IsolationApp

    one_person.actor = Actor("mallory")
    one_person.handovers.sign(one_person.handovers.summary("DD01"), "", "张三")
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5", "h")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert str(table.get_cell_at((0, 2))) == "张三 (mallory)"
