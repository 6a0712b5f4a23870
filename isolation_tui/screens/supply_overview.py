"""F1, then s: every point's stock and days left of the key items (suits, N95 masks,
test kits), so whoever allocates supplies sees at once where they run short."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from ..domain.counters import ALL
from ..domain.supplies import KEY_ITEMS, Level, format_days, level_of_all
from ..i18n import t
from ..storage.tables import POINTS, SUPPLIES, SUPPLY_ITEMS
from ..widgets.record_table import RecordTable, cell
from .base import MainScreen

STOCK_WIDTH = 6
DAYS_WIDTH = 4


def supply_cells(code: str, name: str, levels: dict[str, Level]) -> list[Text]:
    cells = [cell(code), cell(name)]
    for item in KEY_ITEMS:
        level = levels[item]
        style = "bold red" if level.short else ""
        mark = "⚠" if level.short else ""
        cells += [cell(level.stock, style), cell(f"{mark}{format_days(level.days_left)}", style)]
    return cells


class SupplyOverviewScreen(MainScreen):
    mode_name = "overview"
    closes_on_leave = True
    watched_tables = frozenset({POINTS, SUPPLIES, SUPPLY_ITEMS})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s,escape", "back", "ui.key_counters_view", priority=True),
        Binding("enter", "open_point", "ui.key_open_supplies"),
    ]

    def compose_body(self) -> ComposeResult:
        yield Static(t("ui.title_supply_overview"), id="screen-title", markup=False)
        columns = ["code", "name"]
        widths = {"code": 5, "name": 16}
        for item in KEY_ITEMS:
            columns += [f"stock_{item}", f"days_{item}"]
            widths |= {f"stock_{item}": STOCK_WIDTH, f"days_{item}": DAYS_WIDTH}
        yield RecordTable(columns, widths=widths, id="supply-overview")

    def reload(self) -> None:
        now = self.store.clock()
        points = self.store.points()
        levels = {
            code: {level.item: level for level in self.store.supplies.levels(code, now)}
            for code in points
        }
        city = {
            item: level_of_all(item, [levels[code][item] for code in points]) for item in KEY_ITEMS
        }

        def build(code: str) -> list[Text]:
            if code == ALL:
                return supply_cells("", t("ui.scope_all_short"), city)
            return supply_cells(code, points[code]["name"], levels[code])

        self.query_one(RecordTable).show([ALL, *points], build)

    def action_back(self) -> None:
        self.dismiss()

    def action_open_point(self) -> None:
        key = self.query_one(RecordTable).current_key()
        if key and key != ALL:
            self.iso_app.set_point(key)
            # After this handler: going to F8 closes this view, which runs it.
            self.app.call_later(self.iso_app.action_go, "supplies")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_point()
