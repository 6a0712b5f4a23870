"""F8 Supplies: the point's stock and days left per item, and the movements of the
item under the cursor; receive, issue, transfer, count, correct, void."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from ..domain.identity import who_label
from ..domain.supplies import MOVEMENT, Level, effect, format_days, item_label, unit_label
from ..domain.timeparse import short_time
from ..i18n import t
from ..storage.tables import POINTS, SUPPLIES, SUPPLY_ITEMS
from ..widgets.form import FieldSpec
from ..widgets.record_table import RecordTable, cell, widest
from .actions import REASON
from .base import MainScreen
from .prompt_form import PromptFormScreen
from .supply_form import SupplyFormScreen


def level_row(level: Level) -> list[Text]:
    style = "bold red" if level.short else ""
    return [
        cell(item_label(level.item), style),
        cell(unit_label(level.unit)),
        cell(level.stock, style),
        cell(f"{level.daily_use:.0f}" if level.daily_use else "—"),
        cell(format_days(level.days_left), style),
        cell(f"< {level.threshold:g}"),
        cell("⚠" if level.short else "", style),
    ]


def movement_detail(movement: dict[str, Any]) -> str:
    """What else a movement says: who gave it, where it went or came from, why."""
    parts = [
        movement.get("donor", ""),
        movement.get("other_point", ""),
        t("ui.supply_counted", counted=movement["counted"])
        if movement["kind"] == "adjustment"
        else "",
        movement.get("reason", ""),
        movement.get("notes", ""),
    ]
    return " · ".join(part for part in parts if part)


class SuppliesScreen(MainScreen):
    mode_name = "supplies"
    watched_tables = frozenset({SUPPLIES, SUPPLY_ITEMS, POINTS})
    PALETTE = (
        ("ui.key_receive", "ui.help_receive", "receive"),
        ("ui.key_issue", "ui.help_issue", "issue"),
        ("ui.key_transfer", "ui.help_transfer", "transfer"),
        ("ui.key_count", "ui.help_count", "count"),
        ("ui.key_correct", "ui.help_correct_movement", "correct"),
        ("ui.key_void", "ui.help_void_movement", "void"),
        ("ui.key_add_item", "ui.help_add_item", "add_item"),
        ("ui.key_threshold", "ui.help_threshold", "threshold"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "receive", "ui.key_receive", priority=True),
        Binding("i", "issue", "ui.key_issue", priority=True),
        Binding("t", "transfer", "ui.key_transfer", priority=True),
        Binding("k", "count", "ui.key_count", priority=True),
        Binding("c", "correct", "ui.key_correct", priority=True),
        Binding("v", "void", "ui.key_void", priority=True),
        Binding("a", "add_item", "ui.key_add_item", priority=True, show=False),
        Binding("d", "threshold", "ui.key_threshold", priority=True, show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(id="screen-title", markup=False)
        yield RecordTable(
            ("item", "unit", "stock", "use", "days_left", "threshold", "flag"),
            widths={"flag": 1},
            id="supply-items",
        )
        kinds = widest(MOVEMENT.label(code) for code in MOVEMENT.codes)
        yield RecordTable(
            ("id", "at", "movement", "quantity", "detail"),
            widths={"id": 5, "at": len("11-29 08:00"), "movement": kinds, "quantity": 7},
            fill="detail",
            id="supply-moves",
        )

    @property
    def point(self) -> str:
        return self.iso_app.point or ""

    def reload(self) -> None:
        point = self.store.point(self.point)
        title = t("ui.title_supplies_of", point=point["name"] if point else self.point)
        self.query_one("#screen-title", Static).update(title)
        levels = {level.item: level for level in self.store.supplies.levels(self.point)}
        self.query_one("#supply-items", RecordTable).show(
            list(levels), lambda item: level_row(levels[item])
        )
        self._show_movements()

    def _item(self) -> str:
        return self.query_one("#supply-items", RecordTable).current_key() or ""

    @on(DataTable.RowHighlighted, "#supply-items")
    def _show_movements(self) -> None:
        item = self._item()
        moves = dict(reversed(self.store.supplies.movements(self.point, item))) if item else {}
        today = self.store.clock().date()

        def row(key: str) -> list[Text]:
            movement = moves[int(key)]
            who = who_label(movement["created"])
            return [
                cell(key),
                cell(short_time(movement["at"], today)),
                cell(MOVEMENT.label(movement["kind"])),
                cell(f"{effect(movement):+d}"),
                cell(" ".join(filter(None, (movement_detail(movement), f"({who})")))),
            ]

        self.query_one("#supply-moves", RecordTable).show([str(k) for k in moves], row)

    def _movement(self) -> int | None:
        key = self.query_one("#supply-moves", RecordTable).current_key()
        return int(key) if key else None

    async def _form(self, action: str) -> None:
        if not self.point:
            return
        item = self._item()
        await self.open_form(lambda: SupplyFormScreen(action, self.point, item))

    async def action_receive(self) -> None:
        await self._form("receive")

    async def action_issue(self) -> None:
        await self._form("issue")

    async def action_transfer(self) -> None:
        await self._form("transfer")

    async def action_count(self) -> None:
        await self._form("count")

    async def action_correct(self) -> None:
        movement_id = self._movement()
        movement = self.store.get(SUPPLIES, movement_id) if movement_id else None
        if movement_id is None or movement is None:
            return
        figure = "counted" if movement["kind"] == "adjustment" else "quantity"
        specs = [FieldSpec(figure, max_length=9), FieldSpec("at", hint="ui.hint_time")]
        if movement["kind"] == "donation":
            specs.append(FieldSpec("donor"))
        specs += [FieldSpec("notes"), REASON]
        values = {
            figure: str(movement[figure]),
            "at": movement["at"],
            "donor": movement["donor"],
            "notes": movement["notes"],
        }

        def save(values: dict[str, str]) -> str:
            reason = values.pop("reason")
            self.store.supplies.correct(movement_id, values, reason)
            return t("ui.saved_movement_correction", id=movement_id)

        title = t("ui.title_correct_movement", id=movement_id, what=self._what(movement))
        await self.open_form(
            lambda: PromptFormScreen(self.mode_name, title, specs, save, values=values)
        )

    async def action_void(self) -> None:
        movement_id = self._movement()
        movement = self.store.get(SUPPLIES, movement_id) if movement_id else None
        if movement_id is None or movement is None:
            return

        def save(values: dict[str, str]) -> str:
            self.store.supplies.void(movement_id, values["reason"])
            return t("ui.saved_void", id=movement_id)

        title = t(
            "ui.title_void",
            what=t(f"activity.table_{SUPPLIES}"),
            id=movement_id,
            whose=self._what(movement),
        )
        await self.open_form(lambda: PromptFormScreen(self.mode_name, title, [REASON], save))

    def _what(self, movement: dict[str, Any]) -> str:
        return f"{MOVEMENT.label(movement['kind'])} {item_label(movement['item'])}"

    async def action_add_item(self) -> None:
        if not self.point:
            return
        point = self.point

        def save(values: dict[str, str]) -> str:
            item = self.store.supplies.add_item(point, values["item"], values["unit"])
            return t("ui.saved_item", item=item_label(item))

        specs = [FieldSpec("item", max_length=40), FieldSpec("unit", max_length=20)]
        title = t("ui.title_add_item")
        await self.open_form(lambda: PromptFormScreen(self.mode_name, title, specs, save))

    async def action_threshold(self) -> None:
        item = self._item()
        if not self.point or not item:
            return
        point = self.point
        current = next(
            (f"{days:g}" for code, _, days in self.store.supplies.items(point) if code == item), ""
        )

        def save(values: dict[str, str]) -> str:
            days = self.store.supplies.set_threshold(point, item, values["threshold"])
            return t("ui.saved_threshold", item=item_label(item), days=f"{days:g}")

        title = t("ui.title_threshold", item=item_label(item))
        specs = [FieldSpec("threshold", max_length=5)]
        await self.open_form(
            lambda: PromptFormScreen(
                self.mode_name, title, specs, save, values={"threshold": current}
            )
        )
