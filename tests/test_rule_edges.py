"""Rules at their exact edge, through the store and through a real ``import``:
the sex a resident ID implies, and how early a sample may be taken."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.domain.errors import FieldError, ValidationFailed
from isolation_tui.domain.idnumber import make_resident_id, sex_of
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import STAYS

# The 17th digit is odd for a man, even for a woman.
WOMAN = make_resident_id("210602", date(1990, 1, 1), 124)
MAN = make_resident_id("210602", date(1990, 1, 1), 123)


def test_the_ids_are_what_the_tests_need() -> None:
    assert (sex_of(WOMAN), sex_of(MAN)) == ("female", "male")


@pytest.fixture
def point(store: Store) -> Store:
    rooms = [{"code": f"30{i}", "floor": "3", "beds": 1, "blocked": False} for i in range(1, 6)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    return store


def arrival(number: str, sex: str = "") -> dict[str, str]:
    return {
        "point": "DD01",
        "name": "张三",
        "sex": sex,
        "id_type": "resident_id",
        "id_number": number,
        "category": "inbound",
        "arrived_at": "2026-11-20 10:00",
    }


@pytest.mark.parametrize(
    ("number", "sex"), [(WOMAN, "male"), (WOMAN, "男"), (MAN, "female"), (MAN, "女")]
)
def test_a_sex_against_the_resident_id_is_refused(point: Store, number: str, sex: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        point.stays.register(arrival(number, sex))
    assert [(e.field, e.key) for e in caught.value.errors] == [("sex", "error.sex_mismatch")]
    assert point.rows(STAYS) == {}


@pytest.mark.parametrize(("number", "sex"), [(WOMAN, "female"), (MAN, "男"), (WOMAN, "")])
def test_a_sex_that_agrees_or_is_left_out_is_taken(point: Store, number: str, sex: str) -> None:
    stay_id = point.stays.register(arrival(number, sex))
    stay = point.get(STAYS, stay_id)
    assert stay is not None and stay["person"]["sex"] == sex_of(number)


def write_csv(path: Path, header: tuple[str, ...], *rows: tuple[str, ...]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_an_import_with_a_sex_against_the_id_stores_nothing(
    point: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    point.close()
    header = ("point", "name", "sex", "id_number", "category", "arrived_at")
    file = write_csv(
        tmp_path / "bus.csv",
        header,
        ("DD01", "王五", "男", MAN, "inbound", "2026-11-20 10:00"),
        ("DD01", "李四", "男", WOMAN, "inbound", "2026-11-20 10:00"),
    )
    journal = db_path.with_name(db_path.name + "-journal")
    before = journal.read_bytes()
    result = cli("import", "arrivals", str(file))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{file}:3: sex: does not agree with the resident ID" in result.stderr
    assert ":2:" not in result.stderr
    assert journal.read_bytes() == before


# ---------------------------------------------------------------- samples


def day_four(point: Store) -> tuple[int, int]:
    """(stay, its day-4 test planned for 2026-11-23)."""
    stay_id = point.stays.register({**arrival("P1"), "id_type": "passport", "id_number": "P1"})
    test_id, test = point.health.tests_of(stay_id)[1]
    assert (test["planned_day"], test["planned_date"]) == (4, "2026-11-23")
    return stay_id, test_id


def test_a_sample_two_days_early_is_refused(point: Store) -> None:
    stay_id, test_id = day_four(point)
    for taken in ("2026-11-21 23:59", "2026-11-21 00:00", "2026-11-20 12:00"):
        with pytest.raises(FieldError) as caught:
            point.health.record_result(test_id, "negative", taken)
        assert caught.value.field == "taken_at"
        assert "day 4, planned 2026-11-23" in caught.value.message
    assert point.health.tests_of(stay_id)[1][1]["result"] == "pending"


@pytest.mark.parametrize("taken", ["2026-11-22 00:00", "2026-11-23 08:00", "2026-11-25 08:00"])
def test_a_sample_from_the_day_before_on_is_taken(point: Store, taken: str) -> None:
    stay_id, test_id = day_four(point)
    point.health.record_result(test_id, "negative", taken)
    assert point.health.tests_of(stay_id)[1][1]["taken_at"] == taken


def test_an_import_of_a_sample_two_days_early_stores_nothing(
    point: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    day_four(point)
    point.close()
    header = ("id_type", "id_number", "planned_day", "taken_at", "result")
    journal = db_path.with_name(db_path.name + "-journal")
    before = journal.read_bytes()
    early = write_csv(
        tmp_path / "early.csv", header, ("passport", "P1", "4", "2026-11-21 09:00", "阴性")
    )
    result = cli("import", "tests", str(early))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{early}:2: taken_at:" in result.stderr
    assert "day 4, planned 2026-11-23" in result.stderr
    assert journal.read_bytes() == before

    in_time = write_csv(
        tmp_path / "in_time.csv", header, ("passport", "P1", "4", "2026-11-22 09:00", "阴性")
    )
    result = cli("import", "tests", str(in_time))
    assert result.returncode == 0, result.stderr
    store = open_store(db_path, read_only=True)
    try:
        stay_id = store.open_stay_of("passport", "P1")
        assert stay_id is not None
        assert store.health.tests_of(stay_id)[1][1]["result"] == "negative"
    finally:
        store.close()
