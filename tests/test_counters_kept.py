"""The counters a session keeps change by change are the counters the records give:
after arrivals, discharges, voids, incidents, a write rolled back, and another
process's writes read in."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXED_NOW

from isolation_tui.domain.counters import Counters, compute
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import DISCHARGES, INCIDENTS, STAYS


def from_records(store: Store) -> dict[str, Counters]:
    """``compute`` over every record, with the health figures the store adds."""
    kept = store.counters()
    result = compute(
        store.points().values(),
        store.rows(STAYS).values(),
        store.rows(DISCHARGES).values(),
        store.rows(INCIDENTS).values(),
        FIXED_NOW.date(),
    )
    for code, figures in result.items():
        figures.missed_checks = kept[code].missed_checks
        figures.tests_due = kept[code].tests_due
    return result


def arrive(store: Store, number: str, point: str = "DD01", **extra: str) -> int:
    fields = {"point": point, "name": f"客{number}", "id_type": "passport", "id_number": number}
    when = {"category": "inbound", "arrived_at": "2026-11-28 14:05"}
    return store.stays.register({**fields, **when, **extra})


def test_counters_follow_every_kind_of_change(store: Store, db_path: Path) -> None:
    rooms = [{"code": str(100 + n), "floor": "1", "beds": 1, "blocked": False} for n in range(6)]
    store.save_point("DD01", "一号点", rooms)
    store.save_point("DD02", "二号点", rooms[:2])
    first = arrive(store, "E1", arrived_at="2026-11-10 10:00")
    second = arrive(store, "E2")
    arrive(store, "E3", point="DD02")
    home = store.stays.discharge(
        {"stay": str(first), "discharged_at": "now", "kind": "hospital", "destination": "市医院"}
    )
    assert store.counters() == from_records(store)
    store.stays.void(DISCHARGES, home, "录错了")
    store.stays.discharge({"stay": str(second), "discharged_at": "now", "kind": "other_point"})
    incident = store.incidents.open(
        {"point": "DD01", "kind": "fever", "severity": "2", "summary": "发热", "occurred_at": "now"}
    )
    store.incidents.close(incident, "已送医")
    store.incidents.open(
        {"point": "DD02", "kind": "fever", "severity": "2", "summary": "x", "occurred_at": "now"}
    )
    assert store.counters() == from_records(store)
    with pytest.raises(RuntimeError), store.transaction():
        arrive(store, "E4")
        raise RuntimeError("the rest of the batch failed")
    assert store.counters() == from_records(store)
    store.stays.void(STAYS, first, "重复登记")
    assert store.counters() == from_records(store)
    other = open_store(db_path, actor=Actor("other"), clock=lambda: FIXED_NOW)
    arrive(other, "E5", point="DD02")
    other.stays.void(INCIDENTS, incident, "误报")
    other.close()
    store.refresh()
    counted = store.counters()
    assert counted == from_records(store)
    assert counted["DD02"].received == 2 and counted["*"].incidents_handled == 0
