"""Tests due: the planned tests of people in isolation here that are due today or
overdue, to enter their results as quickly as the round.

``n`` negative, ``p`` positive (each stores at once and goes to the next person);
or type the result (``阴``, ``阳``, ``-``, ``+``…) and enter. A time typed first is
when the sample was taken (``08:00`` then ``n``); without one it is now. A result
entered stays listed (so a slip can be corrected on the spot) until the screen is
opened again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ..domain.health import TEST_RESULT
from ..domain.timeparse import short_time
from ..i18n import t
from ..storage.tables import STAYS, TESTS
from ..widgets.record_table import cell
from .confirm import ConfirmScreen
from .rounds import QuickEntryScreen

RESULT_STYLE = {"positive": "bold red", "negative": "green", "pending": "dim"}


class TestsDueScreen(QuickEntryScreen):
    watched_tables = frozenset({TESTS, STAYS})
    columns = ("planned", "day", "room", "name", "result", "taken")
    hint_key = "ui.tests_hint"
    PALETTE = (
        ("ui.key_negative", "ui.help_negative", "result('negative', 'n')"),
        ("ui.key_positive", "ui.help_positive", "result('positive', 'p')"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "result('negative', 'n')", "ui.key_negative", priority=True),
        Binding("p", "result('positive', 'p')", "ui.key_positive", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._entered: set[int] = set()
        self._tests: dict[int, dict[str, Any]] = {}

    def reload(self) -> None:
        """The pending tests of the people in isolation here (bounded by the beds),
        and those entered on this screen."""
        code = self.point
        point = self.store.point(code) if code else None
        today = self.store.clock().date()
        due = dict(self.store.health.tests_due(code, today)) if code else {}
        for test_id in self._entered - set(due):
            test = self.store.get(TESTS, test_id)
            if test is not None and not test.get("voided"):
                due[test_id] = test
        self._tests = due
        # Oldest first; on a day, in the order of the round (building, floor, room).
        people = self.store.health.round_people(code) if code else []
        walk = {stay_id: n for n, (stay_id, _) in enumerate(people)}
        keys = sorted(
            due,
            key=lambda i: (due[i]["planned_date"], walk.get(due[i]["stay"], len(walk)), i),
        )
        overdue = sum(
            1
            for test in due.values()
            if test["result"] == "pending" and test["planned_date"] < today.isoformat()
        )
        pending = sum(1 for test in due.values() if test["result"] == "pending")

        def build(key: str) -> list[Text]:
            test = due[int(key)]
            stay = self.store.get(STAYS, test["stay"])
            assert stay is not None  # a test's stay is stored: nothing is deleted
            late = test["result"] == "pending" and test["planned_date"] < today.isoformat()
            return [
                cell(short_time(test["planned_date"], today), "bold red" if late else ""),
                cell(test["planned_day"]),
                cell(stay["room"]),
                cell(stay["person"]["name"]),
                cell(TEST_RESULT.label(test["result"]), RESULT_STYLE.get(test["result"], "")),
                cell(short_time(test["taken_at"][:16], today), "dim"),
            ]

        self.show_rows([str(k) for k in keys], build)
        self.query_one("#screen-title", Static).update(
            self.title_text(
                f"{t('ui.title_tests')} {today.isoformat()}",
                point["name"] if point else "",
                t("ui.tests_progress", pending=pending, overdue=overdue),
            )
        )
        if not due:
            self.say(t("ui.tests_none") if code else t("ui.choose_point"))
        self._highlighted()

    def _person(self, test_id: int | None) -> dict[str, Any] | None:
        test = self._tests.get(test_id or 0)
        return self.store.get(STAYS, test["stay"]) if test else None

    def current_stay(self) -> dict[str, Any] | None:
        return self._person(self.current())

    def has_entry(self, key: int) -> bool:
        return (self.store.get(TESTS, key) or {}).get("result", "pending") != "pending"

    def row_detail(self) -> Text:
        test_id = self.current()
        test = self._tests.get(test_id or 0)
        stay = self._person(test_id)
        if test is None or stay is None:
            return Text()
        text = t(
            "ui.test_detail",
            id=test["stay"],
            name=stay["person"]["name"],
            day=test["planned_day"],
            date=test["planned_date"],
            result=TEST_RESULT.label(test["result"]),
        )
        return Text(text, style="dim", no_wrap=True, overflow="ellipsis")

    def store_entry(self, key: int, text: str) -> None:
        result, taken = [*text.split(maxsplit=1), ""][:2]
        self._record(key, result, taken)

    def action_result(self, code: str, letter: str) -> None:
        """``n`` / ``p``: the line, if anything is typed, is the time the sample was taken."""
        taken = self.typed()
        key = self.current()
        if key is not None:
            self._record(key, code, taken, letter)

    def _record(self, test_id: int, result: str, taken: str, letter: str = "") -> None:
        stay = self._person(test_id)
        if stay is None:
            return

        def store() -> None:
            self.attempt(
                test_id,
                lambda: self.store.health.record_result(test_id, result, taken),
                lambda draft: self._entered_result(test_id, stay, draft),
                letter or f"{result} {taken}".strip(),
            )

        before = (self.store.get(TESTS, test_id) or {}).get("result", "pending")
        after = TEST_RESULT.parse(result)
        if before == "pending" or after in (None, before):
            store()
            return
        # A medical result turned around by one key (a stray n on the wrong row) could
        # send someone home: a stored result changes only when the question is answered.
        question = t(
            "ui.test_change_question",
            who=f"{stay['room']} {stay['person']['name']}",
            day=(self.store.get(TESTS, test_id) or {}).get("planned_day", ""),
            before=TEST_RESULT.label(before),
            after=TEST_RESULT.label(after),
        )

        def answered(yes: bool | None) -> None:
            if yes:
                store()

        self.app.push_screen(ConfirmScreen(question), answered)

    def _entered_result(self, test_id: int, stay: dict[str, Any], draft: int | None) -> None:
        self._entered.add(test_id)
        test = self.store.get(TESTS, test_id) or {}
        who = f"{stay['room']} {stay['person']['name']}"
        label = TEST_RESULT.label(test.get("result", ""))
        if draft is not None:
            message = t("ui.test_positive", who=who, id=draft)
            self.stored(message, "alert")
            return
        self.stored(t("ui.test_saved", who=who, day=test.get("planned_day", ""), result=label))
