"""The README's keystroke table, counted: each daily flow driven at 80×24 in Chinese
and English with the data typed as text and every other key counted, then checked
against the number the README gives for it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import CHECKS, DISCHARGES, HANDOVERS, INCIDENTS, STAYS, TESTS

SIZE = (80, 24)
README = Path(__file__).parent.parent / "README.md"
MAN = "110105194912310011"
WOMAN = "11010519491231002X"


class Data(str):
    """Text the supervisor types: not counted."""


def readme_counts() -> dict[str, int]:
    """The keystroke table: what → keys beyond the data."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| what | keys beyond the data |") :].split("\n\n")[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    return {what.strip(): int(re.match(r"\s*(\d+):", keys)[1]) for what, keys in rows}  # type: ignore[index]


async def typed(pilot: object, steps: Sequence[str]) -> int:
    """Press ``steps`` (each key, or a :class:`Data` typed character by character),
    pausing after each; the keys beyond the data."""
    counted = 0
    for step in steps:
        if isinstance(step, Data):
            await pilot.press(*step)  # type: ignore[attr-defined]
        else:
            await pilot.press(step)  # type: ignore[attr-defined]
            counted += 1
        await pilot.pause()  # type: ignore[attr-defined]
    return counted


@pytest.fixture
def point(one_person: Store) -> Store:
    """Point DD01 with 李四 (person 1) due home today, his tests all negative but the
    last; and empty rooms for a bus."""
    rooms = [{"code": code, "floor": "1", "beds": 1} for code in ("101", "102", "103")]
    one_person.save_point("DD01", "一号点", rooms)
    return one_person


def counted_as(what: str) -> int:
    counts = readme_counts()
    (key,) = [k for k in counts if k.startswith(what)]
    return counts[key]


async def test_the_keystroke_table_of_the_readme_is_what_the_program_takes(
    point: Store, lang: str
) -> None:
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        # A bus: the first person, then the second one, counted.
        await typed(pilot, ["f2", "n", Data("王强"), "enter", Data(MAN), "enter", "ctrl+s"])
        second = ["enter", Data(WOMAN), "enter", Data("13900000000"), "enter"]
        assert await typed(pilot, [Data("赵敏"), *second]) == counted_as("the 2nd arrival")
        assert point.rows(STAYS)["3"]["person"]["phone"] == "13900000000"
        await typed(pilot, ["escape", "f2"])

        # A round entry, then a test result (the next test due, under the cursor).
        await typed(pilot, ["k"])
        assert await typed(pilot, [Data("368"), "enter"]) == counted_as("a round entry")
        assert len(point.rows(CHECKS)) == 1
        await typed(pilot, ["escape", "t"])
        assert await typed(pilot, ["n"]) == counted_as("a test result")
        entered = [test for test in point.rows(TESTS).values() if test["result"] == "negative"]
        assert len(entered) == 1
        for test_id, test in point.health.tests_of(1):
            if test["result"] == "pending":
                point.health.record_result(test_id, "negative", "2026-11-29 08:00")
        await typed(pilot, ["escape"])

        # A discharge of the person under the cursor (due today, last test negative).
        await typed(pilot, ["f3"])
        assert await typed(pilot, ["d", "ctrl+s"]) == counted_as("a discharge")
        (discharge,) = point.rows(DISCHARGES).values()
        assert discharge["stay"] == 1 and discharge["kind"] == "released_home"

        # An incident: the kind's letter is data.
        steps = ["n", Data("f"), "enter", Data("102"), "enter", Data("38.6 发热"), "ctrl+s"]
        await typed(pilot, ["f4"])
        assert await typed(pilot, steps) == counted_as("an incident")
        (incident,) = point.rows(INCIDENTS).values()
        assert incident["kind"] == "fever" and incident["summary"] == "38.6 发热"
        assert incident["stays"] == [2]

        # The handover: signed with notes, then acknowledged by the incoming shift.
        await typed(pilot, ["f5"])
        steps = ["tab", Data("夜班正常"), "ctrl+s", "ctrl+s"]
        assert await typed(pilot, steps) == counted_as("signing the handover")
        (handover,) = point.rows(HANDOVERS).values()
        assert handover["notes"] == "夜班正常"
        assert await typed(pilot, ["a", "ctrl+s"]) == counted_as("acknowledging it")
        (handover,) = point.rows(HANDOVERS).values()
        assert handover["acknowledged"]
