"""Supplies in the store: stock derived from movements, transfers on both sides,
counts, days left, refusals below zero; on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from conftest import Clock

from isolation_tui.domain.errors import FieldError, ValidationFailed
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.supplies import SUPPLIES

NOW = datetime(2026, 11, 29, 9, 30)
ROOMS = [{"code": "101", "floor": "1", "beds": 1, "blocked": False}]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def two_points(location: str, clock: Clock) -> Iterator[Store]:
    store = open_store(location, create=True, actor=Actor("tester"), clock=clock)
    store.save_point("DD01", "一号点", ROOMS)
    store.save_point("DD02", "二号点", ROOMS)
    yield store
    store.close()


def stock(store: Store, point: str, item: str) -> int:
    return next(level.stock for level in store.supplies.levels(point) if level.item == item)


def receive(store: Store, point: str, item: str, quantity: int, at: str = "now") -> int:
    fields = {"point": point, "item": item, "quantity": str(quantity), "at": at}
    return store.supplies.record("delivery", fields)


def test_receipt_issue_and_audit(two_points: Store) -> None:
    store = two_points
    receipt = receive(store, "DD01", "protective_suit", 200, "2026-11-28 08:00")
    store.supplies.record(
        "donation",
        {"point": "DD01", "item": "防护服", "quantity": "50", "donor": "红十字会", "at": "09:00"},
    )
    store.supplies.record("issue", {"point": "DD01", "item": "suits", "quantity": "30"})
    assert stock(store, "DD01", "protective_suit") == 220
    assert stock(store, "DD02", "protective_suit") == 0
    assert [e["action"] for e in store.history(SUPPLIES, receipt)] == ["create"]
    with pytest.raises(ValidationFailed) as raised:
        store.supplies.record("donation", {"point": "DD01", "item": "gloves", "quantity": "5"})
    assert [e.field for e in raised.value.errors] == ["donor"]


def test_transfer_moves_stock_on_both_sides_in_one_transaction(two_points: Store) -> None:
    store = two_points
    receive(store, "DD01", "protective_suit", 800, "2026-11-28 08:00")
    sent = store.supplies.record(
        "transfer_out",
        {"point": "DD01", "item": "protective_suit", "quantity": "500", "other_point": "DD02"},
    )
    assert stock(store, "DD01", "protective_suit") == 300
    assert stock(store, "DD02", "protective_suit") == 500
    out = store.get(SUPPLIES, sent)
    assert out is not None
    arrived = store.get(SUPPLIES, out["pair"])
    assert arrived is not None
    assert (arrived["kind"], arrived["point"], arrived["pair"]) == ("transfer_in", "DD02", sent)
    # Voiding one side voids the other; the history keeps both.
    store.supplies.void(out["pair"], "entered twice")
    assert stock(store, "DD01", "protective_suit") == 800
    assert stock(store, "DD02", "protective_suit") == 0
    assert [e["action"] for e in store.history(SUPPLIES, sent)] == ["create", "void"]


def test_transfer_beyond_the_stock_is_refused_and_stores_nothing(two_points: Store) -> None:
    store = two_points
    receive(store, "DD01", "n95_mask", 100, "2026-11-28 08:00")
    before = len(store.rows(SUPPLIES))
    with pytest.raises(FieldError) as raised:
        store.supplies.record(
            "transfer_out",
            {"point": "DD01", "item": "n95_mask", "quantity": "101", "other_point": "DD02"},
        )
    assert raised.value.field == "quantity"
    assert "1 short" in raised.value.message
    assert len(store.rows(SUPPLIES)) == before
    assert stock(store, "DD01", "n95_mask") == 100


def test_an_issue_before_the_receipt_is_refused(two_points: Store) -> None:
    store = two_points
    receive(store, "DD01", "gloves", 10, "2026-11-29 08:00")
    with pytest.raises(FieldError) as raised:
        store.supplies.record(
            "issue", {"point": "DD01", "item": "gloves", "quantity": "5", "at": "2026-11-28 20:00"}
        )
    assert "2026-11-28 20:00" in raised.value.message
    # Voiding the receipt the issues depend on is refused too.
    store.supplies.record("issue", {"point": "DD01", "item": "gloves", "quantity": "5"})
    receipt = store.supplies.movements("DD01", "gloves")[0][0]
    with pytest.raises(FieldError):
        store.supplies.void(receipt, "mistake")
    assert stock(store, "DD01", "gloves") == 5


def test_a_count_that_differs_is_an_adjustment_with_a_reason(two_points: Store) -> None:
    store = two_points
    receive(store, "DD01", "test_kit", 300, "2026-11-28 08:00")
    count = {"point": "DD01", "item": "test_kit", "counted": "290"}
    with pytest.raises(FieldError) as raised:
        store.supplies.record("adjustment", count)
    assert raised.value.field == "reason"
    adjustment = store.supplies.record("adjustment", {**count, "reason": "10 damaged"})
    doc = store.get(SUPPLIES, adjustment)
    assert doc is not None
    assert (doc["quantity"], doc["counted"]) == (-10, 290)
    assert stock(store, "DD01", "test_kit") == 290
    # A count that agrees stores nothing.
    assert store.supplies.record("adjustment", {**count, "reason": ""}) == 0
    # Correcting the count keeps the history and the stock follows.
    store.supplies.correct(adjustment, {"counted": "295"}, "recounted")
    assert stock(store, "DD01", "test_kit") == 295
    assert [e["action"] for e in store.history(SUPPLIES, adjustment)] == ["create", "correct"]


def test_days_left_from_the_last_three_days_and_the_flag(two_points: Store, clock: Clock) -> None:
    store = two_points
    receive(store, "DD01", "protective_suit", 100, "2026-11-25 08:00")
    for day in (26, 27, 28):
        fields = {"point": "DD01", "item": "protective_suit", "quantity": "20"}
        store.supplies.record("issue", {**fields, "at": f"2026-11-{day} 20:00"})
    level = next(lv for lv in store.supplies.levels("DD01") if lv.item == "protective_suit")
    assert (level.stock, level.daily_use, level.days_left) == (40, 20.0, 2.0)
    assert [(lv.point, lv.item) for lv in store.supplies.short(None)] == [
        ("DD01", "protective_suit")
    ]
    store.supplies.set_threshold("DD01", "protective_suit", "1.5")
    assert store.supplies.short("DD01") == []
    # Four days on, the old issues are out of the window: nothing used lately.
    clock.now = NOW + timedelta(days=4)
    assert (
        next(lv for lv in store.supplies.levels("DD01") if lv.item == "protective_suit").days_left
        is None
    )


def test_an_item_of_the_points_own(two_points: Store) -> None:
    store = two_points
    store.supplies.add_item("DD01", "隔离衣", "件")
    with pytest.raises(FieldError):
        store.supplies.add_item("DD01", "隔离衣", "件")
    receive(store, "DD01", "隔离衣", 40)
    assert stock(store, "DD01", "隔离衣") == 40
    with pytest.raises(ValidationFailed) as raised:
        receive(store, "DD02", "隔离衣", 40)
    assert [e.field for e in raised.value.errors] == ["item"]


def test_the_handover_shows_stock_days_and_flags_escaped(two_points: Store) -> None:
    from isolation_tui.headless.handover_report import render

    store = two_points
    hostile = "<b>隔离衣</b>*[red]x[/]"
    store.supplies.add_item("DD01", hostile, "件")
    receive(store, "DD01", hostile, 30, "2026-11-27 08:00")
    store.supplies.record(
        "issue", {"point": "DD01", "item": hostile, "quantity": "15", "at": "2026-11-28 20:00"}
    )
    receive(store, "DD01", "gloves", 100, "2026-11-27 08:00")
    summary = store.handovers.summary("DD01", since="2026-11-27 00:00")
    text = render(summary, "", None, "txt")
    # 3.0 days is not below 3: nothing flagged yet. 件 is stored as the unit "piece".
    assert "Supplies — items flagged for days of stock left: 0" in text
    assert f"  {hostile} 15 pcs, 3.0 days left (flag threshold 3 days)" in text
    assert "gloves 100 pairs, — days left" in text
    store.supplies.record("issue", {"point": "DD01", "item": hostile, "quantity": "1"})
    summary = store.handovers.summary("DD01", since="2026-11-27 00:00")
    assert f"⚠ {hostile} 14 pcs, 2.6 days left" in render(summary, "", None, "txt")
    html = render(summary, "", None, "html")
    assert "<b>隔离衣</b>" not in html and "&lt;b&gt;隔离衣&lt;/b&gt;" in html
    md = render(summary, "", None, "md")
    # No tag can start: a backslash before each "<" (the Markdown handover's escaping).
    assert "\\<b>隔离衣\\</b>" in md
    # All points: only what runs short, named by its point.
    everywhere = render(store.handovers.summary(None, since="2026-11-27 00:00"), "", None, "txt")
    assert f"⚠ DD01 {hostile} 14 pcs" in everywhere and "gloves" not in everywhere


def test_the_activity_line_names_the_movement(two_points: Store) -> None:
    from isolation_tui.domain.activity import describe

    store = two_points
    receive(store, "DD01", "protective_suit", 200, "2026-11-28 08:00")
    (entry,) = store.recent_audit("DD01", 1)
    line = describe(entry, store.get(entry["table"], entry["record"]))
    assert "created supply movement #1 delivery protective suits 200" in line
