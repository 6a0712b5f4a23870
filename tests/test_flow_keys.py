"""A key acts only on what the screen in front says, at 80×24, in both languages.

The clock is fixed at 2026-11-29 09:30 (conftest): the morning round of that day.
"""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.screens.arrivals import ArrivalsScreen
from isolation_tui.screens.confirm import ConfirmScreen
from isolation_tui.screens.handover import HandoverScreen
from isolation_tui.screens.handover_history import HandoverViewScreen
from isolation_tui.screens.rounds import QuickEntryScreen
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import CHECKS

SIZE = (80, 24)


def pending(store: Store) -> list[str]:
    return [test["result"] for _, test in store.health.tests_of(1)]


def title(app: IsolationApp) -> str:
    return str(app.screen.query_one("#mode-tabs", Static).content)


@pytest.mark.parametrize("view", ["t", "k"])
async def test_f2_after_tests_due_and_f5_brings_the_arrivals_list(
    one_person: Store, lang: str, view: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", view)
        await pilot.pause()
        assert isinstance(app.screen, QuickEntryScreen)
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ArrivalsScreen)
        # `n` is what the arrivals footer offers: a new arrival, not a result.
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
    assert pending(one_person) == ["pending"] * 4
    assert one_person.rows(CHECKS) == {}


async def test_f2_from_tests_due_itself_brings_the_arrivals_list(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t")
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ArrivalsScreen)
        await pilot.press("n", "escape")
        await pilot.pause()
    assert pending(one_person) == ["pending"] * 4


async def test_leaving_a_round_with_typed_text_asks_first(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "k", *"37")
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep it
        await pilot.pause()
        assert isinstance(app.screen, QuickEntryScreen)
        assert app.screen.entry.value == "37"
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("y")  # discard it
        await pilot.pause()
        assert app.screen.mode_name == "discharges"  # type: ignore[attr-defined]
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ArrivalsScreen)
    assert one_person.rows(CHECKS) == {}


@pytest.mark.parametrize("view", ["t", "k"])
async def test_quit_asks_when_the_entry_line_holds_text(
    one_person: Store, lang: str, view: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", view, *"08")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        assert isinstance(app.screen, QuickEntryScreen)


def reversed_tabs(app: IsolationApp) -> list[str]:
    """The text shown in reverse on the tab line: the screen in front."""
    content = app.screen.query_one("#mode-tabs", Static).render()
    assert isinstance(content, Content)
    return [content.plain[s.start : s.end] for s in content.spans if s.style.reverse]


@pytest.mark.parametrize(("key", "name"), [("t", "ui.title_tests"), ("k", "ui.round_morning")])
async def test_the_title_names_the_view_in_front(
    one_person: Store, lang: str, key: str, name: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        arrivals = f"F2 {t('ui.title_arrivals')}"
        assert reversed_tabs(app) == [arrivals]
        await pilot.press(key)
        await pilot.pause()
        assert str(app.screen.query_one("#screen-title", Static).content).startswith(t(name))
        # The arrivals tab no longer claims to be in front.
        assert reversed_tabs(app) == []


async def test_a_long_point_name_is_never_cut_on_the_tab_line(store: Store, lang: str) -> None:
    store.save_point("ZA01", "振安1号点·五龙背温泉宾馆", [{"code": "101", "beds": 1}])
    app = IsolationApp(store, point="ZA01")
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f1", "f2", "f3", "f4", "f5"):
            await pilot.press(key)
            await pilot.pause()
            line = title(app)
            assert "…" not in line
            assert line.endswith(("F6 振安1号点·五龙背温泉宾馆", "F6 ZA01"))


def footer_keys(app: IsolationApp) -> set[str]:
    return {key.key for key in app.screen.query(FooterKey)}


async def test_an_acknowledged_handover_does_not_offer_a(one_person: Store, lang: str) -> None:
    handover_id = one_person.handovers.sign(one_person.handovers.summary("DD01"), "", "张三")
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert "a" in footer_keys(app)  # one waits for the incoming supervisor
        await pilot.press("h", "enter")
        await pilot.pause()
        assert "a" in footer_keys(app)
        one_person.handovers.acknowledge(handover_id, "李四")
        app.apply_changes_now()
        await pilot.pause()
        assert "a" not in footer_keys(app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HandoverViewScreen)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, HandoverScreen)
        assert "a" not in footer_keys(app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, HandoverScreen)


async def test_a_stay_in_full_is_titled_and_closes_when_left(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "enter")
        await pilot.pause()
        heading = str(app.screen.query_one("#screen-title", Static).content)
        assert heading == t("ui.title_stay", id=1, name="李四")
        assert reversed_tabs(app) == []
        await pilot.press("f3", "f2")
        await pilot.pause()
        assert isinstance(app.screen, ArrivalsScreen)


async def test_the_palette_brings_a_main_view_too(one_person: Store) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t")
        await pilot.pause()
        await pilot.press("ctrl+p", *t("ui.title_incidents"))
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.mode_name == "incidents"  # type: ignore[attr-defined]
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ArrivalsScreen)
