"""Supplies: protective equipment and consumables kept at a point.

Stock on hand is never typed: it is the sum of a point's movements of an item
(receipts in, issues and transfers out, adjustments from a count), in time order.
Days of stock left come from the issues of the last few days. Everything here is
pure: the store hands in the movements and the facts the rules need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..i18n import t
from .codes import CodeSet
from .errors import Collector, FieldError
from .rules import _field, _time, clean_text

ITEM = CodeSet(
    "supply_item",
    (
        "protective_suit",
        "n95_mask",
        "surgical_mask",
        "gloves",
        "face_shield",
        "disinfectant",
        "test_kit",
        "thermometer",
    ),
    {
        "suit": "protective_suit",
        "suits": "protective_suit",
        "防护服": "protective_suit",
        "n95": "n95_mask",
        "n95口罩": "n95_mask",
        "口罩": "surgical_mask",
        "医用口罩": "surgical_mask",
        "手套": "gloves",
        "面屏": "face_shield",
        "护目镜": "face_shield",
        "消毒液": "disinfectant",
        "试剂": "test_kit",
        "核酸试剂": "test_kit",
        "抗原试剂": "test_kit",
        "体温计": "thermometer",
    },
)
DEFAULT_UNIT = {
    "protective_suit": "piece",
    "n95_mask": "piece",
    "surgical_mask": "piece",
    "gloves": "pair",
    "face_shield": "piece",
    "disinfectant": "litre",
    "test_kit": "kit",
    "thermometer": "piece",
}
UNIT = CodeSet(
    "supply_unit",
    ("piece", "pair", "box", "litre", "bottle", "kit"),
    {"件": "piece", "个": "piece", "只": "piece", "副": "pair", "双": "pair", "盒": "box"},
)
# What whoever allocates supplies looks at first: the city overview shows these.
KEY_ITEMS = ("protective_suit", "n95_mask", "test_kit")

RECEIPTS = ("delivery", "donation", "transfer_in")
ISSUES = ("issue", "transfer_out")
MOVEMENT = CodeSet(
    "supply_movement",
    ("delivery", "donation", "transfer_in", "issue", "transfer_out", "adjustment"),
    {
        "配送": "delivery",
        "到货": "delivery",
        "捐赠": "donation",
        "调入": "transfer_in",
        "发放": "issue",
        "领用": "issue",
        "调出": "transfer_out",
        "盘点": "adjustment",
        "盘点调整": "adjustment",
    },
)
DEFAULT_THRESHOLD_DAYS = 3.0
USE_WINDOW_DAYS = 3
MAX_QUANTITY = 10_000_000
MAX_THRESHOLD_DAYS = 365
MAX_ITEM_NAME = 40
MAX_UNIT = 20


@dataclass(frozen=True)
class Level:
    """An item's stock at a point now, and how long it lasts at the recent rate."""

    point: str
    item: str
    unit: str
    stock: int
    daily_use: float
    days_left: float | None  # None: nothing used lately, so no end in sight
    threshold: float

    @property
    def short(self) -> bool:
        return self.days_left is not None and self.days_left < self.threshold


def item_label(item: str, lang: str | None = None) -> str:
    """A standard item in the current language; an item a point added, as named."""
    return ITEM.label(item, lang)


def unit_label(unit: str, lang: str | None = None) -> str:
    return UNIT.label(unit, lang)


def effect(movement: Mapping[str, Any]) -> int:
    """What a movement does to the stock: receipts add, issues take away, an
    adjustment carries its own sign."""
    quantity = int(movement["quantity"])
    return -quantity if movement["kind"] in ISSUES else quantity


def order_key(movement_id: int, movement: Mapping[str, Any]) -> tuple[str, int]:
    return (movement["at"], movement_id)


def stock_at(movements: Iterable[tuple[int, Mapping[str, Any]]], at: str) -> int:
    """The stock just after everything up to and including ``at``."""
    return sum(effect(m) for _, m in movements if m["at"] <= at)


def first_negative(
    movements: Iterable[tuple[int, Mapping[str, Any]]],
) -> tuple[int, str, int] | None:
    """The movement that first takes the stock below zero: its id, its time and the
    stock it leaves."""
    stock = 0
    for movement_id, movement in sorted(movements, key=lambda pair: order_key(*pair)):
        stock += effect(movement)
        if stock < 0:
            return movement_id, movement["at"], stock
    return None


def level(
    point: str,
    item: str,
    unit: str,
    threshold: float,
    movements: Iterable[tuple[int, Mapping[str, Any]]],
    now: datetime,
) -> Level:
    since = (now - timedelta(days=USE_WINDOW_DAYS)).strftime("%Y-%m-%d %H:%M")
    stock = 0
    used = 0
    for _, movement in movements:
        stock += effect(movement)
        if movement["kind"] == "issue" and movement["at"] > since:
            used += int(movement["quantity"])
    daily = used / USE_WINDOW_DAYS
    days = max(stock, 0) / daily if daily else None
    return Level(point, item, unit, stock, daily, days, threshold)


def level_of_all(item: str, levels: Sequence[Level]) -> Level:
    """An item over several points (the city): their stock against their use."""
    stock = sum(level.stock for level in levels)
    daily = sum(level.daily_use for level in levels)
    days = max(stock, 0) / daily if daily else None
    unit = levels[0].unit if levels else DEFAULT_UNIT.get(item, "")
    return Level("", item, unit, stock, daily, days, DEFAULT_THRESHOLD_DAYS)


def format_days(days: float | None) -> str:
    return "—" if days is None else f"{days:.1f}"


def handover_rows(levels: Iterable[Level]) -> list[dict[str, Any]]:
    """Levels as a signed handover keeps them (plain data, shown again exactly so)."""
    return [
        {
            "point": level.point,
            "item": level.item,
            "unit": level.unit,
            "stock": level.stock,
            "daily_use": round(level.daily_use, 1),
            "days_left": None if level.days_left is None else round(level.days_left, 1),
            "threshold": level.threshold,
            "short": level.short,
        }
        for level in levels
    ]


def alert(levels: Iterable[Level], with_point: bool) -> list[str]:
    """Ways to name what runs short, for the top bar (none when nothing does), the
    longest first: every flag, then fewer whole flags and how many more, then only
    how many. The bar shows the longest that fits, so no flag is cut mid-word."""
    parts = [
        t(
            "supply.alert_item_at" if with_point else "supply.alert_item",
            item=item_label(level.item),
            days=format_days(level.days_left),
            point=level.point,
        )
        for level in levels
    ]
    fewer = [
        ", ".join(parts[:shown]) + t("supply.alert_more", count=len(parts) - shown)
        for shown in range(len(parts) - 1, 0, -1)
    ]
    said = [t("supply.alert", items=items) for items in (", ".join(parts), *fewer)]
    return [*said, t("supply.alert_count", count=len(parts))] if parts else []


def quantity(errors: Collector, fields: Mapping[str, Any], name: str, low: int = 1) -> int:
    raw = _field(fields, name).replace(",", "")
    if not raw:
        errors.add(name, "error.required")
        return 0
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, "error.not_number", value=raw)
        return 0
    if not low <= value <= MAX_QUANTITY:
        errors.add(name, "error.out_of_range", value=raw, low=low, high=MAX_QUANTITY)
        return 0
    return value


def threshold_days(raw: str) -> float:
    text = clean_text(raw).replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise FieldError("threshold", "error.bad_threshold", value=text) from None
    if not 0 <= value <= MAX_THRESHOLD_DAYS:  # NaN too: it compares false
        raise FieldError("threshold", "error.bad_threshold", value=text)
    return round(value, 1)


def item_name(raw: str) -> str:
    """The name of an item a point adds; a standard item's label gives its code."""
    text = clean_text(raw, MAX_ITEM_NAME + 1)
    if not text:
        raise FieldError("item", "error.required")
    if len(text) > MAX_ITEM_NAME:
        raise FieldError("item", "error.too_long", limit=MAX_ITEM_NAME)
    return ITEM.parse(text) or text


def unit_name(raw: str, item: str) -> str:
    text = clean_text(raw, MAX_UNIT + 1)
    if len(text) > MAX_UNIT:
        raise FieldError("unit", "error.too_long", limit=MAX_UNIT)
    if not text:
        if item in DEFAULT_UNIT:
            return DEFAULT_UNIT[item]
        raise FieldError("unit", "error.required")
    return UNIT.parse(text) or text


def movement_from_fields(
    fields: Mapping[str, Any],
    kind: str,
    points: Mapping[str, Any],
    known_items: Iterable[str],
    now: datetime,
) -> dict[str, Any]:
    """A checked movement of ``kind`` (its quantity positive; an adjustment's counted
    figure is in ``counted``, its difference made by the store); raises
    ValidationFailed naming every field."""
    errors = Collector()
    point = _field(fields, "point")
    if not point:
        errors.add("point", "error.required")
    elif point not in points:
        errors.add("point", "error.unknown_point", value=point)
    raw_item = _field(fields, "item")
    item = ITEM.parse(raw_item) or raw_item
    if not raw_item:
        errors.add("item", "error.required")
    elif item not in ITEM.codes and item not in set(known_items):
        errors.add("item", "error.unknown_item", value=raw_item, choices=ITEM.choices())
    at = _time(errors, {"at": _field(fields, "at") or "now"}, "at", now)
    doc: dict[str, Any] = {
        "point": point,
        "item": item,
        "kind": kind,
        "at": at,
        "donor": "",
        "other_point": "",
        "pair": None,
        "counted": None,
        "reason": "",
        "notes": _field(fields, "notes"),
    }
    if kind == "adjustment":
        doc["counted"] = quantity(errors, fields, "counted", low=0)
        doc["quantity"] = 0
        doc["reason"] = _field(fields, "reason")
    else:
        doc["quantity"] = quantity(errors, fields, "quantity")
    if kind == "donation":
        doc["donor"] = _field(fields, "donor")
        if not doc["donor"]:
            errors.add("donor", "error.donor_required")
    if kind in ("transfer_in", "transfer_out"):
        other = _field(fields, "other_point")
        if not other:
            errors.add("other_point", "error.required")
        elif other not in points:
            errors.add("other_point", "error.unknown_point", value=other)
        elif other == point:
            errors.add("other_point", "error.same_point")
        doc["other_point"] = other
    errors.raise_if_any()
    return doc


def counterpart(movement: Mapping[str, Any]) -> dict[str, Any]:
    """The other side of a transfer: an issue at the point that sent it, or a
    receipt at the point it went to."""
    kind = "transfer_out" if movement["kind"] == "transfer_in" else "transfer_in"
    return {
        **movement,
        "kind": kind,
        "point": movement["other_point"],
        "other_point": movement["point"],
    }
