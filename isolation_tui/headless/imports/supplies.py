"""Supplies: receipts, issues, transfers and counts, as a point's stock book has them.

Rows need not be in time order: the stock of every item a file touches is checked
once all its rows are in, and a row that takes it below zero is named."""

from __future__ import annotations

from collections.abc import Callable

from ...domain.errors import FieldError
from ...domain.rules import clean_text
from ...domain.supplies import MOVEMENT
from ...storage.repository import Store
from ...storage.tables import SUPPLIES
from .base import Importer, Outcome
from .reading import Column, CsvRows, Row, Table


class SuppliesImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码"), True),
        Column("item", ("物资", "物资名称", "品名"), True),
        Column("kind", ("类型", "出入类型", "业务类型"), True),
        Column("quantity", ("数量",)),
        Column("counted", ("盘点数", "实盘数")),
        Column("at", ("时间", "日期", "发生时间")),
        Column("donor", ("捐赠方", "捐赠单位")),
        Column("other_point", ("对方隔离点", "调出点", "调入点")),
        Column("reason", ("原因", "调整原因")),
        Column("notes", ("备注",)),
        Column("unit", ("单位",)),
        Column("id", ("编号", "记录号")),
        Column("pair", ("对方记录号",)),
        Column("who", ("录入人",)),
        Column("voided", ("作废",)),
    )

    reads = frozenset({"points", SUPPLIES, "supply_items"})
    record_table = SUPPLIES

    def __init__(self, store: Store, table: Table, outcome: Outcome) -> None:
        super().__init__(store, table, outcome)
        self.line_of: dict[int, int] = {}
        # An export lists a transfer on both sides; the sending row stores both.
        self.sent = {
            clean_text(row.fields.get("id", ""))
            for row in table.rows
            if clean_text(row.fields.get("kind", "")) == "transfer_out"
        }

    def run(
        self, rows: list[Row] | CsvRows, tick: Callable[[], None], *, spill: bool = False
    ) -> None:
        with self.store.supplies.stock_checked_after() as touched:
            super().run(rows, tick, spill=spill)
        for point, item in sorted(touched):
            problem = self.store.supplies.stock_problem(point, item)
            if problem is not None:
                movement_id, error = problem
                line = self.line_of.get(movement_id)
                self.fail(line or 0, "quantity" if line else "item", error.message)

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self.skip(fields):
            return None
        self.point_code(fields)
        raw = clean_text(fields.pop("kind", ""))
        kind = MOVEMENT.parse(raw)
        if kind is None:
            raise FieldError("kind", "error.unknown_code", value=raw, choices=MOVEMENT.choices())
        pair = clean_text(fields.get("pair", ""))
        if kind == "transfer_in" and pair and pair in self.sent:
            self.outcome.skipped += 1
            return None
        for informational in ("id", "pair", "who", "voided"):
            fields.pop(informational, None)
        movement_id = self.store.supplies.record(kind, fields)
        if not movement_id:
            self.outcome.skipped += 1  # a count that agrees with the stock
            return None
        self.line_of[movement_id] = row.line
        doc = self.store.get(SUPPLIES, movement_id) or {}
        if doc.get("pair"):
            self.line_of[doc["pair"]] = row.line
        return movement_id
