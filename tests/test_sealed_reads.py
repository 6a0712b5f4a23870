"""Reading sealed history costs what is read: the handover follows its window, a
lookup reads the one segment that holds what it looks for, and the result is the
same as on the database never sealed."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIXED_NOW, Clock
from test_store_seal import seal, twin

from isolation_tui.domain.counters import ALL, FIGURES, compute
from isolation_tui.domain.errors import FieldError
from isolation_tui.domain.handover import Tables, Window, shift_start, start_day, summarise
from isolation_tui.domain.records import AuditEntry
from isolation_tui.domain.timeparse import format_time, parse_time
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, DISCHARGES, HANDOVERS, INCIDENTS, STAYS

SOURCES = (STAYS, DISCHARGES, INCIDENTS, "checks", "tests")


def busy(store: Store, clock: Clock, seed: int) -> None:
    """Three months at two points: arrivals (some entered late, some corrected back),
    discharges, voids of both, incidents opened, closed and reopened, and handovers
    signed now and then, at one point and for all."""
    rooms = [{"code": str(100 + n), "floor": "1", "beds": 1, "blocked": False} for n in range(60)]
    for code in ("DD01", "DD02"):
        store.save_point(code, code, rooms)
    chance = random.Random(seed)
    people = 0
    open_stays: list[int] = []
    discharges: list[int] = []
    incidents: list[int] = []
    day = datetime(2026, 9, 1, 9, 0)
    while day < FIXED_NOW - timedelta(hours=3):
        clock.now = day
        for _ in range(chance.randint(1, 2)):
            people += 1
            late = timedelta(hours=chance.choice((0, 0, 5, 30)))
            stay = store.stays.register(
                {
                    "point": chance.choice(("DD01", "DD02")),
                    "name": f"人{people}",
                    "id_type": "passport",
                    "id_number": f"E{people:07d}",
                    "category": "inbound",
                    "arrived_at": format_time(day - late),
                }
            )
            open_stays.append(stay)
        while len(open_stays) > 12 or (len(open_stays) > 4 and chance.random() < 0.3):
            stay = open_stays.pop(chance.randrange(len(open_stays) - 2))
            discharges.append(
                store.stays.discharge(
                    {
                        "stay": stay,
                        "kind": chance.choice(("hospital", "other_point")),
                        "discharged_at": format_time(day),
                        "destination": "市医院",
                    }
                )
            )
        pick = chance.random()
        if pick < 0.1 and open_stays:
            store.stays.void(STAYS, open_stays.pop(chance.randrange(len(open_stays))), "登记错误")
        elif pick < 0.2 and discharges:
            discharge = discharges.pop(chance.randrange(len(discharges)))
            with contextlib.suppress(FieldError):  # the room may be taken since
                store.stays.void(DISCHARGES, discharge, "误操作")
                open_stays.append(store.get(DISCHARGES, discharge)["stay"])
        elif pick < 0.3 and open_stays:
            stay = chance.choice(open_stays)
            back = parse_time(store.get(STAYS, stay)["arrived_at"], day) - timedelta(hours=20)
            store.stays.correct(stay, {"arrived_at": format_time(back)}, "时间登记错")
        if chance.random() < 0.3:
            about = [chance.choice(open_stays)] if open_stays and chance.random() < 0.3 else []
            incidents.append(
                store.incidents.open(
                    {
                        "point": store.get(STAYS, about[0])["point"] if about else "DD01",
                        "kind": "fever",
                        "severity": "2",
                        "summary": "发热",
                        "occurred_at": format_time(day),
                    },
                    stays=about,
                )
            )
        for incident in list(incidents):
            status = store.get(INCIDENTS, incident)["status"]
            if status == "open" and chance.random() < 0.5:
                store.incidents.close(incident, "已处置", format_time(day))
            elif status == "handled" and chance.random() < 0.2:
                store.incidents.reopen(incident, "复发")
            elif status == "handled":
                incidents.remove(incident)  # settled: reopened no more
        if chance.random() < 0.3:
            point = chance.choice(("DD01", None))
            store.handovers.sign(store.handovers.summary(point), "", "张三")
        day += timedelta(hours=chance.choice((9, 13, 17)))
    clock.now = FIXED_NOW


def whole(path: Path) -> Tables:
    """Every record, read the whole way (what the handover was made from before)."""
    storage = JournalStorage(path, read_only=True)
    try:
        tables = orjson.loads(orjson.dumps(storage.tables()))
    finally:
        storage.close()
    return {name: {int(key): doc for key, doc in rows.items()} for name, rows in tables.items()}


def replay(audit: Sequence[AuditEntry], upto: int) -> Tables:
    """Every record as it stood just after audit entry ``upto``, rebuilt from the log
    from its first entry: the handover's old way, kept as the oracle."""
    tables: Tables = {}
    for entry in audit[:upto]:
        rows = tables.setdefault(entry["table"], {})
        if entry["action"] == "create" or entry["record"] not in rows:
            rows[entry["record"]] = dict(entry["after"] or {})
        else:
            rows[entry["record"]].update(entry["after"] or {})
    return tables


def figures(tables: Tables, store: Store, point: str | None, day: datetime) -> dict[str, int]:
    result = compute(
        store.points().values(),
        tables.get(STAYS, {}).values(),  # type: ignore[arg-type]
        tables.get(DISCHARGES, {}).values(),  # type: ignore[arg-type]
        tables.get(INCIDENTS, {}).values(),  # type: ignore[arg-type]
        day.date(),
    )
    chosen = result.get(point or ALL)
    return {key: getattr(chosen, key, 0) if chosen else 0 for key in FIGURES}


def replayed_summary(store: Store, tables: Tables, point: str | None, since: str) -> dict[str, Any]:
    """The handover as it was made before: the whole log read, the start replayed."""
    audit = [tables[AUDIT][number] for number in sorted(tables[AUDIT])]
    now = store.clock()

    def window_from(start: str) -> Window:
        after = len(audit)
        while after and audit[after - 1]["at"] >= start:
            after -= 1
        return Window(after, len(audit), start, format_time(now))

    previous = sorted(
        (key, doc) for key, doc in tables.get(HANDOVERS, {}).items() if doc["point"] == point
    )
    if since:
        moment = parse_time(since, now)
        assert moment is not None
        window = window_from(format_time(moment))
    elif previous:
        last = previous[-1][1]["summary"]
        window = Window(last["upto_audit"], len(audit), last["end"], format_time(now))
    else:
        window = window_from(format_time(shift_start(now, store.handovers.shifts())))
    counters = (
        figures(replay(audit, window.after_audit), store, point, start_day(window, now)),
        figures(tables, store, point, now),
    )
    entries = audit[window.after_audit : window.upto_audit]
    now_tables = {name: tables.get(name, {}) for name in SOURCES}
    summary = summarise(point, window, entries, now_tables, store.points(), now, counters)
    summary["chosen_start"] = bool(since)
    summary["on_duty"] = store.staff.handover_part(point, now)
    summary["supplies"] = store.supplies.summary(point)
    return summary


@pytest.fixture(params=[1, 2, 3])
def busy_db(request: pytest.FixtureRequest, db_path: Path) -> Path:
    clock = Clock(FIXED_NOW)
    store = open_store(db_path, create=True, actor=Actor("tester"), clock=clock)
    try:
        busy(store, clock, request.param)
    finally:
        store.close()
    return db_path


def reader(path: Path) -> Store:
    return open_store(path, actor=Actor("reader"), clock=lambda: FIXED_NOW)


SINCE = ("", "2026-11-28 20:00", "2026-11-02 08:00", "2026-10-20 08:00", "2026-09-01 00:00")


def test_the_handover_takes_its_window_back_from_today_and_equals_the_old_replay(
    busy_db: Path, tmp_path: Path
) -> None:
    control = twin(busy_db, tmp_path)
    assert seal(busy_db)
    # Sealed records changed after the seal: a discharge voided (the person is back
    # in isolation) and an incident reopened, in the window of every handover.
    tables = whole(busy_db)
    live = reader(busy_db)
    try:
        assert live.db.storage.sealed_outside()[0]
        sealed = {name: set(tables[name]) - set(map(int, live.live_rows(name))) for name in tables}
    finally:
        live.close()
    voidable = [
        key for key in sorted(sealed[DISCHARGES]) if not tables[DISCHARGES][key].get("voided")
    ]
    handled = next(
        key
        for key in sorted(sealed[INCIDENTS])
        if tables[INCIDENTS][key]["status"] == "handled"
        and not tables[INCIDENTS][key].get("voided")
    )
    for db in (busy_db, control):
        fixer = open_store(db, actor=Actor("fixer"), clock=lambda: FIXED_NOW)
        try:
            for discharge in voidable:
                try:
                    fixer.stays.void(DISCHARGES, discharge, "误操作")
                    break
                except FieldError:
                    continue
            fixer.incidents.reopen(handled, "复发")
            fixer.db.storage.compact()
        finally:
            fixer.close()
    tables = whole(busy_db)
    for point in ("DD01", "DD02", None):
        for since in SINCE:
            store = reader(busy_db)
            try:
                shown = store.handovers.summary(point, since)
                # Counted from the headers and the window: the history stays sealed.
                assert store.db.storage.sealed_outside()[0], (point, since)
            finally:
                store.close()
            store = reader(busy_db)
            try:
                expected = replayed_summary(store, tables, point, since)
            finally:
                store.close()
            assert shown == expected, (point, since)
            store = reader(control)
            try:
                assert store.handovers.summary(point, since) == expected, (point, since)
            finally:
                store.close()
