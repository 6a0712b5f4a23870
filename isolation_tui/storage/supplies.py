"""Supplies in the store: each point's items and their movements, every change
audited. Stock is derived from the movements; a change that would take it below
zero at any moment is refused, naming the moment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain import supplies as rules
from ..domain.errors import FieldError
from ..domain.records import is_live
from ..domain.rules import clean_text, require_reason
from .backend import Changes
from .service import Service
from .tables import POINTS, SUPPLIES, SUPPLY_ITEMS

if TYPE_CHECKING:
    from .database import Database

__all__ = ["SUPPLIES", "SUPPLY_ITEMS", "SupplyIndex", "SupplyService"]

Series = dict[int, dict[str, Any]]


class SupplyIndex:
    """Live movements by (point, item), and the items points added or set, kept up to
    date change by change: a level costs its item's movements, not every point's."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], Series] = {}
        self._where: dict[int, tuple[str, str]] = {}
        self.items: dict[tuple[str, str], int] = {}
        self._item_of: dict[int, tuple[str, str]] = {}
        # Moves on with every change here, so what is derived may be kept until then.
        self.version = 0
        self.short: dict[tuple[str | None, int, str], list[rules.Level]] = {}

    def rebuild(self, db: Database) -> None:
        version = self.version
        self.__init__()  # type: ignore[misc]
        self.version = version + 1
        # Supplies are never sealed: the live set holds them all.
        tables = db.storage.live_tables()
        for key in tables.get(SUPPLIES, {}):
            self._place(tables, key)
        for key in tables.get(SUPPLY_ITEMS, {}):
            self._place_item(tables, key)

    def apply(self, db: Database, changes: Changes) -> None:
        if changes.reloaded:
            self.rebuild(db)
            return
        tables = db.storage.live_tables()
        if changes.tables() & {SUPPLIES, SUPPLY_ITEMS, POINTS}:
            self.version += 1
            self.short.clear()
        for table, key in changes.keys:
            if table == SUPPLIES:
                self._place(tables, key)
            elif table == SUPPLY_ITEMS:
                self._place_item(tables, key)

    def _place(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        number = int(key)
        old = self._where.pop(number, None)
        if old is not None:
            self.series[old].pop(number, None)
        doc = tables.get(SUPPLIES, {}).get(key)
        if doc is not None and is_live(doc):
            where = (doc["point"], doc["item"])
            self.series.setdefault(where, {})[number] = doc
            self._where[number] = where

    def _place_item(self, tables: dict[str, dict[str, Any]], key: str) -> None:
        number = int(key)
        old = self._item_of.pop(number, None)
        if old is not None:
            self.items.pop(old, None)
        doc = tables.get(SUPPLY_ITEMS, {}).get(key)
        if doc is not None:
            where = (doc["point"], doc["item"])
            self.items[where] = number
            self._item_of[number] = where


class SupplyService(Service):
    """Items, receipts, issues, transfers, counts; corrections and voids
    (``store.supplies``)."""

    _index: SupplyIndex | None = None
    # While an import runs: the items whose stock is checked once all its rows are in.
    _stock_unchecked: set[tuple[str, str]] | None = None

    def _supplies(self) -> SupplyIndex:
        """Built on first use: a headless command that never asks costs nothing."""
        if self._index is None:
            index = SupplyIndex()
            db = self.store.db
            index.rebuild(db)
            db.storage.add_listener(lambda changes: index.apply(db, changes))
            self._index = index
        return self._index

    # ------------------------------------------------------------------ reading

    def items(self, point: str) -> list[tuple[str, str, float]]:
        """A point's items: (item, unit, threshold days), the standard ones first."""
        index = self._supplies()
        rows = self.store.live_rows(SUPPLY_ITEMS)
        added = sorted(item for code, item in index.items if code == point)
        found = []
        for item in [*rules.ITEM.codes, *(i for i in added if i not in rules.ITEM.codes)]:
            doc = rows.get(str(index.items.get((point, item))), {})
            unit = doc.get("unit") or rules.DEFAULT_UNIT.get(item, "")
            threshold = doc.get("threshold_days", rules.DEFAULT_THRESHOLD_DAYS)
            found.append((item, unit, float(threshold)))
        return found

    def items_at(self, point: str) -> list[str]:
        """The items a point added or set (the standard ones are everywhere)."""
        return [item for code, item in self._supplies().items if code == point]

    def movements(self, point: str, item: str) -> list[tuple[int, dict[str, Any]]]:
        """An item's live movements at a point, in time order."""
        series = self._supplies().series.get((point, item), {})
        return sorted(series.items(), key=lambda pair: rules.order_key(*pair))

    def levels(self, point: str, now: datetime | None = None) -> list[rules.Level]:
        moment = now or self.store.clock()
        return [
            rules.level(point, item, unit, threshold, self.movements(point, item), moment)
            for item, unit, threshold in self.items(point)
        ]

    def short(self, point: str | None) -> list[rules.Level]:
        """The items below their threshold of days, at one point or all. Asked on every
        redraw of the counter bar: kept until supplies change or the minute does."""
        now = self.store.clock()
        index = self._supplies()
        key = (point, index.version, now.strftime("%Y-%m-%d %H:%M"))
        if key not in index.short:
            # Only this minute's are kept: a session open for days keeps two lists.
            index.short = {k: v for k, v in index.short.items() if k[1:] == key[1:]}
            codes = [point] if point else list(self.store.points())
            index.short[key] = [
                level for code in codes for level in self.levels(code, now) if level.short
            ]
        return list(index.short[key])

    def summary(self, point: str | None) -> list[dict[str, Any]]:
        """For a handover: at a point, every item it has had; at all points, the items
        running short (each point's own handover lists the rest)."""
        if point is None:
            return rules.handover_rows(self.short(None))
        series = self._supplies().series
        return rules.handover_rows(
            level for level in self.levels(point) if level.stock or (point, level.item) in series
        )

    # ------------------------------------------------------------------ items

    def add_item(self, point: str, name: str, unit: str) -> str:
        """An item of the point's own (a standard one only takes a unit of its own)."""
        if self.store.point(point) is None:
            raise FieldError("point", "error.unknown_point", value=point)
        item = rules.item_name(name)
        with self.store.transaction():
            if (point, item) in self._supplies().items:
                raise FieldError("item", "error.item_exists", item=rules.item_label(item))
            self.store._create(
                SUPPLY_ITEMS,
                {
                    "point": point,
                    "item": item,
                    "unit": rules.unit_name(unit, item),
                    "threshold_days": rules.DEFAULT_THRESHOLD_DAYS,
                },
            )
        return item

    def set_threshold(self, point: str, item: str, days: str) -> float:
        threshold = rules.threshold_days(days)
        with self.store.transaction():
            doc_id = self._supplies().items.get((point, item))
            if doc_id is None:
                self.store._create(
                    SUPPLY_ITEMS,
                    {
                        "point": point,
                        "item": item,
                        "unit": rules.DEFAULT_UNIT.get(item, ""),
                        "threshold_days": threshold,
                    },
                )
            else:
                self.store._change(SUPPLY_ITEMS, doc_id, {"threshold_days": threshold}, "correct")
        return threshold

    # ------------------------------------------------------------------ movements

    def record(self, kind: str, fields: Mapping[str, Any]) -> int:
        """Store a receipt, an issue, a transfer (both sides) or a count. A count that
        agrees with the stock stores nothing and returns 0."""
        with self.store.transaction():
            point = clean_text(fields.get("point", ""))
            item = rules.ITEM.parse(clean_text(fields.get("item", ""))) or clean_text(
                fields.get("item", "")
            )
            unit = clean_text(fields.get("unit", ""))
            own = item not in rules.ITEM.codes
            if (
                unit
                and own
                and point in self.store.points()
                and (point, item) not in self.items_at(point)
            ):
                # A file's row may name an item of the point's own, with its unit.
                self.add_item(point, item, unit)
            doc = rules.movement_from_fields(
                fields, kind, self.store.points(), self.items_at(point), self.store.clock()
            )
            if kind == "adjustment":
                stock = rules.stock_at(self.movements(point, doc["item"]), doc["at"])
                doc["quantity"] = doc["counted"] - stock
                if doc["quantity"] == 0:
                    return 0
                if not doc["reason"]:
                    raise FieldError("reason", "error.count_reason", stock=stock)
            if kind in ("transfer_in", "transfer_out"):
                movement_id = self._create_pair(doc, rules.counterpart(doc))
                self._check_stock(doc["other_point"], doc["item"], "quantity")
            else:
                movement_id = self.store._create(SUPPLIES, doc)
            self._check_stock(point, doc["item"], "counted" if kind == "adjustment" else "quantity")
            return movement_id

    def _create_pair(self, doc: dict[str, Any], other: dict[str, Any]) -> int:
        """Both sides of a transfer, each naming the other from the start."""
        storage = self.store.db.storage
        ids = (storage.allocate_id(SUPPLIES), storage.allocate_id(SUPPLIES))
        for number, record, pair in zip(ids, (doc, other), reversed(ids), strict=True):
            full = {**record, "pair": pair, "created": self.store._stamp()}
            storage.stage(SUPPLIES, str(number), full)
            self.store._audit("create", SUPPLIES, number, None, full)
        return ids[0]

    def correct(self, movement_id: int, fields: Mapping[str, Any], reason: str) -> dict[str, Any]:
        """Change a movement's quantity (or counted figure), time, donor or notes; a
        transfer's other side changes with it. The audit keeps what it was."""
        why = require_reason(reason)
        with self.store.transaction():
            doc = self._movement(movement_id)
            merged = {**doc, "quantity": str(doc["quantity"]), **fields}
            if doc["kind"] == "adjustment":
                merged["counted"] = fields.get("counted", str(doc["counted"]))
                merged["reason"] = fields.get("reason", doc["reason"]) or why
            checked = rules.movement_from_fields(
                merged,
                doc["kind"],
                self.store.points(),
                self.items_at(doc["point"]),
                self.store.clock(),
            )
            changes = {
                name: checked[name] for name in ("quantity", "at", "donor", "notes", "counted")
            }
            if doc["kind"] == "adjustment":
                others = [
                    pair
                    for pair in self.movements(doc["point"], doc["item"])
                    if pair[0] != movement_id
                ]
                changes["quantity"] = checked["counted"] - rules.stock_at(others, checked["at"])
                changes["reason"] = checked["reason"]
            after = self.store._change(SUPPLIES, movement_id, changes, "correct", why)
            if doc.get("pair"):
                shared = {name: changes[name] for name in ("quantity", "at", "notes")}
                self.store._change(SUPPLIES, doc["pair"], shared, "correct", why)
                self._check_stock(doc["other_point"], doc["item"], "quantity")
            field = "counted" if doc["kind"] == "adjustment" else "quantity"
            self._check_stock(doc["point"], doc["item"], field)
            return after

    def void(self, movement_id: int, reason: str) -> None:
        """A movement entered by mistake: kept, counted nowhere (with a transfer's
        other side)."""
        why = require_reason(reason)
        with self.store.transaction():
            doc = self._movement(movement_id)
            voided = {"voided": {**self.store._stamp(), "reason": why}}
            self.store._change(SUPPLIES, movement_id, voided, "void", why)
            if doc.get("pair"):
                self.store._change(SUPPLIES, doc["pair"], voided, "void", why)
                self._check_stock(doc["other_point"], doc["item"], "reason")
            self._check_stock(doc["point"], doc["item"], "reason")

    def _movement(self, movement_id: int) -> dict[str, Any]:
        doc = self.store.get(SUPPLIES, movement_id)
        if doc is None or not is_live(doc):
            raise FieldError("id", "error.no_record", table=SUPPLIES, id=movement_id)
        return doc

    @contextlib.contextmanager
    def stock_checked_after(self) -> Iterator[set[tuple[str, str]]]:
        """Movements stored inside are checked against zero when it ends, by the
        caller, with the (point, item) pairs it yields: a file's rows need not come
        in time order, only leave the stock whole."""
        self._stock_unchecked = set()
        try:
            yield self._stock_unchecked
        finally:
            self._stock_unchecked = None

    def stock_problem(self, point: str, item: str) -> tuple[int, FieldError] | None:
        """The movement that first takes the stock below zero, and what to say."""
        found = rules.first_negative(self.movements(point, item))
        if found is None:
            return None
        movement_id, at, stock = found
        error = FieldError(
            "quantity",
            "error.stock_below_zero",
            point=point,
            item=rules.item_label(item),
            at=at,
            short=-stock,
        )
        return movement_id, error

    def _check_stock(self, point: str, item: str, field: str) -> None:
        """Inside the transaction: refuse what takes the stock below zero at any time."""
        if self._stock_unchecked is not None:
            self._stock_unchecked.add((point, item))
            return
        problem = self.stock_problem(point, item)
        if problem is not None:
            problem[1].field = field
            raise problem[1]
