"""Sealed history: finished months move into checksummed segments beside the
database, and everything reads the same, in this process and in others, after a
kill mid-seal, in a backup, a recovery and ``check``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest
from conftest import FIXED_NOW, CliRunner

from isolation_tui.headless.check import problems, stored_records
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.backend import backup_database
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.errors import StoreCorrupt
from isolation_tui.storage.index import MARKS
from isolation_tui.storage.journal import crc, decode_snapshot, encode_snapshot
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.salvage import salvage
from isolation_tui.storage.sealing import finished_by_month, seal_history, tally
from isolation_tui.storage.segments import head_of, segment_files
from isolation_tui.storage.tables import DISCHARGES, INCIDENTS, STAYS


def history(store: Store) -> dict[str, int]:
    """A point with four stays: discharged in September and in October, voided in
    September, still open; an incident about the first, handled in September."""
    rooms = [{"code": str(100 + n), "floor": "1", "beds": 1, "blocked": False} for n in range(6)]
    store.save_point("DD01", "一号点", rooms)
    ids = [
        store.stays.register(
            {
                "point": "DD01",
                "name": f"人{n}",
                "id_type": "passport",
                "id_number": f"E100000{n}",
                "category": "inbound",
                "arrived_at": f"2026-09-0{n + 1} 10:00",
            }
        )
        for n in range(4)
    ]
    for stay, at in ((ids[0], "2026-09-10 10:00"), (ids[1], "2026-10-03 10:00")):
        store.stays.discharge(
            {"stay": stay, "kind": "hospital", "discharged_at": at, "destination": "市医院"}
        )
    store.stays.void(STAYS, ids[2], "登记错误")
    incident = store.incidents.open(
        {
            "point": "DD01",
            "kind": "fever",
            "severity": "2",
            "summary": "发热",
            "occurred_at": "2026-09-05 10:00",
        },
        stays=[ids[0]],
    )
    store.incidents.close(incident, "已送医", "2026-09-06 10:00")
    return {"september": ids[0], "october": ids[1], "voided": ids[2], "open": ids[3]}


def everything(path: Path) -> tuple[dict[str, dict[str, object]], dict[str, int]]:
    storage = JournalStorage(path, read_only=True)
    try:
        tables = orjson.loads(orjson.dumps(storage.tables()))
        return tables, {name: storage.max_id(name) for name in tables}
    finally:
        storage.close()


def snapshot_tables(path: Path) -> dict[str, dict[str, object]]:
    return decode_snapshot(path.read_bytes(), str(path))["tables"]


@pytest.fixture
def sealed_db(store: Store, db_path: Path) -> tuple[Path, dict[str, int]]:
    ids = history(store)
    store.close()
    return db_path, ids


def seal(path: Path, until: str = "2026-11") -> list[tuple[str, int]]:
    store = open_store(path, actor=Actor("sealer"), clock=lambda: FIXED_NOW)
    try:
        return seal_history(store.db.storage, until, MARKS)
    finally:
        store.close()


def test_finished_history_is_chosen_by_the_month_it_finished_in(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, ids = sealed_db
    tables, _ = everything(path)
    chosen = finished_by_month(tables, "2026-11")
    assert sorted(chosen) == ["2026-09", "2026-10"]
    september = chosen["2026-09"]
    assert sorted(map(int, september[STAYS])) == sorted([ids["september"], ids["voided"]])
    assert chosen["2026-10"][STAYS] == [str(ids["october"])]
    assert len(september[INCIDENTS]) == 1
    # Every record sealed takes its audit with it; the open stay and the point stay.
    audited = {(a["table"], a["record"]) for a in (tables["audit"][k] for k in september["audit"])}
    assert (STAYS, ids["september"]) in audited and (STAYS, ids["open"]) not in audited
    assert finished_by_month(tables, "2026-10").keys() == {"2026-09"}


def test_sealing_moves_history_out_of_the_snapshot_and_reads_the_same(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, ids = sealed_db
    before = everything(path)
    counters = cli("stats", "--json").stdout

    made = seal(path)

    assert [name.split("-")[:2] for name, _ in made] == [["2026", "09"], ["2026", "10"]]
    assert [f.name for f in segment_files(path)] == [f"{path.name}-sealed-{n}" for n, _ in made]
    live = snapshot_tables(path)
    assert str(ids["september"]) not in live[STAYS] and str(ids["open"]) in live[STAYS]
    assert everything(path) == before
    assert cli("stats", "--json").stdout == counters
    result = cli("check")
    assert result.returncode == 0, result.stderr
    # Nothing is left to seal, so a second run seals nothing.
    assert seal(path) == []


def test_a_segment_header_counts_what_it_holds(sealed_db: tuple[Path, dict[str, int]]) -> None:
    path, _ = sealed_db
    seal(path)
    storage = JournalStorage(path, read_only=True)
    try:
        segments = list(storage.sealed_segments())
    finally:
        storage.close()
    september = segments[0]
    assert september.header["tally"] == {
        "DD01": {"incidents_handled": 1, "kind:hospital": 1, "received": 1, "transferred": 1}
    }
    assert september.header["tally"] == tally(september.body or {}, MARKS)
    assert september.header["counts"][STAYS] == 2


def test_a_session_open_before_the_seal_reads_it_and_keeps_it(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, ids = sealed_db
    before = everything(path)
    session = open_store(path, actor=Actor("other"), clock=lambda: FIXED_NOW)
    try:
        seal(path)
        # Taken from the seal's entry: what left memory, not the snapshot again.
        taken = session.refresh()
        assert taken and not taken.reloaded
        assert orjson.loads(orjson.dumps(session.db.storage.tables())) == before[0]
        # Its own saves and compactions keep the history sealed.
        session.stays.correct(ids["open"], {"notes": "复查"}, "补充")
        session.db.storage.compact()
    finally:
        session.close()
    live = snapshot_tables(path)
    assert str(ids["september"]) not in live[STAYS]
    assert everything(path)[0][STAYS][str(ids["open"])]["notes"] == "复查"


def test_a_sealed_record_changed_or_removed_later_reads_as_changed(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, ids = sealed_db
    seal(path)
    storage = JournalStorage(path)
    try:
        with storage.transaction():
            doc = dict(storage.tables()[STAYS][str(ids["october"])])
            doc["notes"] = "补记"
            storage.stage(STAYS, str(ids["october"]), doc)
            storage.stage(STAYS, str(ids["voided"]), None)
        expected = orjson.loads(orjson.dumps(storage.tables()))
        storage.compact()
    finally:
        storage.close()
    tables, _ = everything(path)
    assert tables == expected
    assert tables[STAYS][str(ids["october"])]["notes"] == "补记"
    assert str(ids["voided"]) not in tables[STAYS]
    assert list(tables[STAYS]) == sorted(tables[STAYS], key=int)


def test_a_missing_or_damaged_segment_is_refused_by_name(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, _ = sealed_db
    seal(path)
    first, second = segment_files(path)
    whole = first.read_bytes()
    damaged = bytearray(whole)
    damaged[-5] ^= 0x01
    first.write_bytes(bytes(damaged))
    result = cli("check")
    assert result.returncode == 1
    assert str(first) in result.stderr
    # The live set opens; the damaged history is refused when it is read.
    storage = JournalStorage(path, read_only=True)
    with pytest.raises(StoreCorrupt, match=str(first)):
        storage.tables()
    storage.close()
    first.write_bytes(whole.replace(b"ISOLATION-TUI-SEGMENT 1", b"ISOLATION-TUI-SEGMENT 2", 1))
    with pytest.raises(StoreCorrupt, match=str(first)):
        JournalStorage(path, read_only=True)
    first.write_bytes(whole)
    second.unlink()
    result = cli("check")
    assert result.returncode == 1
    assert str(second) in result.stderr and "missing" in result.stderr


def test_check_all_finds_a_header_whose_counters_are_not_its_records(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, _ = sealed_db
    seal(path)
    storage = JournalStorage(path, read_only=True)
    (september, _) = storage.sealed_segments()
    storage.close()
    assert cli("check").returncode == 0
    # A header rewritten with its own checksum right still must agree with its records.
    raw = september.path.read_bytes()
    first, _, rest = raw.partition(b"\n")
    head, _, body = rest.partition(b"\n")
    wrong = head.replace(b'"received":1', b'"received":2')
    fields = first.split(b" ")
    fields[4], fields[5] = crc(wrong).encode(), b"%d" % len(wrong)
    new_first = b" ".join(fields)
    september.path.write_bytes(new_first + b"\n" + wrong + b"\n" + body)
    snapshot = decode_snapshot(path.read_bytes(), str(path))
    for listed in snapshot["segments"]:
        if september.path.name.endswith(listed["name"]):
            listed["head"] = head_of(new_first + b"\n")
    path.write_bytes(encode_snapshot(snapshot))
    # The default check counts with the header (the figures no longer add up); the
    # full one counts the segment's records again and names it.
    result = cli("check")
    assert result.returncode == 1 and "received 4" in result.stderr
    result = cli("check", "--all")
    assert result.returncode == 1
    assert str(september.path) in result.stderr and "counters" in result.stderr


@pytest.mark.parametrize("make", ["backup", "recover"])
def test_a_backup_or_a_recovery_holds_the_sealed_history_in_its_own_files(
    sealed_db: tuple[Path, dict[str, int]], tmp_path: Path, make: str
) -> None:
    path, _ = sealed_db
    before = everything(path)
    seal(path)
    copy = tmp_path / "elsewhere" / "copy.db"
    copy.parent.mkdir()
    if make == "backup":
        backup_database(path, copy)
        assert [p.name for p in copy.parent.iterdir()] == ["copy.db"]
    else:
        assert salvage(path, copy).problem == ""
    assert segment_files(copy) == []
    assert everything(copy) == before


SEALER = textwrap.dedent(
    """
    import sys, time
    from isolation_tui.storage import engine
    from isolation_tui.storage.index import MARKS
    from isolation_tui.storage.repository import open_store
    from isolation_tui.storage.sealing import seal_history

    place = engine.put_temp
    def slow(tmp, target):
        place(tmp, target)
        # Between the segment and the snapshot that lists it: where a kill hurts most.
        print("placed", target.name, flush=True)
        time.sleep(float(sys.argv[2]))
    engine.put_temp = slow
    store = open_store(sys.argv[1])
    print(seal_history(store.db.storage, "2026-11", MARKS), flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [0, 1, 2])
def test_a_seal_killed_midway_leaves_the_old_state_or_the_new(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner, kill_at: int
) -> None:
    """Killed after its ``kill_at``-th file was put in place (0: its first segment,
    1: the snapshot listing it, 2: the second segment): every state opens whole."""
    path, _ = sealed_db
    before = everything(path)
    proc = subprocess.Popen(
        [sys.executable, "-c", SEALER, str(path), "30"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(kill_at + 1):
        assert proc.stdout.readline().startswith("placed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert everything(path) == before
    assert cli("check").returncode == 0
    # The next seal finishes the work, and a segment left unlisted harms nothing.
    seal(path)
    assert everything(path) == before
    assert cli("check").returncode == 0
    live = snapshot_tables(path)
    assert len(live[STAYS]) == 1 and len(live.get(DISCHARGES, {})) == 0


def test_seal_command(sealed_db: tuple[Path, dict[str, int]], cli: CliRunner) -> None:
    result = cli("--lang", "en", "seal", "--until", "2026-11")
    assert result.returncode == 0, result.stderr
    assert "2026-09" in result.stdout and "2026-10" in result.stdout
    result = cli("--lang", "en", "seal", "--until", "2026-11")
    assert "Nothing to seal" in result.stdout
    result = cli("--lang", "zh", "seal", "--until", "2026-13")
    assert result.returncode == 1 and "2026-13" in result.stderr


def counted(path: Path) -> tuple[dict[str, object], bool]:
    """The counters a fresh session shows, and whether it had to read history."""
    store = open_store(path, actor=Actor("counter"), clock=lambda: FIXED_NOW)
    try:
        figures = {code: c.as_dict() for code, c in store.counters().items()}
        return figures, not store.db.storage.sealed_outside()[0]
    finally:
        store.close()


def twin(path: Path, tmp_path: Path) -> Path:
    """An unsealed copy of the database at ``path``: what sealed reads must equal."""
    copy = tmp_path / "twin" / path.name
    copy.parent.mkdir()
    for part in path.parent.glob(path.name + "*"):
        (copy.parent / part.name).write_bytes(part.read_bytes())
    return copy


def test_a_session_holds_the_live_set_and_counts_sealed_history_by_its_headers(
    sealed_db: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, ids = sealed_db
    control = twin(path, tmp_path)
    seal(path)
    figures, read_history = counted(path)
    assert figures == counted(control)[0]
    assert not read_history
    store = open_store(path, actor=Actor("reader"), clock=lambda: FIXED_NOW)
    try:
        storage = store.db.storage
        assert set(storage.live_tables()[STAYS]) == {str(ids["open"])}
        # History is read when asked for: a list of the past, a released person.
        assert store.get(STAYS, ids["september"])["status"] == "discharged"
        assert list(store.record_ids(STAYS, "DD01")) == sorted(ids.values())
        assert [t for _, t in store.health.tests_of(ids["october"])]
        assert {c: f.as_dict() for c, f in store.counters().items()} == figures
    finally:
        store.close()


@pytest.mark.parametrize("change", ["void the incident", "void the discharge"])
def test_a_sealed_record_changed_later_counts_as_changed(
    sealed_db: tuple[Path, dict[str, int]], tmp_path: Path, change: str
) -> None:
    path, ids = sealed_db
    control = twin(path, tmp_path)
    seal(path)
    for db in (path, control):
        store = open_store(db, actor=Actor("fixer"), clock=lambda: FIXED_NOW)
        try:
            if change == "void the incident":
                store.stays.void(INCIDENTS, 1, "重复登记")
            else:
                # A discharge made by mistake: the person is back in isolation.
                discharge = store.get(STAYS, ids["october"])["discharge"]
                store.stays.void(DISCHARGES, discharge, "误操作")
            store.db.storage.compact()
        finally:
            store.close()
    figures, read_history = counted(path)
    assert figures == counted(control)[0]
    if change == "void the incident":
        assert figures["DD01"]["incidents_handled"] == 0
        # Counted from the headers, less the incident as sealed, plus it as it is.
        assert not read_history
    else:
        assert figures["DD01"]["in_isolation"] == 2
    assert everything(path) == everything(control)


def test_recent_changes_read_the_same_with_history_sealed(
    sealed_db: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, _ = sealed_db
    control = twin(path, tmp_path)
    seal(path)
    shown = []
    for db in (path, control):
        store = open_store(db, actor=Actor("reader"), clock=lambda: FIXED_NOW)
        try:
            shown.append([store.recent_audit(point, 3) for point in (None, "DD01", "XX")])
        finally:
            store.close()
    assert shown[0] == shown[1]
    assert len(shown[0][0]) == 3


def test_check_walks_the_live_set_and_looks_up_what_it_refers_to_in_history(
    sealed_db: tuple[Path, dict[str, int]], cli: CliRunner
) -> None:
    path, ids = sealed_db
    seal(path)
    store = open_store(path, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
    try:
        # A live record about a released person: the rules look the stay up.
        store.incidents.open(
            {
                "point": "DD01",
                "kind": "other",
                "severity": "1",
                "summary": "回访",
                "occurred_at": "2026-11-20 10:00",
            },
            stays=[ids["september"]],
        )
    finally:
        store.close()
    store = open_store(path, read_only=True)
    try:
        assert list(problems(store)) == []
        assert stored_records(store) == sum(len(r) for r in store.db.storage.tables().values())
    finally:
        store.close()
    for args in (("check",), ("check", "--all")):
        result = cli(*args)
        assert result.returncode == 0, result.stderr


def test_the_default_check_reads_no_sealed_history(
    sealed_db: tuple[Path, dict[str, int]],
) -> None:
    path, _ = sealed_db
    seal(path)
    store = open_store(path, read_only=True)
    try:
        assert list(problems(store)) == []
        assert store.db.storage.file_problems() == []
        assert store.db.storage.sealed_outside()[0]
        assert list(problems(store, everything=True)) == []
        # Even --all reads sealed history a segment at a time, never in whole.
        assert store.db.storage.sealed_outside()[0]
    finally:
        store.close()


def test_a_save_and_a_later_seal_read_no_sealed_history(
    sealed_db: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, ids = sealed_db
    control = twin(path, tmp_path)
    assert seal(path, until="2026-10")  # September
    for db in (path, control):
        store = open_store(db, actor=Actor("nurse"), clock=lambda: FIXED_NOW)
        try:
            store.stays.extend(ids["open"], "3", "复检结果未出")
        finally:
            store.close()
    store = open_store(path, actor=Actor("sealer"), clock=lambda: FIXED_NOW)
    try:
        storage = store.db.storage
        store.stays.extend(ids["open"], "2", "再次复检")
        # A save to a live record, then October sealed: September stays on disk.
        assert seal_history(storage, "2026-11", MARKS)
        assert storage.sealed_outside()[0]
        assert set(storage.live_tables()[STAYS]) == {str(ids["open"])}
    finally:
        store.close()
    store = open_store(control, actor=Actor("sealer"), clock=lambda: FIXED_NOW)
    try:
        store.stays.extend(ids["open"], "2", "再次复检")
    finally:
        store.close()
    assert len(segment_files(path)) == 2
    assert counted(path)[0] == counted(control)[0]
    assert everything(path) == everything(control)


@pytest.mark.slow
def test_seal_on_postgresql_says_there_is_nothing_to_seal(pg_url: str, cli: CliRunner) -> None:
    assert cli("--lang", "en", "demo", "--db", pg_url).returncode == 0
    result = cli("--lang", "en", "seal", "--db", pg_url, "--until", "2030-01")
    assert result.returncode == 0, result.stderr
    assert "nothing to seal" in result.stdout
    assert cli("check", "--db", pg_url).returncode == 0


def test_an_incident_handled_after_its_persons_month_was_sealed_is_sealed_with_its_own(
    store: Store, db_path: Path, cli: CliRunner, tmp_path: Path
) -> None:
    """A person released in September, sealed with September; the incident about
    them handled in October: sealed with October then, not kept live for ever."""
    ids = history(store)
    incident = store.incidents.open(
        {
            "point": "DD01",
            "kind": "other",
            "severity": "1",
            "summary": "遗留物品",
            "occurred_at": "2026-09-08 10:00",
        },
        stays=[ids["september"]],
    )
    store.incidents.close(incident, "已归还", "2026-10-20 10:00")
    store.close()
    control = twin(db_path, tmp_path)
    assert [name[:7] for name, _ in seal(db_path, "2026-10")] == ["2026-09"]
    assert str(incident) in snapshot_tables(db_path)[INCIDENTS]  # October: not yet due

    made = seal(db_path, "2026-11")

    assert [name[:7] for name, _ in made] == ["2026-10"]
    assert str(incident) not in snapshot_tables(db_path)[INCIDENTS]
    storage = JournalStorage(db_path, read_only=True)
    try:
        october = next(s for s in storage.sealed_segments() if s.header["month"] == "2026-10")
        assert str(incident) in (october.body or {})[INCIDENTS]
    finally:
        storage.close()
    # The same records, the same figures, and every check (the counters of each
    # sealed month against its records too) passes.
    assert everything(db_path) == everything(control)
    assert counted(db_path)[0] == counted(control)[0]
    for args in (["check"], ["check", "--all"]):
        result = cli(*args)
        assert result.returncode == 0, result.stdout + result.stderr
    assert seal(db_path, "2026-11") == []
