"""F7 Staff: the point's staff, who is on duty since when, and who has been on duty
too long; put people on and off duty, add and correct them, correct their periods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..domain.activity import changed_fields, describe
from ..domain.codes import STAFF_ROLE
from ..domain.records import is_live, mask
from ..domain.staff import hours_between
from ..domain.timeparse import short_time
from ..i18n import t
from ..storage.staff import OnDuty
from ..storage.tables import DUTY, STAFF
from ..widgets.form import FieldSpec
from ..widgets.record_table import RecordTable, cell, widest
from .actions import REASON
from .base import MainScreen
from .prompt_form import PromptFormScreen
from .staff_form import StaffFormScreen

PERIODS_SHOWN = 5


def duty_cell(duty: OnDuty | None, over: bool, now: datetime) -> Text:
    """``08:00 13.5h ⚠``: since when, for how long, and the flag."""
    if duty is None:
        return cell("-", "dim")
    hours = hours_between(duty.start, now)
    text = f"{short_time(duty.start, now.date())} {hours:.1f}h"
    return cell(f"{text} ⚠" if over else text, "bold reverse" if over else "bold")


class StaffScreen(MainScreen):
    mode_name = "staff"
    watched_tables = frozenset({STAFF, DUTY, "points"})
    PALETTE = (
        ("ui.key_duty", "ui.help_duty", "duty"),
        ("ui.key_new_staff", "ui.help_new_staff", "new"),
        ("ui.key_correct_staff", "ui.help_correct_staff", "correct"),
        ("ui.key_void_staff", "ui.help_void_staff", "void"),
        ("ui.key_correct_period", "ui.help_correct_period", "correct_period"),
        ("ui.key_void_period", "ui.help_void_period", "void_period"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "duty", "ui.key_duty", priority=True),
        Binding("n", "new", "ui.key_new_staff", priority=True),
        Binding("c", "correct", "ui.key_correct_staff", priority=True),
        Binding("e", "correct_period", "ui.key_correct_period", priority=True),
        Binding("v", "void", "ui.key_void_staff", priority=True, show=False),
        Binding("x", "void_period", "ui.key_void_period", priority=True, show=False),
    ]

    def compose_body(self) -> ComposeResult:
        widths = {
            "id": 4,
            "role": widest(STAFF_ROLE.label(c) for c in STAFF_ROLE.codes),
            "phone": 13,
            "on_duty": len("11-29 08:00 13.5h ⚠"),
        }
        yield RecordTable(
            ("id", "code", "name", "role", "phone", "on_duty"),
            widths=widths,
            fill="name",
            id="staff-table",
        )
        with VerticalScroll(id="staff-detail"):
            yield Static(id="staff-text", markup=False)

    @property
    def point(self) -> str | None:
        return None if self.iso_app.all_points else self.iso_app.point

    def reload(self) -> None:
        now = self.store.clock()
        book = self.store.staff
        on_duty = {d.staff: d for d in book.on_duty(self.point)}
        people = [(i, doc) for i, doc in book.staff_at(self.point) if is_live(doc)]
        # Those on duty first, longest on duty first; then the others as entered.
        people.sort(key=lambda item: (item[0] not in on_duty, _since(on_duty, item[0])))
        docs = dict(people)

        def build(key: str) -> list[Text]:
            staff_id = int(key)
            doc = docs[staff_id]
            duty = on_duty.get(staff_id)
            over = duty is not None and book.over_limit(duty, now)
            style = "bold" if over else ""
            return [
                cell(key, style),
                cell(doc["point"], style),
                cell(doc["name"], style),
                cell(STAFF_ROLE.label(doc["role"]), style),
                cell(mask(doc["phone"]) if doc["phone"] else "", style),
                duty_cell(duty, over, now),
            ]

        self.query_one(RecordTable).show([str(i) for i, _ in people], build)
        self._show_detail()

    def _selected(self) -> int | None:
        key = self.query_one(RecordTable).current_key()
        return int(key) if key else None

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        staff_id = self._selected()
        doc = self.store.staff.staff(staff_id) if staff_id else None
        text = Text()
        if staff_id is not None and doc is not None:
            today = self.store.clock().date()
            text.append(f"#{staff_id} {doc['name']} · {STAFF_ROLE.label(doc['role'])}", "bold")
            if doc["notes"]:
                text.append(f" · {doc['notes']}")
            text.append("\n")
            for period_id, period in self.store.staff.periods_of(staff_id)[:PERIODS_SHOWN]:
                end = short_time(period["end"], today) if period["end"] else t("ui.duty_now")
                line = f"  #{period_id} {short_time(period['start'], today)} → {end}"
                if not is_live(period):
                    line += f" ({t('ui.status_voided')})"
                text.append(line + "\n", style="" if is_live(period) else "dim")
                for entry in self.store.history(DUTY, period_id):
                    if entry["action"] in ("correct", "void"):
                        text.append(f"      {describe(entry, period)}\n", style="dim")
                        for change in changed_fields(entry):
                            text.append(f"        {change}\n", style="dim")
        self.query_one("#staff-text", Static).update(text)

    def _latest_period(self, staff_id: int) -> tuple[int, dict[str, Any]] | None:
        return next(((i, p) for i, p in self.store.staff.periods_of(staff_id) if is_live(p)), None)

    async def _prompt(
        self, title: str, specs: list[FieldSpec], save: Callable[[dict[str, str]], str]
    ) -> None:
        await self.open_form(lambda: PromptFormScreen(self.mode_name, title, specs, save))

    async def action_duty(self) -> None:
        """On duty if off, off if on: at the time typed, or now (enter on the empty field)."""
        staff_id = self._selected()
        doc = self.store.staff.staff(staff_id) if staff_id else None
        if staff_id is None or doc is None:
            return
        going_off = self.store.staff.open_period(staff_id) is not None
        action = "off" if going_off else "on"

        def save(values: dict[str, str]) -> str:
            self.store.staff.toggle_duty(staff_id, values["at"])
            return t(f"ui.saved_duty_{action}", name=doc["name"])

        title = t(f"ui.title_duty_{action}", id=staff_id, name=doc["name"])
        await self._prompt(title, [FieldSpec("at", hint="ui.hint_duty_at")], save)

    async def action_new(self) -> None:
        await self.open_form(StaffFormScreen)

    async def action_correct(self) -> None:
        staff_id = self._selected()
        if staff_id is not None:
            await self.open_form(lambda: StaffFormScreen(staff_id))

    async def action_void(self) -> None:
        staff_id = self._selected()
        doc = self.store.staff.staff(staff_id) if staff_id else None
        if staff_id is None or doc is None:
            return

        def save(values: dict[str, str]) -> str:
            self.store.staff.void_staff(staff_id, values["reason"])
            return t("ui.saved_void", id=staff_id)

        what = t(f"activity.table_{STAFF}")
        title = t("ui.title_void", what=what, id=staff_id, whose=doc["name"])
        await self._prompt(title, [REASON], save)

    def _latest_of_selected(self) -> tuple[int, dict[str, Any]] | None:
        """The latest duty period of the person under the cursor; when there is none,
        says so."""
        staff_id = self._selected()
        latest = self._latest_period(staff_id) if staff_id is not None else None
        if latest is None:
            self.notify(t("ui.no_duty_periods"), markup=False)
        return latest

    async def action_correct_period(self) -> None:
        """The latest period of the person under the cursor: start, end (empty: still
        on duty), and why."""
        latest = self._latest_of_selected()
        if latest is None:
            return
        period_id, period = latest

        def save(values: dict[str, str]) -> str:
            self.store.staff.correct_period(
                period_id, values["start"], values["end"], values["reason"]
            )
            return t("ui.saved_period", id=period_id)

        specs = [
            FieldSpec("start", hint="ui.hint_time", default=period["start"]),
            FieldSpec("end", hint="ui.hint_duty_end", default=period["end"]),
            REASON,
        ]
        await self._prompt(t("ui.title_correct_period", id=period_id), specs, save)

    async def action_void_period(self) -> None:
        latest = self._latest_of_selected()
        if latest is None:
            return
        period_id, period = latest

        def save(values: dict[str, str]) -> str:
            self.store.staff.void_period(period_id, values["reason"])
            return t("ui.saved_void", id=period_id)

        whose = f"{period['start']} → {period['end'] or '…'}"
        what = t(f"activity.table_{DUTY}")
        await self._prompt(t("ui.title_void", what=what, id=period_id, whose=whose), [REASON], save)


def _since(on_duty: dict[int, OnDuty], staff_id: int) -> tuple[str, int]:
    duty = on_duty.get(staff_id)
    return (duty.start, staff_id) if duty else ("", staff_id)
