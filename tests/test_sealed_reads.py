"""Reading sealed history costs what is read: the handover follows its window, a
lookup reads the one segment that holds what it looks for, and the result is the
same as on the database never sealed."""

from __future__ import annotations

import contextlib
import random
from array import array
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import orjson
import pytest
from conftest import FIXED_NOW, CliRunner, Clock
from test_store_seal import seal, twin
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.domain.counters import ALL, FIGURES, compute
from isolation_tui.domain.errors import FieldError
from isolation_tui.domain.handover import Tables, Window, shift_start, start_day, summarise
from isolation_tui.domain.health import ROUND
from isolation_tui.domain.records import AuditEntry
from isolation_tui.domain.timeparse import format_time, parse_time
from isolation_tui.headless.check import problems
from isolation_tui.storage import engine
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.history import MergedIds
from isolation_tui.storage.journal import crc, decode_snapshot, encode_snapshot
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.segments import Listed, head_of, segment_path
from isolation_tui.storage.tables import AUDIT, DISCHARGES, HANDOVERS, INCIDENTS, STAYS
from isolation_tui.widgets.record_table import RecordTable

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
        for stay in chance.sample(open_stays, min(2, len(open_stays))):
            with contextlib.suppress(FieldError):  # a round the person was not there for
                store.health.record_check(
                    stay, day.date().isoformat(), chance.choice(ROUND.codes), "372"
                )
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


def make_busy(path: Path, seed: int) -> Path:
    clock = Clock(FIXED_NOW)
    store = open_store(path, create=True, actor=Actor("tester"), clock=clock)
    try:
        busy(store, clock, seed)
    finally:
        store.close()
    return path


@pytest.fixture(params=[1, 2, 3])
def busy_db(request: pytest.FixtureRequest, db_path: Path) -> Path:
    return make_busy(db_path, request.param)


@pytest.fixture
def sealed_pair(db_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A busy database sealed (a segment a month: at least September and October)
    and its unsealed twin."""
    make_busy(db_path, 2)
    control = twin(db_path, tmp_path)
    assert len(seal(db_path)) >= 2
    return db_path, control


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
    # A late arrival entered now, due the same day as someone there before it: the
    # lists keep people due alike in the order they came (by number).
    due = min(
        (s for s in tables[STAYS].values() if s["status"] == "open" and not s.get("voided")),
        key=lambda stay: stay["release_due"],
    )
    for db in (busy_db, control):
        fixer = open_store(db, actor=Actor("fixer"), clock=lambda: FIXED_NOW)
        try:
            fixer.stays.register(
                {
                    "point": due["point"],
                    "name": "晚到",
                    "id_type": "passport",
                    "id_number": "L0000001",
                    "category": due["category"],
                    "arrived_at": due["arrived_at"],
                }
            )
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


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_every_export_holds_the_rows_of_the_unsealed_twin(
    sealed_pair: tuple[Path, Path], cli: CliRunner, fmt: str
) -> None:
    path, control = sealed_pair
    for kind in ("arrivals", "discharges", "incidents", "checks", "tests", "audit"):
        made = []
        for db in (path, control):
            result = cli("export", kind, "--db", str(db), "--format", fmt)
            assert result.returncode == 0, result.stderr
            made.append(result.stdout)
        if fmt == "csv":
            (head, *rows), (control_head, *control_rows) = (m.splitlines() for m in made)
            assert head == control_head
        else:
            rows, control_rows = ([orjson.dumps(row) for row in orjson.loads(m)] for m in made)
        # Sealed history comes month by month before the live set: the same rows.
        assert len(rows) > 10, kind
        assert sorted(rows) == sorted(control_rows), kind


def test_the_workbook_export_holds_the_rows_of_the_unsealed_twin(
    sealed_pair: tuple[Path, Path], cli: CliRunner, tmp_path: Path
) -> None:
    path, control = sealed_pair
    sheets = []
    for n, db in enumerate((path, control)):
        out = tmp_path / f"arrivals-{n}.xlsx"
        result = cli("export", "arrivals", "--db", str(db), "--format", "xlsx", "--out", str(out))
        assert result.returncode == 0, result.stderr
        book = openpyxl.load_workbook(out, read_only=True)
        sheets.append(sorted(map(repr, book.active.iter_rows(values_only=True))))
        book.close()
    assert len(sheets[0]) > 10 and sheets[0] == sheets[1]


def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the segments whose documents are read from now on."""
    names: list[str] = []
    real = engine.read_segment

    def reading(db: Path, db_id: str, listed: Listed, *, body: bool, parse: bool = True) -> Any:
        if body:
            names.append(listed.name)
        return real(db, db_id, listed, body=body, parse=parse)

    monkeypatch.setattr(engine, "read_segment", reading)
    return names


def sealed_stay(path: Path) -> tuple[int, str]:
    """A stay sealed in October, with its discharge, checks and tests, and the name
    of its segment."""
    storage = JournalStorage(path, read_only=True)
    try:
        for segment in storage.sealed_segments():
            body = segment.body or {}
            if segment.header["month"] == "2026-10":
                stay = next(
                    int(key)
                    for key, doc in body[STAYS].items()
                    if doc["status"] == "discharged"
                    and any(test["stay"] == int(key) for test in body["tests"].values())
                )
                return stay, segment.path.name.split("-sealed-")[1]
    finally:
        storage.close()
    raise AssertionError("no stay sealed in October")


def detail(store: Store, stay_id: int) -> list[Any]:
    """What a stay's detail shows: the stay, its discharge, its history, its plan."""
    stay = store.get(STAYS, stay_id)
    assert stay is not None
    return [
        stay,
        store.get(DISCHARGES, stay["discharge"]),
        store.history(STAYS, stay_id),
        store.health.tests_of(stay_id),
        store.health.off_plan(stay_id),
        store.health.left_at(stay),
    ]


def test_a_sealed_stays_detail_reads_its_own_segment_only(
    sealed_pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, control = sealed_pair
    stay_id, segment = sealed_stay(path)
    names = opened(monkeypatch)
    store = reader(path)
    try:
        shown = detail(store, stay_id)
        assert names == [segment]
        assert store.db.storage.sealed_outside()[0]  # the history stays sealed
    finally:
        store.close()
    store = reader(control)
    try:
        assert detail(store, stay_id) == shown
        assert len(shown[2]) >= 2 and shown[3]
    finally:
        store.close()


def test_the_lists_of_the_past_page_through_sealed_ids_without_reading_them(
    sealed_pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, control = sealed_pair
    names = opened(monkeypatch)
    listed = {}
    for db in (path, control):
        store = reader(db)
        try:
            listed[db] = {
                (table, point): list(store.record_ids(table, point))
                for table in (STAYS, DISCHARGES)
                for point in ("DD01", "DD02", None)
            }
        finally:
            store.close()
    assert names == []
    assert listed[path] == listed[control]


def test_merged_ids_read_as_one_ascending_list() -> None:
    chance = random.Random(5)
    for _ in range(200):
        ids = chance.sample(range(1, 60), chance.randint(0, 40))
        first = sorted(i for i in ids if chance.random() < 0.5)
        second = sorted(set(ids) - set(first))
        merged = MergedIds(array("q", first), second)
        assert list(merged) == sorted(ids)
        assert merged[-1:] == sorted(ids)[-1:]
        assert all(i in merged for i in ids) and 0 not in merged


def plant(path: Path, segment: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a segment's documents and make every checksum agree again: what only
    a full check that reads the records can find."""
    first, _, rest = segment.read_bytes().partition(b"\n")
    head, _, body = rest.partition(b"\n")
    documents = orjson.loads(body)
    change(documents)
    body = orjson.dumps(documents)
    fields = first.split(b" ")
    fields[6], fields[7] = crc(body).encode(), b"%d" % len(body)
    new_first = b" ".join(fields)
    segment.write_bytes(new_first + b"\n" + head + b"\n" + body)
    snapshot = decode_snapshot(path.read_bytes(), str(path))
    for listed in snapshot["segments"]:
        if segment.name.endswith(listed["name"]):
            listed["head"] = head_of(new_first + b"\n")
    path.write_bytes(encode_snapshot(snapshot))


def test_check_all_walks_each_segment_and_names_a_broken_sealed_record(
    sealed_pair: tuple[Path, Path], cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sealed_pair
    stay_id, name = sealed_stay(path)

    def wrong_due(documents: dict[str, Any]) -> None:
        documents[STAYS][str(stay_id)]["release_due"] = "2030-01-01"

    plant(path, segment_path(path, name), wrong_due)
    assert cli("--lang", "en", "check").returncode == 0  # the live set is whole
    result = cli("--lang", "en", "check", "--all")
    assert result.returncode == 1
    assert f"stay {stay_id}" in result.stderr and "2030-01-01" in result.stderr
    # One segment at a time, and the history never read in whole: each segment is
    # read in its turn, and again only where a later one refers to a record in it
    # (an incident about people released in an earlier month).
    names = opened(monkeypatch)
    store = open_store(path, read_only=True)
    try:
        found = list(problems(store, everything=True))
        assert len(found) == 1 and "2030-01-01" in found[0]
        assert name in names and all(names.count(one) <= 2 for one in names)
        assert store.db.storage.sealed_outside()[0]
    finally:
        store.close()


async def test_f3_and_a_stays_detail_reach_sealed_records_at_80x24(
    sealed_pair: tuple[Path, Path],
) -> None:
    path, _ = sealed_pair
    stay_id, _ = sealed_stay(path)
    store = reader(path)
    try:
        stay = store.get(STAYS, stay_id)
        assert stay is not None
        discharge = store.get(DISCHARGES, stay["discharge"])
        assert discharge is not None
        oldest = store.get(DISCHARGES, store.record_ids(DISCHARGES, stay["point"])[0])
        assert oldest is not None
        oldest_name = store.get(STAYS, oldest["stay"])["person"]["name"]  # type: ignore[index]
        app = IsolationApp(store, point=stay["point"])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f3")
            await pilot.pause()
            done = app.screen.query_one("#done-table", RecordTable)
            done.focus()
            await pilot.press("end")  # back to the first discharge ever: sealed
            await pilot.pause()
            row = " ".join(str(c) for c in done.get_row_at(done.cursor_row))
            assert oldest_name in row
            assert store.db.storage.sealed_outside()[0]
            await pilot.press("f2")
            await pilot.pause()
            arrivals = app.screen.query_one(RecordTable)
            arrivals.go_to(str(stay_id))
            await pilot.press("enter")
            await pilot.pause()
            text = str(app.screen.query_one("#detail-text", Static).content)
            assert stay["person"]["name"] in text and discharge["at"] in text
            # Its history, sealed with it: the registration and the discharge.
            history = store.history(STAYS, stay_id)
            assert len(history) >= 2
            assert all(f"{entry['at'][5:]} {entry['os_user']}" in text for entry in history)
            # Read from the segments that hold them: the history stays sealed.
            assert store.db.storage.sealed_outside()[0]
    finally:
        store.close()
