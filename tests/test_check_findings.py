"""``isolation-tui check`` finds every kind of damage it names, in a real process.

A clean database is built through the rules; each test then damages one record
through the bare TinyDB tables (no rules, no audit), as a bug, a script or an
editor could, and runs ``check`` on it: exit 1, and a line naming the record and
the field.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner

from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.database import Database
from isolation_tui.storage.paths import database_files
from isolation_tui.storage.repository import open_store

RESIDENT = make_resident_id("210602", date(1990, 1, 1), 123)

# Stays 1-3 are open (rooms 301, 302, 303); stay 4 went to hospital.
OPEN_A, OPEN_B, RESIDENT_STAY, GONE = 1, 2, 3, 4
# Supplies at DD01: 100 suits received (1), 40 sent to DD02 (2, received there as 3),
# 30 issued (4).
SENT, ISSUED = 2, 4


def arrival(number: str, room: str, id_type: str = "passport") -> dict[str, str]:
    return {
        "point": "DD01",
        "room": room,
        "name": f"旅客{number}",
        "id_type": id_type,
        "id_number": number,
        "category": "inbound",
        "arrived_at": "2026-11-20 10:00",
    }


@pytest.fixture(scope="module")
def clean_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clean") / "points.db"
    store = open_store(
        path, create=True, actor=Actor("tester", "local"), clock=lambda: datetime(2026, 11, 29, 9)
    )
    rooms = [
        {"code": "301", "floor": "3", "beds": 1, "blocked": False},
        {"code": "302", "floor": "3", "beds": 1, "blocked": False},
        {"code": "303", "floor": "3", "beds": 2, "blocked": False},
        {"code": "304", "floor": "3", "beds": 1, "blocked": False},
    ]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    store.save_point("DD02", "二号点", [{"code": "101", "floor": "1", "beds": 2}])  # type: ignore[list-item]
    assert store.stays.register(arrival("P1", "301")) == OPEN_A
    assert store.stays.register(arrival("P2", "302")) == OPEN_B
    assert store.stays.register(arrival(RESIDENT, "303", "resident_id")) == RESIDENT_STAY
    assert store.stays.register(arrival("P4", "304")) == GONE
    store.stays.discharge(
        {"stay": str(GONE), "discharged_at": "2026-11-25 10:00", "kind": "hospital"}
    )
    incident = store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-28 08:10",
            "kind": "fever",
            "severity": "3",
            "summary": "38.6",
        },
        stays=[OPEN_A],
    )
    store.incidents.close(incident, "negative retest", "2026-11-28 09:00")
    store.health.record_check(OPEN_A, "2026-11-28", "morning", "365", at="2026-11-28 08:05")
    store.health.record_check(OPEN_A, "2026-11-28", "afternoon", "366", at="2026-11-28 15:05")
    suits = {"point": "DD01", "item": "protective_suit"}
    received = {**suits, "quantity": "100", "at": "2026-11-27 08:00"}
    assert store.supplies.record("delivery", received) == 1
    sent = {**suits, "quantity": "40", "other_point": "DD02", "at": "2026-11-28 08:00"}
    assert store.supplies.record("transfer_out", sent) == SENT
    issued = {**suits, "quantity": "30", "at": "2026-11-28 20:00"}
    assert store.supplies.record("issue", issued) == ISSUED
    store.close()
    return path


@pytest.fixture
def damaged(clean_db: Path, db_path: Path) -> Callable[..., None]:
    """A copy of the clean database at ``db_path``; calling the result changes one
    record of it, bypassing every rule."""
    for source, target in zip(database_files(clean_db), database_files(db_path), strict=True):
        if source.exists():
            shutil.copy2(source, target)

    def damage(table: str, record: int, **changes: Any) -> None:
        db = Database(db_path)
        try:
            rows = db.table(table)
            assert rows.get(doc_id=record) is not None, (table, record)
            rows.update(changes, doc_ids=[record])
        finally:
            db.close()

    return damage


def one_record(db_path: Path, table: str, record: int) -> dict[str, Any]:
    db = Database(db_path, read_only=True)
    try:
        doc = db.table(table).get(doc_id=record)
        assert doc is not None
        return dict(doc)
    finally:
        db.close()


def failing_check(cli: CliRunner) -> str:
    result = cli("check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert "check failed" in result.stderr
    return result.stderr


def test_the_clean_database_passes(damaged: Callable[..., None], cli: CliRunner) -> None:
    result = cli("check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ") and "every rule holds" in result.stdout
    assert result.stderr == ""


def test_a_person_in_isolation_twice(
    damaged: Callable[..., None], db_path: Path, cli: CliRunner
) -> None:
    person = one_record(db_path, "stays", OPEN_B)["person"]
    damaged("stays", OPEN_B, person={**person, "id_number": "P1"})
    assert "person passport P1 is in 2 open stays at once" in failing_check(cli)


def test_a_room_over_its_beds(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("stays", OPEN_B, room="301")
    assert "room 301 of point DD01 holds 2 people but has 1 usable bed(s)" in failing_check(cli)


def test_a_blocked_room_with_someone_in_it(damaged: Callable[..., None], cli: CliRunner) -> None:
    rooms = [
        {"code": "301", "floor": "3", "beds": 1, "blocked": True},
        {"code": "302", "floor": "3", "beds": 1, "blocked": False},
        {"code": "303", "floor": "3", "beds": 2, "blocked": False},
        {"code": "304", "floor": "3", "beds": 1, "blocked": False},
    ]
    damaged("points", 1, rooms=rooms)
    assert "room 301 of point DD01 holds 1 people but has 0 usable bed(s)" in failing_check(cli)


def test_a_room_that_does_not_exist(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("stays", OPEN_B, room="999")
    out = failing_check(cli)
    assert "people are placed in room 999 of point DD01, which does not exist" in out


def test_a_record_without_its_audit(
    damaged: Callable[..., None], db_path: Path, cli: CliRunner
) -> None:
    db = Database(db_path)
    try:
        new = db.table("incidents").insert(one_record(db_path, "incidents", 1))
    finally:
        db.close()
    assert f"incident record {new} has no audit entry for its creation" in failing_check(cli)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"point": "XX"}, "stay 2: Point “XX” breaks the rules"),
        ({"release_due": "2026-12-25"}, "stay 2: Release due “2026-12-25” breaks the rules"),
        ({"status": "gone"}, "stay 2: Status “gone” breaks the rules"),
        ({"discharge": 4}, "stay 2: Status “open” breaks the rules"),
        ({"status": "discharged", "discharge": None}, "stay 2: Discharge “None” breaks the rules"),
    ],
    ids=["point", "release_due", "status", "open-with-discharge", "discharged-without"],
)
def test_a_stay_field_broken(
    damaged: Callable[..., None], cli: CliRunner, changes: dict[str, Any], message: str
) -> None:
    damaged("stays", OPEN_B, **changes)
    assert message in failing_check(cli)


def test_a_resident_id_that_fails_its_check_digit(
    damaged: Callable[..., None], db_path: Path, cli: CliRunner
) -> None:
    person = one_record(db_path, "stays", RESIDENT_STAY)["person"]
    wrong = RESIDENT[:-1] + ("0" if RESIDENT[-1] != "0" else "1")
    damaged("stays", RESIDENT_STAY, person={**person, "id_number": wrong})
    assert f"stay 3: ID number “{wrong}” breaks the rules" in failing_check(cli)


def test_an_orphan_discharge(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("discharges", 1, stay=OPEN_B)
    assert f"discharge 1 does not match an open-then-discharged stay {OPEN_B}" in failing_check(cli)


def test_a_discharge_before_its_arrival(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("discharges", 1, at="2026-11-19 10:00")
    assert "discharge 1 is before its arrival" in failing_check(cli)


def test_a_discharge_at_another_point(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("discharges", 1, point="DD02")
    out = failing_check(cli)
    assert "discharge 1 is at point DD02, its stay at DD01" in out


def test_an_incident_handled_without_a_resolution(
    damaged: Callable[..., None], cli: CliRunner
) -> None:
    damaged("incidents", 1, resolution="")
    assert "incident 1 is handled without a resolution" in failing_check(cli)


def test_counters_that_disagree(damaged: Callable[..., None], cli: CliRunner) -> None:
    # A discharge of a kind no counter knows: the stay left, but no exit counts it.
    damaged("discharges", 1, kind="teleported")
    out = failing_check(cli)
    assert "received 4 ≠ in isolation 3 + discharged 0" in out
    assert "point DD01: received 4 ≠ in isolation 3 + discharged 0" in out


def test_a_round_entered_twice(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("checks", 2, round="morning")
    assert "person 1 has 2 checks in the morning round of 2026-11-28" in failing_check(cli)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"day": "2026-11-19"},
            "check 1 of person 1: the morning round of 2026-11-19 is outside the stay"
            " (2026-11-20 10:00 to -)",
        ),
        ({"stay": 99}, "check record 1: Person “99” breaks the rules"),
        ({"temperature": 47.5}, "check record 1: Temperature “47.5” breaks the rules"),
    ],
    ids=["before-arrival", "no-such-stay", "temperature"],
)
def test_a_check_field_broken(
    damaged: Callable[..., None], cli: CliRunner, changes: dict[str, Any], message: str
) -> None:
    damaged("checks", 1, **changes)
    assert message in failing_check(cli)


def test_a_test_of_no_stay(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("tests", 1, stay=99)
    assert "test record 1: Person “99” breaks the rules" in failing_check(cli)


def test_a_plan_that_misses_the_last_day(
    damaged: Callable[..., None], db_path: Path, cli: CliRunner
) -> None:
    db = Database(db_path, read_only=True)
    try:
        last = max(
            (t for t in db.table("tests").all() if t["stay"] == OPEN_B),
            key=lambda t: t["planned_day"],
        )
    finally:
        db.close()
    damaged("tests", last.doc_id, planned_day=13)
    assert "stay record 2: Planned tests “13” breaks the rules" in failing_check(cli)


def test_a_release_home_without_a_negative_last_test(
    damaged: Callable[..., None], cli: CliRunner
) -> None:
    damaged("discharges", 1, kind="released_home")
    assert f"person {GONE} went home without a negative last test" in failing_check(cli)


def test_a_damaged_file_is_named(clean_db: Path, db_path: Path, cli: CliRunner) -> None:
    shutil.copy2(clean_db, db_path)
    journal = database_files(clean_db)[1]
    raw = bytearray(journal.read_bytes())
    raw[-10] ^= 0x01
    database_files(db_path)[1].write_bytes(bytes(raw))
    result = cli("check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(database_files(db_path)[1]) in result.stderr


def test_stock_below_zero(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("supplies", ISSUED, quantity=70)
    found = failing_check(cli)
    assert "stock of protective suits at DD01 is -10 at 2026-11-28 20:00" in found


def test_a_transfer_whose_sides_disagree(damaged: Callable[..., None], cli: CliRunner) -> None:
    damaged("supplies", SENT + 1, quantity=400)
    assert "transfer 3 does not match its other side 2" in failing_check(cli)


def test_every_finding_is_said_in_chinese(
    damaged: Callable[..., None], db_path: Path, cli: CliRunner
) -> None:
    """Field names, tables, rounds and ID types come from the catalogue: a Chinese
    supervisor reads no English word in what ``check`` found."""
    person = one_record(db_path, "stays", OPEN_B)["person"]
    damaged("stays", OPEN_B, person={**person, "id_number": "P1"})
    damaged("stays", OPEN_A, release_due="2026-12-31")
    damaged("checks", 2, round="morning")
    damaged("checks", 1, temperature=47.5)
    damaged("tests", 1, stay=99)
    damaged("discharges", 1, kind="released_home")
    result = cli("check", "--lang", "zh")
    assert result.returncode == 1, result.stdout + result.stderr
    *found, summary = result.stderr.splitlines()
    assert "检查未通过" in summary and len(found) >= 6, found
    for line in found:
        said = line.removeprefix("isolation-tui: ")
        assert not re.search(r"[a-z_]{2,}", said), line
