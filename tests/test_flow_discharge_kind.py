"""A held release puts the cursor on the override reason, and no typed word picks
a grave kind.

Seen in a trial: the form said "Give an override reason below" with the cursor on
Kind, so "lab result by phone, negative" then ctrl+s stored the person as
ABSCONDED (its letters chose kinds one after the other); "phoned lab, negative"
chose DECEASED.
"""

from __future__ import annotations

import pytest

from isolation_tui.app import IsolationApp
from isolation_tui.screens.discharge_form import DischargeFormScreen
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import DISCHARGES, STAYS

SIZE = (80, 24)
REASON = {"en": "lab result by phone, negative", "zh": "死亡风险已排除 电话告知阴性"}


def kind(app: IsolationApp) -> str:
    screen = app.screen
    assert isinstance(screen, DischargeFormScreen)
    return screen.form.row("kind").value()


async def test_the_reason_typed_at_once_is_the_override_and_the_person_goes_home(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        assert app.screen.query_one("#release-held").display
        assert app.screen.focused is not None
        assert app.screen.focused.id == "field-override"
        await pilot.press(*REASON[lang], "ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, DischargeFormScreen)
    stay = one_person.get(STAYS, 1)
    assert stay is not None and stay["status"] == "discharged"
    discharge = one_person.get(DISCHARGES, stay["discharge"])
    assert discharge is not None
    assert discharge["kind"] == "released_home"
    assert REASON[lang] in discharge["test_override"]


@pytest.mark.parametrize("typed", ["phoned lab, negative", "lab result", "ad", "死亡", "擅自"])
async def test_a_word_typed_into_the_kind_picks_nothing_and_no_letter_a_grave_kind(
    one_person: Store, lang: str, typed: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3", "d")
        await pilot.pause()
        await pilot.press("shift+tab")
        assert app.screen.focused is not None and app.screen.focused.id == "field-kind"
        await pilot.press(*typed)
        await pilot.pause()
        assert kind(app) == "released_home"
        # Backspace ends the word: a letter then picks again (to hospital).
        await pilot.press("backspace", "h" if lang == "en" else "转")
        await pilot.pause()
        assert kind(app) == "hospital"
        # A grave kind is chosen from the list, on purpose.
        await pilot.press("space", "down", "down", "down", "enter")
        await pilot.pause()
        assert kind(app) == "deceased"
        await pilot.press("ctrl+s")
        await pilot.pause()
    stay = one_person.get(STAYS, 1)
    assert stay is not None and stay["status"] == "discharged"
    discharge = one_person.get(DISCHARGES, stay["discharge"])
    assert discharge is not None and discharge["kind"] == "deceased"
