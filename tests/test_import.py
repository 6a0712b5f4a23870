"""``import``: real CSV files in the encodings and shapes spreadsheets produce.

The promise under test: every row is checked, and either all of them are stored
or (on any problem) none, with each problem named as ``FILE:ROW: field: message``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from isolation_tui.domain.counters import ALL
from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.headless.imports import COLUMNS, command, decode, run_import, split_rows
from isolation_tui.headless.imports.reading import ImportFileError
from isolation_tui.storage import engine
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, POINTS, STAYS, TESTS

CliRunner = Callable[..., subprocess.CompletedProcess[str]]

ARRIVED = "2022-03-25 14:05"
ARRIVAL_HEADER = (
    "point",
    "room",
    "name",
    "sex",
    "birth_date",
    "id_type",
    "id_number",
    "nationality",
    "phone",
    "origin",
    "transport",
    "category",
    "arrived_at",
    "quarantine_days",
    "notes",
)
ARRIVAL_HEADER_ZH = (
    "隔离点",
    "房间",
    "姓名",
    "性别",
    "出生日期",
    "证件类型",
    "证件号码",
    "国籍",
    "联系电话",
    "出发地",
    "航班号",
    "人员类别",
    "入住时间",
    "隔离天数",
    "备注",
)
DISCHARGE_HEADER = ("id_type", "id_number", "discharged_at", "kind", "destination", "notes")
DISCHARGE_HEADER_ZH = ("证件类型", "证件号码", "解除时间", "去向类型", "目的地", "备注")
INCIDENT_HEADER = (
    "point",
    "occurred_at",
    "kind",
    "severity",
    "summary",
    "status",
    "handled_at",
    "resolution",
)
INCIDENT_HEADER_ZH = (
    "隔离点",
    "发生时间",
    "事件类型",
    "严重程度",
    "事件概要",
    "状态",
    "处置时间",
    "处置结果",
)
ROOM_HEADER = ("point", "point_name", "room", "floor", "beds", "blocked")
ROOM_HEADER_ZH = ("隔离点", "隔离点名称", "房间号", "楼层", "床位数", "停用")


def resident_id(n: int, *, female: bool = False) -> str:
    """A valid resident ID, different for every ``n``; its sex digit as asked."""
    born = date(1960, 1, 1) + timedelta(days=n)
    sequence = (n * 2) % 1000 + (0 if female else 1)
    return make_resident_id("210602", born, sequence)


def bad_check_digit(n: int) -> str:
    good = resident_id(n)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def person_row(n: int, *, point: str = "P1", room: str = "", when: str = ARRIVED) -> list[str]:
    """An arrivals row (ARRIVAL_HEADER order) for person ``n``."""
    return [
        point,
        room,
        f"测试{n}",
        "",
        "",
        "resident_id",
        resident_id(n),
        "CN",
        "13800138000",
        "首尔",
        "OZ303",
        "inbound",
        when,
        "",
        "",
    ]


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[str]], encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[str]], encoding: str = "utf-8"
) -> Path:
    path.write_bytes(csv_bytes(header, rows, encoding))
    return path


def setup_points(store: Store) -> None:
    """P1: 101 (2 beds), 102 (blocked), 103 (1 bed), 201–220 (4 beds); P2: 2 rooms."""
    rooms = [
        {"code": "101", "floor": "1", "beds": 2, "blocked": False},
        {"code": "102", "floor": "1", "beds": 2, "blocked": True},
        {"code": "103", "floor": "1", "beds": 1, "blocked": False},
    ]
    rooms += [
        {"code": str(200 + i), "floor": "2", "beds": 4, "blocked": False} for i in range(1, 21)
    ]
    store.save_point("P1", "滨海酒店", rooms)  # type: ignore[arg-type]
    store.save_point(
        "P2",
        "Border Inn",
        [{"code": "A1", "floor": "1", "beds": 2, "blocked": False}],  # type: ignore[list-item]
    )


@pytest.fixture
def points(store: Store) -> Store:
    setup_points(store)
    return store


def negative_tests(store: Store, stay_id: int) -> None:
    """Every planned test of the stay taken on its planned date and negative, as a
    release home needs (the day-1 sample after the 14:05 arrival)."""
    for test_id, test in store.health.tests_of(stay_id):
        store.health.record_result(test_id, "negative", test["planned_date"] + " 16:00")


@pytest.fixture
def with_people(points: Store) -> Store:
    """Two people in isolation at P1 (persons 900 and 901), arrived 2022-03-25 14:05,
    all their tests (days 1, 4, 7 and 14) negative: free to go home on 2022-04-08."""
    for n in (900, 901):
        fields = dict(zip(ARRIVAL_HEADER, person_row(n), strict=True))
        negative_tests(points, points.stays.register(fields))
    return points


def db_files(db_path: Path) -> dict[str, bytes]:
    """Every file of the database, to prove a failed import changed nothing at all."""
    return {
        p.name: p.read_bytes()
        for p in sorted(db_path.parent.iterdir())
        if p.name.startswith(db_path.name) and not p.name.endswith("-lock")
    }


def state(db_path: Path) -> tuple[dict[str, bytes], dict[str, Any], dict[str, int]]:
    store = open_store(db_path, read_only=True)
    try:
        counters = store.counters()[ALL].as_dict()
        tables = (POINTS, STAYS, DISCHARGES, INCIDENTS, CHECKS, TESTS, AUDIT)
        sizes = {name: len(store.rows(name)) for name in tables}
    finally:
        store.close()
    return db_files(db_path), counters, sizes


@pytest.fixture
def unchanged(db_path: Path) -> Iterator[None]:
    """Asserts, after the test, that the database is byte-for-byte as before it."""
    before = state(db_path)
    yield
    assert state(db_path) == before


def run(
    kind: str, file: Path, db_path: Path, capsys: pytest.CaptureFixture[str], **kw: Any
) -> tuple[int, str, str]:
    code = run_import(kind, file, db_path, **kw)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------- good files


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_arrivals_in_every_encoding_and_header_language(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner, encoding: str, lang: str
) -> None:
    header = ARRIVAL_HEADER if lang == "en" else ARRIVAL_HEADER_ZH
    rows = [person_row(1, room="101"), person_row(2, when="2022/3/25 14:05")]
    rows[1][11] = "境外输入"  # category in Chinese
    rows[1][5] = "身份证"
    file = write_csv(tmp_path / f"到达-{encoding}.csv", header, rows, encoding)

    result = cli("import", "arrivals", str(file))

    assert result.returncode == 0, result.stderr
    assert "imported 2 arrivals" in result.stdout
    assert "stay ids 1–2" in result.stdout
    points.refresh()
    stays = points.rows(STAYS)
    assert [s["person"]["name"] for s in stays.values()] == ["测试1", "测试2"]
    assert [s["arrived_at"] for s in stays.values()] == [ARRIVED, ARRIVED]
    assert stays["1"]["room"] == "101"
    assert stays["2"]["room"]  # a free bed was chosen
    assert stays["2"]["category"] == "inbound"
    assert stays["1"]["origin"] == "首尔"
    assert stays["1"]["release_due"] == "2022-04-08"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_discharges_in_every_encoding_and_header_language(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
    lang: str,
) -> None:
    header = DISCHARGE_HEADER if lang == "en" else DISCHARGE_HEADER_ZH
    rows = [
        ["resident_id", resident_id(900), "2022-04-08 09:00", "released_home", "家", ""],
        ["身份证", resident_id(901), "2022/4/2 9:30", "转定点医院", "市传染病医院", "发热"],
    ]
    file = write_csv(tmp_path / "discharges.csv", header, rows, encoding)

    code, out, err = run("discharges", file, db_path, capsys)

    assert code == 0, err
    assert "imported 2 discharges" in out
    with_people.refresh()
    kinds = [d["kind"] for d in with_people.rows(DISCHARGES).values()]
    assert kinds == ["released_home", "hospital"]
    counters = with_people.counters()[ALL]
    assert (counters.released_home, counters.transferred, counters.in_isolation) == (1, 1, 0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_incidents_in_every_encoding_and_header_language(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
    lang: str,
) -> None:
    header = INCIDENT_HEADER if lang == "en" else INCIDENT_HEADER_ZH
    rows = [
        ["P1", "2022-03-26 02:10", "fever", "2", "305 房发热 38.5℃", "open", "", ""],
        [
            "P2",
            "2022/3/27 8:00",
            "阳性",
            "高",
            "核酸阳性",
            "已处置",
            "2022/3/27 9:15",
            "转运定点医院",
        ],
    ]
    file = write_csv(tmp_path / "incidents.csv", header, rows, encoding)

    code, out, err = run("incidents", file, db_path, capsys)

    assert code == 0, err
    assert "imported 2 incidents" in out
    points.refresh()
    incidents = list(points.rows(INCIDENTS).values())
    assert [(i["kind"], i["severity"], i["status"]) for i in incidents] == [
        ("fever", 2, "open"),
        ("positive_test", 3, "handled"),
    ]
    assert incidents[1]["handled_at"] == "2022-03-27 09:15"
    counters = points.counters()[ALL]
    assert (counters.incidents_open, counters.incidents_handled) == (1, 1)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rooms_create_a_point_in_a_new_database(
    db_path: Path, tmp_path: Path, cli: CliRunner, encoding: str, lang: str
) -> None:
    header = ROOM_HEADER if lang == "en" else ROOM_HEADER_ZH
    rows = [
        ["DD01", "丹东边境1号点", "101", "1", "2", ""],
        ["DD01", "丹东边境1号点", "102", "1", "1", "是"],
        ["DD02", "振兴区2号点", "A01", "1", "3", "no"],
    ]
    file = write_csv(tmp_path / "rooms.csv", header, rows, encoding)

    result = cli("import", "rooms", str(file))

    assert result.returncode == 0, result.stderr
    assert "saved 3 rooms of 2 point(s)" in result.stdout
    store = open_store(db_path, read_only=True)
    point = store.point("DD01")
    assert point is not None
    assert point["name"] == "丹东边境1号点"
    assert point["rooms"] == [
        {"code": "101", "floor": "1", "beds": 2, "blocked": False},
        {"code": "102", "floor": "1", "beds": 1, "blocked": True},
    ]
    assert store.counters()[ALL].beds == 5
    assert (db_path.stat().st_mode & 0o777) == 0o600


def test_rooms_update_an_existing_point(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [["P1", "滨海酒店(新)", "101", "1", "3", ""], ["P1", "", "301", "3", "2", ""]]
    file = write_csv(tmp_path / "rooms.csv", ROOM_HEADER, rows)

    code, _out, err = run("rooms", file, db_path, capsys)

    assert code == 0, err
    points.refresh()
    point = points.point("P1")
    assert point is not None
    assert point["name"] == "滨海酒店(新)"
    codes = {room["code"]: room["beds"] for room in point["rooms"]}
    assert codes["101"] == 3 and codes["301"] == 2 and codes["205"] == 4


def test_later_rows_see_earlier_ones_and_empty_rows_are_skipped(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [person_row(1, room="103"), [""] * 15, [], person_row(2)]
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, rows)

    code, _out, err = run("arrivals", file, db_path, capsys)

    assert code == 0, err
    points.refresh()
    assert points.beds_taken("P1", "103") == 1
    assert points.rows(STAYS)["2"]["room"] != "103"


def test_header_matching_ignores_case_spaces_and_bom(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["\ufeff Point ", "NAME", " ID_Number", "Category ", "arrived at"]
    text = ",".join(header) + f"\r\nP1,Ann,{resident_id(3)},close_contact,{ARRIVED}\r\n"
    file = tmp_path / "a.csv"
    file.write_bytes(b"\xef\xbb\xbf" + text.encode())

    code, _out, err = run("arrivals", file, db_path, capsys)

    assert code == 0, err
    points.refresh()
    assert points.rows(STAYS)["1"]["category"] == "close_contact"
    assert points.rows(STAYS)["1"]["quarantine_days"] == 14


def test_point_may_be_given_by_its_name(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = person_row(4, point="滨海酒店")
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [row]), db_path, capsys
    )
    assert code == 0, err
    points.refresh()
    assert points.rows(STAYS)["1"]["point"] == "P1"


def test_utf16_and_tab_separated_text_from_a_spreadsheet(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "隔离点\t姓名\t证件号码\t人员类别\t到达时间\n"
    text += f"P1\t李四\t{resident_id(5)}\t密接\t{ARRIVED}\n"
    file = tmp_path / "unicode.txt"
    file.write_bytes(text.encode("utf-16"))

    code, _, err = run("arrivals", file, db_path, capsys)

    assert code == 0, err
    points.refresh()
    assert points.rows(STAYS)["1"]["person"]["name"] == "李四"


def test_full_width_digits_are_the_same_person(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    wide = resident_id(900).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    row = person_row(0)
    row[6] = wide
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [row]), db_path, capsys
    )
    assert code == 1
    assert "a.csv:2: id_number: this person is already in isolation" in err


# ---------------------------------------------------------------------- bad rows


def test_one_bad_row_among_good_ones_changes_nothing(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    bad = person_row(2)
    bad[6] = bad_check_digit(2)
    rows = [person_row(1), bad, person_row(3)]
    file = write_csv(tmp_path / "bus.csv", ARRIVAL_HEADER, rows)
    before = state(db_path)
    stats_before = cli("stats", "--json").stdout

    result = cli("import", "arrivals", str(file))

    assert result.returncode == 1
    assert f"{file}:3: id_number: the check digit" in result.stderr
    assert "nothing was imported" in result.stderr
    assert result.stdout == ""
    assert state(db_path) == before
    assert cli("stats", "--json").stdout == stats_before


def arrival(n: int, **changes: str) -> list[str]:
    row = dict(zip(ARRIVAL_HEADER, person_row(n), strict=True))
    row.update(changes)
    return list(row.values())


ARRIVAL_CASES = {
    "bad check digit": (arrival(10, id_number=bad_check_digit(10)), "id_number", "check digit"),
    "birth date disagrees": (arrival(11, birth_date="1990-01-01"), "birth_date", "does not agree"),
    "blocked room": (arrival(12, room="102"), "room", "room 102 is blocked"),
    "unknown room": (arrival(13, room="999"), "room", "no room 999"),
    "unknown point": (arrival(14, point="ZZ"), "point", "no point with code “ZZ”"),
    "unknown category": (arrival(15, category="tourist"), "category", "“tourist” is not one of"),
    "unknown id type": (arrival(16, id_type="visa"), "id_type", "“visa” is not one of"),
    "future time": (arrival(17, arrived_at="2099-01-01 10:00"), "arrived_at", "in the future"),
    "unreadable time": (arrival(18, arrived_at="25.3.2022"), "arrived_at", "is not a time"),
    "bad phone": (arrival(19, phone="call me"), "phone", "not a phone number"),
    "quarantine days": (
        arrival(20, quarantine_days="two weeks"),
        "quarantine_days",
        "whole number",
    ),
    "missing name": (arrival(21, name=""), "name", "is required"),
    "markup name is fine, bad sex": (arrival(22, name="[red]x[/]", sex="?"), "sex", "“?”"),
    "born in 1850": (
        arrival(23, id_number=make_resident_id("210602", date(1850, 3, 1), 11)),
        "id_number",
        "before 1900",
    ),
}


@pytest.mark.parametrize("case", list(ARRIVAL_CASES))
def test_bad_arrival_rows(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
    case: str,
) -> None:
    bad, field, message = ARRIVAL_CASES[case]
    file = write_csv(tmp_path / "bad.csv", ARRIVAL_HEADER, [person_row(1), bad, person_row(2)])

    code, out, err = run("arrivals", file, db_path, capsys)

    assert code == 1
    assert f"{file}:3: {field}: " in err
    assert message in err
    assert out == ""


def test_room_full_counts_rows_earlier_in_the_file(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    rows = [person_row(1, room="103"), person_row(2, room="101"), person_row(3, room="103")]
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "f.csv", ARRIVAL_HEADER, rows), db_path, capsys
    )
    assert code == 1
    assert "f.csv:4: room: room 103 is full (1 bed(s))" in err


def test_same_person_twice_in_one_file(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    rows = [person_row(1), person_row(2), person_row(1)]
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "f.csv", ARRIVAL_HEADER, rows), db_path, capsys
    )
    assert code == 1
    assert "f.csv:4: id_number: this person is already on line 2 of this file" in err


def test_look_alike_id_numbers_in_one_file_are_one_person(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    """The same passport with a Cyrillic М, a zero-width space, a soft hyphen."""
    numbers = ["M58934468", "М58934468", "M5893\u200b4468", "M58934468\u00ad"]
    rows = [arrival(n, id_type="passport", id_number=x) for n, x in enumerate(numbers, 1)]
    file = write_csv(tmp_path / "p.csv", ARRIVAL_HEADER, rows)
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 1
    assert "p.csv:3: id_number: contains “М” (CYRILLIC CAPITAL LETTER EM, U+041C)" in err
    assert "p.csv:4: id_number: this person is already on line 2 of this file" in err
    assert "p.csv:5: id_number: this person is already on line 2 of this file" in err


def test_person_already_in_isolation(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    code, _, err = run(
        "arrivals",
        write_csv(tmp_path / "f.csv", ARRIVAL_HEADER, [person_row(901)]),
        db_path,
        capsys,
    )
    assert code == 1
    assert "f.csv:2: id_number: this person is already in isolation (stay 2 at P1)" in err


def test_every_problem_is_listed_with_chinese_header_names(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    rows = [arrival(1, room="102"), person_row(2), arrival(3, category="游客", point="ZZ")]
    file = write_csv(tmp_path / "到达.csv", ARRIVAL_HEADER_ZH, rows, "gb18030")

    code, _, err = run("arrivals", file, db_path, capsys)

    assert code == 1
    lines = err.strip().splitlines()
    assert f"{file}:2: 房间 (room): room 102 is blocked" in lines
    assert any(line.startswith(f"{file}:4: 隔离点 (point): ") for line in lines)
    assert any(line.startswith(f"{file}:4: 人员类别 (category): ") for line in lines)
    assert lines[-1] == f"3 problem(s) in {file}; nothing was imported"


def discharge(n: int, **changes: str) -> list[str]:
    row = dict(
        zip(
            DISCHARGE_HEADER,
            ["resident_id", resident_id(n), "2022-04-08 09:00", "released_home", "", ""],
            strict=True,
        )
    )
    row.update(changes)
    return list(row.values())


DISCHARGE_CASES = {
    "before arrival": (discharge(901, discharged_at="2022-03-25 14:00"), "discharged_at", "before"),
    "not in isolation": (discharge(77), "id_number", "no open stay for this person"),
    "unknown kind": (discharge(901, kind="vanished"), "kind", "“vanished” is not one of"),
    "future": (discharge(901, discharged_at="2099-01-01 00:00"), "discharged_at", "future"),
    "twice in file": (discharge(900), "id_number", "already on line 2 of this file"),
}


@pytest.mark.parametrize("case", list(DISCHARGE_CASES))
def test_bad_discharge_rows(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
    case: str,
) -> None:
    bad, field, message = DISCHARGE_CASES[case]
    rows = [discharge(900), bad]
    file = write_csv(tmp_path / "d.csv", DISCHARGE_HEADER, rows)

    code, _, err = run("discharges", file, db_path, capsys)

    assert code == 1
    assert f"{file}:3: {field}: " in err
    assert message in err


def test_discharge_of_someone_already_discharged(
    with_people: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_csv(tmp_path / "d.csv", DISCHARGE_HEADER, [discharge(900)])
    assert run("discharges", file, db_path, capsys)[0] == 0
    code, _, err = run("discharges", file, db_path, capsys)
    assert code == 1
    assert "d.csv:2: id_number: no open stay for this person" in err


def test_discharge_checks_the_name_when_given(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    header = (*DISCHARGE_HEADER, "姓名")
    file = write_csv(tmp_path / "d.csv", header, [[*discharge(900), "别人"]])
    code, _, err = run("discharges", file, db_path, capsys)
    assert code == 1
    assert "d.csv:2: 姓名 (name): does not match the person with this ID number (测试900)" in err


def incident(**changes: str) -> list[str]:
    row = dict(
        zip(
            INCIDENT_HEADER,
            ["P1", "2022-03-26 02:10", "fever", "2", "发热", "open", "", ""],
            strict=True,
        )
    )
    row.update(changes)
    return list(row.values())


def test_the_same_incidents_file_twice_adds_nothing_the_second_time(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    """An incident is recognised by point, time, kind and summary (whatever its
    status now); one written in another way (2022/3/26 2:10, 发热 as kind) is the
    same one."""
    rows = [
        incident(),
        incident(kind="medical", summary="跌倒", status="handled", handled_at="2022-03-26 03:00"),
        incident(occurred_at="2022-03-26 05:00"),
    ]
    rows[1][7] = "送医"
    file = write_csv(tmp_path / "incidents.csv", INCIDENT_HEADER, rows)
    first = cli("import", "incidents", str(file))
    assert first.returncode == 0, first.stderr
    assert "imported 3 incidents" in first.stdout

    again = [
        incident(occurred_at="2022/3/26 2:10", kind="发热"),
        *rows[1:],
        incident(summary="咳嗽"),
    ]
    second = cli(
        "import", "incidents", str(write_csv(tmp_path / "again.csv", INCIDENT_HEADER, again))
    )

    assert second.returncode == 0, second.stderr
    assert "imported 1 incidents" in second.stdout
    assert "skipped 3 incident(s) already stored" in second.stdout
    points.refresh()
    assert [i["summary"] for i in points.rows(INCIDENTS).values()] == [
        "发热",
        "跌倒",
        "发热",
        "咳嗽",
    ]
    assert cli("import", "incidents", str(file), "--lang", "zh").stdout.count("已跳过 3 ") == 1


INCIDENT_CASES = {
    "handled without resolution": (
        incident(status="handled", handled_at="2022-03-26 03:00"),
        "resolution",
        "only with a resolution",
    ),
    "handled before it happened": (
        incident(status="handled", handled_at="2022-03-26 01:00", resolution="ok"),
        "handled_at",
        "before the incident happened",
    ),
    "unknown point": (incident(point="nowhere"), "point", "no point"),
    "severity out of range": (incident(severity="9"), "severity", "“9” is not one of"),
    "unknown kind": (incident(kind="party"), "kind", "“party” is not one of"),
    "future": (incident(occurred_at="2099-12-31 23:59"), "occurred_at", "future"),
    "no summary": (incident(summary=" "), "summary", "is required"),
    "unknown status": (incident(status="maybe"), "status", "“maybe” is not one of"),
}


@pytest.mark.parametrize("case", list(INCIDENT_CASES))
def test_bad_incident_rows(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
    case: str,
) -> None:
    bad, field, message = INCIDENT_CASES[case]
    file = write_csv(tmp_path / "i.csv", INCIDENT_HEADER, [incident(), bad, incident()])

    code, _, err = run("incidents", file, db_path, capsys)

    assert code == 1
    assert f"{file}:3: {field}: " in err
    assert message in err


ROOM_CASES = {
    "beds not a number": (["P1", "", "401", "4", "two", ""], "beds", "“two” is not a whole number"),
    "beds negative": (["P1", "", "401", "4", "-1", ""], "beds", "“-1” is not a whole number"),
    "beds too many": (["P1", "", "401", "4", "1000", ""], "beds", "outside 0–100"),
    "blocked unreadable": (["P1", "", "401", "4", "2", "perhaps"], "blocked", "yes or no"),
    "no room": (["P1", "", "", "4", "2", ""], "room", "is required"),
    "room twice": (["P1", "", "301", "3", "2", ""], "room", "already on line 2"),
    "code too long": (
        ["P" * 21, "", "1", "1", "1", ""],
        "point",
        "more than the 20 this field holds",
    ),
    "name differs": (
        ["P1", "Other name", "402", "4", "2", ""],
        "point_name",
        "differs from line 2",
    ),
}


@pytest.mark.parametrize("case", list(ROOM_CASES))
def test_bad_room_rows(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
    case: str,
) -> None:
    bad, field, message = ROOM_CASES[case]
    rows = [["P1", "滨海酒店", "301", "3", "2", ""], bad]
    file = write_csv(tmp_path / "r.csv", ROOM_HEADER, rows)

    code, _, err = run("rooms", file, db_path, capsys)

    assert code == 1
    assert f"{file}:3: {field}: " in err
    assert message in err


def test_rooms_cannot_shrink_below_the_people_in_them(
    with_people: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    taken = with_people.rows(STAYS)["1"]["room"]
    rows = [["P1", "", "301", "3", "2", ""], ["P1", "", taken, "1", "0", ""]]
    code, _, err = run("rooms", write_csv(tmp_path / "r.csv", ROOM_HEADER, rows), db_path, capsys)
    assert code == 1
    assert "r.csv:3: beds: room " in err
    assert "it cannot have fewer beds" in err


# ---------------------------------------------------------------------- bad files


def test_unknown_column_is_named(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner, unchanged: None
) -> None:
    file = write_csv(tmp_path / "u.csv", (*ARRIVAL_HEADER, "血型"), [[*person_row(1), "A"]])
    result = cli("import", "arrivals", str(file))
    assert result.returncode == 1
    assert f"{file}:1: 血型: unknown column; the columns are: point, room, name" in result.stderr


def test_missing_required_columns(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_csv(tmp_path / "m.csv", ("point", "name"), [["P1", "x"]])
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 1
    for column in ("id_number", "category", "arrived_at"):
        assert f"m.csv:1: {column}: required column is missing" in err


def test_the_same_column_twice(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = (*ARRIVAL_HEADER[:8], "电话", *ARRIVAL_HEADER[8:])
    file = write_csv(tmp_path / "m.csv", header, [])
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 1
    assert "m.csv:1: phone: column phone appears twice (also as “电话”)" in err


def test_missing_file_and_directory(db_path: Path, tmp_path: Path, cli: CliRunner) -> None:
    result = cli("import", "arrivals", str(tmp_path / "nope.csv"))
    assert result.returncode == 1
    assert "nope.csv: cannot read this file (No such file or directory)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()
    assert run_import("arrivals", tmp_path, db_path) == 1  # a directory


# Root reads every file; without the two capabilities that let it, it is bound by the
# file's mode like anyone else. setpriv is part of util-linux, on every Debian machine.
DROP_READ_ANYTHING = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


def test_unreadable_file(points: Store, db_path: Path, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "secret.csv", ARRIVAL_HEADER, [])
    file.chmod(0)
    prefix = DROP_READ_ANYTHING if os.geteuid() == 0 else []
    command = [sys.executable, "-m", "isolation_tui", "import", "arrivals", str(file)]
    result = subprocess.run(
        [*prefix, *command, "--db", str(db_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "LANG": "C.UTF-8"},
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "cannot read this file" in result.stderr
    assert "Traceback" not in result.stderr


def test_binary_junk_is_refused_clearly(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner, unchanged: None
) -> None:
    file = tmp_path / "photo.csv"
    file.write_bytes(bytes(range(256)) * 8)
    result = cli("import", "arrivals", str(file))
    assert result.returncode == 1
    assert "not a text file in any of the encodings tried (UTF-8, " in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_file_and_header_only(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, err = run("arrivals", empty, db_path, capsys)
    assert code == 1
    assert "empty.csv: no header row" in err

    header_only = write_csv(tmp_path / "header.csv", ARRIVAL_HEADER, [])
    code, out, err = run("arrivals", header_only, db_path, capsys)
    assert code == 0
    assert "no rows to import" in out


def test_ragged_rows(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    text = ",".join(ARRIVAL_HEADER) + "\n"
    text += ",".join(person_row(1)) + ",,\n"  # trailing empty cells: harmless
    text += ",".join(person_row(2)) + ",surprise\n"
    text += "P1,,short\n"
    file = tmp_path / "ragged.csv"
    file.write_text(text, encoding="utf-8")

    code, _, err = run("arrivals", file, db_path, capsys)

    assert code == 1
    assert "ragged.csv:3: this row has 16 cells, more than the 15 columns" in err
    assert "ragged.csv:4: id_number: is required" in err
    assert "ragged.csv:2:" not in err


def test_line_numbers_count_quoted_newlines(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    first = arrival(1, notes="line one\nline two\nline three")
    bad = arrival(2, category="nope")
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "n.csv", ARRIVAL_HEADER, [first, bad]), db_path, capsys
    )
    assert code == 1
    assert "n.csv:5: category: " in err


def test_huge_field_is_an_error_not_a_crash(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    rows = [arrival(1), arrival(2, notes="x" * 300_000)]
    code, _, err = run(
        "arrivals", write_csv(tmp_path / "h.csv", ARRIVAL_HEADER, rows), db_path, capsys
    )
    assert code == 1
    # The field is named, with its limit, not the line refused as CSV.
    assert "h.csv:3: notes: 300000 characters, more than the 500 this field holds" in err


def test_a_cell_as_long_as_its_field_is_stored_whole_and_a_longer_one_refused(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [arrival(1, notes="备" * 500), arrival(2, notes="备" * 501)]
    file = write_csv(tmp_path / "h.csv", ARRIVAL_HEADER, rows)
    before = db_files(db_path)
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 1
    assert "h.csv:3: notes: 501 characters, more than the 500 this field holds" in err
    assert db_files(db_path) == before

    code, _, err = run("arrivals", write_csv(file, ARRIVAL_HEADER, rows[:1]), db_path, capsys)
    assert code == 0, err
    points.refresh()
    assert points.rows(STAYS)["1"]["notes"] == "备" * 500


# What each field holds: what the store keeps of it whole (codes of a point's rooms
# are short; an ID number is at most 40 characters; any other text 500).
FIELD_LIMITS = {("rooms", "point"): 20, ("rooms", "room"): 20, ("rooms", "floor"): 20}
FIELD_LIMITS |= {(kind, "id_number"): 40 for kind in ("arrivals", "discharges", "tests")}
FIELD_LIMITS |= {("staff", "name"): 100, ("staff", "phone"): 30}


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, column.name) for kind in COLUMNS for column in COLUMNS[kind]]
)
def test_every_field_of_every_kind_refuses_a_longer_cell_naming_row_and_field(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    name: str,
) -> None:
    limit = FIELD_LIMITS.get((kind, name), 500)
    header = [column.name for column in COLUMNS[kind]]
    good = dict.fromkeys(header, "")
    rows = [list(good.values()), list({**good, name: "长" * (limit + 1)}.values())]
    file = write_csv(tmp_path / "long.csv", header, rows)
    before = db_files(db_path)
    code, _, err = run(kind, file, db_path, capsys)
    assert code == 1
    assert f"long.csv:3: {name}: {limit + 1} characters, more than the {limit}" in err
    assert db_files(db_path) == before


def test_control_characters_do_not_reach_the_store_or_the_terminal(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [arrival(1, name="Ann\x1b[31m\x07", notes="a\x7fb\x08c")]
    header = (*ARRIVAL_HEADER[:-1], "notes\x1b[2J")
    code, _, err = run("arrivals", write_csv(tmp_path / "c.csv", header, rows), db_path, capsys)
    assert code == 1
    assert "\x1b" not in err
    assert "\\x1b[2J" in err

    code, _, err = run(
        "arrivals", write_csv(tmp_path / "c.csv", ARRIVAL_HEADER, rows), db_path, capsys
    )
    assert code == 0, err
    points.refresh()
    stay = points.rows(STAYS)["1"]
    assert (stay["person"]["name"], stay["notes"]) == ("Ann[31m", "abc")


def test_garbage_never_crashes(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Random cells from a nasty alphabet, in random columns, in every kind: the
    answer is always 0 or 1 with messages, never an exception or a half import."""
    rng = random.Random(20220325)
    alphabet = [
        *"=+-@'\"\t\r\n,;[]/\\ 0123456789Xx²١３",
        "张",
        "😷",
        "\x00",
        "\x1b",
        "\u202e",
        "\ufeff",
        "P1",
        "101",
        "inbound",
        ARRIVED,
        "2022/3/25",
        "now",
        "passport",
        "handled",
        resident_id(1),
        "[red]x[/]",
    ]
    before = state(db_path)[2]
    for attempt in range(300):
        kind = rng.choice(["rooms", "arrivals", "discharges", "incidents"])
        names = [c.name for c in COLUMNS[kind]]
        rng.shuffle(names)
        lines = [",".join(names)]
        for _ in range(rng.randint(0, 4)):
            cells = [
                "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
                for _ in range(rng.randint(0, len(names) + 1))
            ]
            lines.append(",".join(cells))
        raw = "\n".join(lines).encode(rng.choice(["utf-8", "utf-8-sig", "gb18030"]), "replace")
        if attempt % 10 == 0:
            raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        file = tmp_path / "fuzz.csv"
        file.write_bytes(raw)
        code, _, err = run(kind, file, db_path, capsys, dry_run=True)
        assert code in (0, 1)
        assert "could not import this row" not in err, err
    assert state(db_path)[2] == before


def test_nul_bytes_mean_not_a_csv_text_file(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "nul.csv"
    file.write_bytes(csv_bytes(ARRIVAL_HEADER, [arrival(1, notes="a\x00b")]))
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 1
    assert "not a text file" in err


def test_decode_prefers_utf8_then_gb18030() -> None:
    header = "隔离点,姓名,证件号码,人员类别,入住时间\r\n"
    assert decode(header.encode("gb18030"), "f") == header
    # As EUC-KR these bytes are three Korean syllables: too short to tell.
    with pytest.raises(ImportFileError, match="cannot be told for sure"):
        decode("隔离点".encode("gb18030"), "f")
    assert decode("\ufeff隔离点".encode(), "f") == "隔离点"
    assert split_rows('point,"a,b"\n', "rooms").problems[0].field == "a,b"


# ---------------------------------------------------------------------- dry run, summary


def test_dry_run_writes_nothing(
    points: Store, db_path: Path, tmp_path: Path, cli: CliRunner, unchanged: None
) -> None:
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1), person_row(2)])
    result = cli("import", "arrivals", str(file), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run: all 2 arrivals" in result.stdout
    assert "nothing was written" in result.stdout


def test_dry_run_reports_problems_too(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1), arrival(2, point="X")])
    code, _, err = run("arrivals", file, db_path, capsys, dry_run=True)
    assert code == 1
    assert "a.csv:3: point: " in err


def test_a_dry_run_held_open_lets_another_import_commit(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dry run checks against what it read and takes no writer's lock: another
    supervisor's import, run while the dry run is half way, commits at once; the
    dry run writes nothing, before or after it."""
    rehearsed = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1), person_row(2)])
    other = write_csv(tmp_path / "b.csv", ARRIVAL_HEADER, [person_row(3)])
    before = db_files(db_path)
    meanwhile: list[subprocess.CompletedProcess[str]] = []

    @contextlib.contextmanager
    def progress(total: int, file: Path) -> Iterator[Callable[[], None]]:
        def tick() -> None:
            if not meanwhile:
                assert db_files(db_path) == before
                meanwhile.append(cli("import", "arrivals", str(other), timeout=30))

        yield tick

    monkeypatch.setattr(command, "_progress", progress)
    code, out, err = run("arrivals", rehearsed, db_path, capsys, dry_run=True)

    assert code == 0, err
    assert "dry run: all 2 arrivals" in out
    assert meanwhile[0].returncode == 0, meanwhile[0].stderr
    points.refresh()
    assert [s["person"]["name"] for s in points.rows(STAYS).values()] == ["测试3"]


def meanwhile_each_pass(
    monkeypatch: pytest.MonkeyPatch, rows: int, write: Callable[[int], None], passes: int
) -> list[int]:
    """Calls ``write(pass)`` from another process as the first row of each of the
    first ``passes`` passes over the file is checked; returns the rows checked."""
    checked: list[int] = []

    @contextlib.contextmanager
    def progress(total: int, file: Path) -> Iterator[Callable[[], None]]:
        def tick() -> None:
            done = len(checked)
            if done % rows == 0 and done // rows < passes:
                write(done // rows)
            checked.append(done)

        yield tick

    monkeypatch.setattr(command, "_progress", progress)
    return checked


def arrivals_with_others_meanwhile(
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    rows: list[list[str]],
    others: list[list[str]],
) -> tuple[int, str, str, int]:
    """Import ``rows`` (a.csv) while another process imports ``others`` as the first
    row is checked: the exit code, output, errors and how many passes over the file."""
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, rows)
    other = write_csv(tmp_path / "b.csv", ARRIVAL_HEADER, others)

    def write(_: int) -> None:
        result = cli("import", "arrivals", str(other), timeout=30)
        assert result.returncode == 0, result.stderr

    checked = meanwhile_each_pass(monkeypatch, len(rows), write, passes=1)
    code, out, err = run("arrivals", file, tmp_path / "isolation.db", capsys)
    return code, out, err, len(checked) // len(rows)


def test_an_import_is_checked_outside_the_lock_and_stored_after_others_saves(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another session stores an incident while the arrivals are being checked: it
    is not kept waiting, and the arrivals (which do not depend on incidents) are
    stored after it without being checked again, their audit entries numbered after
    its own and each still naming its record."""
    people = [person_row(n) for n in range(1, 4)]
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, people)
    other = write_csv(tmp_path / "i.csv", INCIDENT_HEADER, [incident()])
    audit_before = len(points.rows(AUDIT))

    def write(_: int) -> None:
        result = cli("import", "incidents", str(other), timeout=30)
        assert result.returncode == 0, result.stderr

    checked = meanwhile_each_pass(monkeypatch, len(people), write, passes=1)
    code, out, err = run("arrivals", file, db_path, capsys)

    assert code == 0, err
    assert len(checked) == len(people)  # checked once: nothing it read had changed
    assert "(stay ids 1–3)" in out
    points.refresh()
    assert [s["person"]["name"] for s in points.rows(STAYS).values()] == ["测试1", "测试2", "测试3"]
    audit = points.rows(AUDIT)
    first = audit[str(audit_before + 1)]
    assert (first["table"], first["action"]) == (INCIDENTS, "create")
    for key, entry in list(audit.items())[audit_before + 1 :]:
        record = points.get(entry["table"], entry["record"])
        assert record is not None, key
        assert entry["after"] == record, key
        assert (entry["table"], entry["action"]) in {(STAYS, "create"), (TESTS, "create")}
    assert len(audit) == audit_before + 1 + 3 * 5  # the incident; each stay and 4 tests
    check = cli("check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_person_registered_meanwhile_is_refused_as_if_the_import_came_after(
    points: Store,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another session registers one of the file's people while the file is being
    checked: the import checks again against what is stored now, refuses that row
    as it would have had it been run after, and stores nothing."""
    people = [person_row(n) for n in range(1, 4)]
    code, _, err, passes = arrivals_with_others_meanwhile(
        tmp_path, cli, capsys, monkeypatch, people, [person_row(2)]
    )

    assert code == 1
    assert passes == 2
    assert "a.csv:3: id_number: this person is already in isolation (stay 1 at P1)" in err
    points.refresh()
    assert [s["person"]["name"] for s in points.rows(STAYS).values()] == ["测试2"]


def test_arrivals_stored_meanwhile_in_other_rooms_leave_the_import_checked_once(
    points: Store,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another session registers people at the same point, in rooms the file does
    not use, while the file is checked: that changes nothing the rows decided, so
    the import is stored after them without being checked again, its ids (stays,
    their tests, the audit entries) moved after theirs and every reference right."""
    people = [person_row(n, room=str(200 + n)) for n in range(1, 4)]
    others = [person_row(10, room="210"), person_row(11)]
    code, out, err, passes = arrivals_with_others_meanwhile(
        tmp_path, cli, capsys, monkeypatch, people, others
    )

    assert code == 0, err
    assert passes == 1
    assert "(stay ids 3–5)" in out
    points.refresh()
    stays = points.rows(STAYS)
    placed = {s["person"]["name"]: (key, s["room"]) for key, s in stays.items()}
    assert placed == {
        "测试10": ("1", "210"),
        "测试11": ("2", "103"),
        "测试1": ("3", "201"),
        "测试2": ("4", "202"),
        "测试3": ("5", "203"),
    }
    tests = points.rows(TESTS).values()
    assert sorted(test["stay"] for test in tests) == [n for n in range(1, 6) for _ in range(4)]
    for entry in points.rows(AUDIT).values():
        if entry["table"] in (STAYS, TESTS):
            assert entry["after"] == points.get(entry["table"], entry["record"])
    check = cli("check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_room_taken_meanwhile_that_the_file_gives_someone_checks_the_file_again(
    points: Store,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another session takes the one bed of a room the file gives its second person:
    the import is checked again and refuses that row, as it would run after."""
    people = [person_row(1, room="201"), person_row(2, room="103"), person_row(3)]
    code, _, err, passes = arrivals_with_others_meanwhile(
        tmp_path, cli, capsys, monkeypatch, people, [person_row(10, room="103")]
    )

    assert code == 1
    assert passes == 2
    assert "a.csv:3: room: " in err
    points.refresh()
    assert [s["person"]["name"] for s in points.rows(STAYS).values()] == ["测试10"]


def test_an_import_others_keep_overtaking_is_refused_rather_than_done_inside_the_lock(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """During each of its rehearsals others free a room at the point where the
    file's people take the first free ones (which room each gets may change): after
    its tries the import gives up, storing nothing and saying what to do, instead of
    checking its rows holding everyone else's saves back."""
    for n in range(900, 900 + command.REHEARSALS):
        points.stays.register(dict(zip(ARRIVAL_HEADER, person_row(n), strict=True)))
    people = [person_row(n) for n in range(1, 4)]
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, people)

    def write(attempt: int) -> None:
        going = [discharge(900 + attempt, kind="hospital")]
        other = write_csv(tmp_path / f"d{attempt}.csv", DISCHARGE_HEADER, going)
        result = cli("import", "discharges", str(other), timeout=30)
        assert result.returncode == 0, result.stderr

    checked = meanwhile_each_pass(monkeypatch, len(people), write, passes=command.REHEARSALS)
    code, out, err = run("arrivals", file, db_path, capsys)

    assert code == 1, out
    assert len(checked) == command.REHEARSALS * len(people)
    assert f"{command.REHEARSALS} times in a row; nothing was imported" in err
    assert "Run it again, or when the point is quieter" in err
    points.refresh()
    assert len(points.rows(STAYS)) == command.REHEARSALS
    assert not points.open_stays("P1")
    check = cli("check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("overtaken", [False, True])
def test_an_import_over_the_compaction_line_folds_the_journal_without_losing_others(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    overtaken: bool,
) -> None:
    """An import whose entry takes the journal over the line leaves a new snapshot
    (written before the lock, or beside the others after it when another session
    wrote meanwhile); what others stored is all there, in the files as in memory."""
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", 2048)
    people = [person_row(n) for n in range(1, 6)]
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, people)
    passes = 1 if overtaken else 0
    others = write_csv(tmp_path / "i.csv", INCIDENT_HEADER, [incident()])

    def write(attempt: int) -> None:
        other = write_csv(
            tmp_path / f"o{attempt}.csv", INCIDENT_HEADER, [incident(summary=f"{attempt}")]
        )
        result = cli("import", "incidents", str(other), timeout=30)
        assert result.returncode == 0, result.stderr

    meanwhile_each_pass(monkeypatch, len(people), write, passes=passes)
    code, _, err = run("arrivals", file, db_path, capsys)

    assert code == 0, err
    journal = db_path.with_name(db_path.name + "-journal").read_bytes()
    assert journal.count(b"\n") == 1  # the header alone
    assert cli("import", "incidents", str(others)).returncode == 0
    fresh = open_store(db_path, read_only=True)
    try:
        assert len(fresh.rows(STAYS)) == len(people)
        assert len(fresh.rows(INCIDENTS)) == passes + 1
    finally:
        fresh.close()
    check = cli("check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_dry_run_of_rooms_does_not_create_the_database(
    db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    file = write_csv(tmp_path / "r.csv", ROOM_HEADER, [["N1", "新点", "1", "1", "2", ""]])
    result = cli("import", "rooms", str(file), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert not db_path.exists()


def test_a_refused_rooms_file_leaves_no_new_database(
    db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    rows = [["N1", "新点", "1", "1", "2", ""], ["N1", "新点", "2", "1", "many", ""]]
    file = write_csv(tmp_path / "r.csv", ROOM_HEADER, rows)
    result = cli("import", "rooms", str(file))
    assert result.returncode == 1 and "beds" in result.stderr
    # A lock file alone is no database (it is left for anyone waiting on it).
    left = {p.name for p in tmp_path.iterdir() if p.name.startswith(db_path.name)}
    assert left <= {db_path.name + "-lock"}
    assert cli("stats").returncode == 1


def test_arrivals_need_an_existing_database(db_path: Path, tmp_path: Path, cli: CliRunner) -> None:
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1)])
    result = cli("import", "arrivals", str(file))
    assert result.returncode == 1
    assert "no database here" in result.stderr
    assert not db_path.exists()


def test_summary_in_chinese(points: Store, db_path: Path, tmp_path: Path, cli: CliRunner) -> None:
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1), person_row(2)])
    result = cli("import", "arrivals", str(file), "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "已导入 2 名到达人员" in result.stdout
    assert "1–2" in result.stdout


def test_every_write_is_audited(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit_before = len(points.rows(AUDIT))
    file = write_csv(tmp_path / "a.csv", ARRIVAL_HEADER, [person_row(1), person_row(2)])
    assert run("arrivals", file, db_path, capsys)[0] == 0
    points.refresh()
    new = list(points.rows(AUDIT).values())[audit_before:]
    # Each arrival plans its tests (days 1, 4, 7 and 14), each audited too.
    assert [(a["action"], a["table"], a["record"]) for a in new] == [
        ("create", STAYS, 1),
        *[("create", TESTS, n) for n in (1, 2, 3, 4)],
        ("create", STAYS, 2),
        *[("create", TESTS, n) for n in (5, 6, 7, 8)],
    ]


def test_progress_bar_on_a_terminal(points: Store, db_path: Path, tmp_path: Path) -> None:
    """A big file on a terminal gets a progress bar (on stderr); the import is the same."""
    pty = pytest.importorskip("pty")
    setup = [["P1", "", f"9{n:03d}", "9", "1", ""] for n in range(240)]
    rooms = write_csv(tmp_path / "r.csv", ROOM_HEADER, setup)
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8", "TERM": "xterm"}
    command = [sys.executable, "-m", "isolation_tui", "import"]
    subprocess.run([*command, "rooms", str(rooms)], env=env, check=True, capture_output=True)
    file = write_csv(
        tmp_path / "big.csv", ARRIVAL_HEADER, [person_row(1000 + n) for n in range(240)]
    )
    leader, follower = pty.openpty()
    seen = bytearray()

    def drain() -> None:
        # Read while the child writes: a full pty buffer would block it.
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [*command, "arrivals", str(file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    assert proc.returncode == 0
    assert b"importing big.csv" in seen
    assert b"imported 240 arrivals" in proc.stdout


def test_utf8_with_a_stray_byte_is_not_read_as_gb18030(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    data = csv_bytes(ARRIVAL_HEADER, [person_row(1), person_row(2), person_row(3)])
    lines = data.split(b"\r\n")
    lines[2] = lines[2].replace("测试2".encode(), "测试2".encode()[:-1] + b"\xb2")
    file = tmp_path / "mixed.csv"
    file.write_bytes(b"\r\n".join(lines))

    code, _, err = run("arrivals", file, db_path, capsys)

    assert code == 1
    assert "mixed.csv:3: this line is not valid UTF-8" in err


@pytest.mark.parametrize(
    ("names", "encoding"),
    [
        (["Müller", "Jürgen"], "latin-1"),  # read as GBK: M黮ler
        (["山田太郎", "佐藤花子"], "shift_jis"),  # read as GBK: 嶳揷懢榊
        (["김민준", "이서연"], "euc_kr"),  # every byte pair a common Chinese character
        (["陳大文", "黃小明"], "big5"),
        (["やまだ", "山田"], "euc_jp"),
    ],
)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_file_in_another_encoding_is_refused_not_guessed(
    points: Store,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    names: list[str],
    encoding: str,
    lang: str,
) -> None:
    """Bytes that GB18030 happens to decode are not taken for Chinese: the file is
    refused, naming the encodings tried and how to save it as UTF-8."""
    rows = [arrival(n, name=name, origin="Seoul") for n, name in enumerate(names, 1)]
    file = write_csv(tmp_path / "names.csv", ARRIVAL_HEADER, rows, encoding)
    before = db_files(db_path)

    result = cli("import", "arrivals", str(file), "--lang", lang)

    assert result.returncode == 1, result.stdout
    assert db_files(db_path) == before
    err = result.stderr
    assert err.startswith(str(file))
    assert "GB18030" in err and "UTF-16" in err
    if lang == "en":
        assert "tried UTF-8" in err and "CSV UTF-8" in err
    else:
        assert "已尝试 UTF-8" in err and "CSV UTF-8" in err


def test_gb18030_with_rare_name_characters_still_imports(
    points: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Chinese spreadsheet's names may use characters outside GB2312 (喆, 堃)."""
    rows = [arrival(n, name=name) for n, name in enumerate(["张喆", "王堃", "李明", "赵雨"], 1)]
    file = write_csv(tmp_path / "名单.csv", ARRIVAL_HEADER_ZH, rows, "gb18030")
    code, _, err = run("arrivals", file, db_path, capsys)
    assert code == 0, err
    points.refresh()
    assert [s["person"]["name"] for s in points.rows(STAYS).values()] == [
        "张喆",
        "王堃",
        "李明",
        "赵雨",
    ]


# ---------------------------------------------------------------------- release needs a test


@pytest.fixture
def untested(with_people: Store) -> Store:
    """Persons 900 and 901 tested negative, and person 902 (stay 3) whose tests are
    all still pending."""
    with_people.stays.register(dict(zip(ARRIVAL_HEADER, person_row(902), strict=True)))
    return with_people


@pytest.mark.parametrize("last", ["pending", "positive"])
def test_release_home_without_a_negative_last_test_is_refused(
    untested: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    last: str,
) -> None:
    if last == "positive":
        test_id, _ = untested.health.tests_of(3)[-1]
        untested.health.record_result(test_id, "positive", "2022-04-07 08:00")
    before = state(db_path)
    file = write_csv(tmp_path / "d.csv", DISCHARGE_HEADER, [discharge(900), discharge(902)])

    code, _, err = run("discharges", file, db_path, capsys)

    assert code == 1
    assert (
        f"{file}:3: override: the last planned test (day 14, 2022-04-07) is {last}: "
        "a release home needs it negative, or an override reason here"
    ) in err
    assert f"1 problem(s) in {file}; nothing was imported" in err
    assert state(db_path) == before  # not even person 900, whose tests were negative


@pytest.mark.parametrize("header", ["override", "放行理由"])
def test_an_override_column_gives_the_reason_and_is_stored(
    untested: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
) -> None:
    reason = "第14天核酸报告已由疾控中心电话确认阴性，纸质报告后补"
    rows = [[*discharge(900), ""], [*discharge(902), reason]]
    file = write_csv(tmp_path / "d.csv", (*DISCHARGE_HEADER, header), rows)

    code, out, err = run("discharges", file, db_path, capsys)

    assert code == 0, err
    assert "imported 2 discharges" in out
    untested.refresh()
    by_stay = {d["stay"]: d for d in untested.rows(DISCHARGES).values()}
    assert by_stay[3]["kind"] == "released_home"
    assert by_stay[3]["test_override"] == reason
    assert by_stay[1]["test_override"] == ""  # tested negative: nothing to override
    (created,) = [
        a
        for a in untested.rows(AUDIT).values()
        if (a["action"], a["table"], a["record"]) == ("create", DISCHARGES, 2)
    ]
    assert created["after"]["test_override"] == reason


def test_an_empty_override_cell_is_refused_under_its_own_header(
    untested: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    file = write_csv(tmp_path / "d.csv", (*DISCHARGE_HEADER, "放行理由"), [[*discharge(902), " "]])
    code, _, err = run("discharges", file, db_path, capsys)
    assert code == 1
    assert f"{file}:2: 放行理由 (override): the last planned test (day 14, 2022-04-07)" in err


def test_transfers_need_no_negative_test(
    untested: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_csv(
        tmp_path / "d.csv", DISCHARGE_HEADER, [discharge(902, kind="hospital", notes="发热")]
    )
    code, _, err = run("discharges", file, db_path, capsys)
    assert code == 0, err


# ---------------------------------------------------------------------- a lab's test results

LAB_HEADER = ("id_type", "id_number", "stay", "name", "taken_at", "result", "kind", "planned_day")
LAB_HEADER_ZH = (
    "证件类型",
    "证件号码",
    "入住编号",
    "姓名",
    "采样时间",
    "检测结果",
    "检测类型",
    "计划天次",
)


def lab(n: int, **changes: str) -> list[str]:
    """A lab's row (LAB_HEADER order) for person ``n``: negative, sampled 2022-03-25 16:00."""
    row = dict.fromkeys(LAB_HEADER, "")
    row.update(
        id_type="resident_id", id_number=resident_id(n), taken_at="2022-03-25 16:00", result="阴性"
    )
    row.update(changes)
    return list(row.values())


@pytest.fixture
def isolated(points: Store) -> Store:
    """Persons 900 (stay 1) and 901 (stay 2), arrived 2022-03-25 14:05, no results yet."""
    for n in (900, 901):
        points.stays.register(dict(zip(ARRIVAL_HEADER, person_row(n), strict=True)))
    return points


def results(store: Store, stay_id: int) -> list[tuple[int, str, str]]:
    store.refresh()
    return [
        (t["planned_day"], t["result"], t["taken_at"]) for _, t in store.health.tests_of(stay_id)
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_results_in_every_encoding_and_header_language(
    isolated: Store, db_path: Path, tmp_path: Path, cli: CliRunner, encoding: str, lang: str
) -> None:
    header = LAB_HEADER if lang == "en" else LAB_HEADER_ZH
    rows = [
        lab(900),
        lab(900, taken_at="2022/3/28 8:10", result="negative"),  # the next pending test
        lab(901, id_type="身份证", taken_at="2022年3月25日 16时30分", kind="核酸"),
    ]
    file = write_csv(tmp_path / f"核酸结果-{encoding}.csv", header, rows, encoding)

    result = cli("import", "tests", str(file))

    assert result.returncode == 0, result.stderr
    assert "imported 3 test results" in result.stdout
    assert results(isolated, 1) == [
        (1, "negative", "2022-03-25 16:00"),
        (4, "negative", "2022-03-28 08:10"),
        (7, "pending", ""),
        (14, "pending", ""),
    ]
    assert results(isolated, 2)[0] == (1, "negative", "2022-03-25 16:30")
    entries = [a for a in isolated.rows(AUDIT).values() if a["action"] == "result"]
    assert len(entries) == 3 and {a["table"] for a in entries} == {TESTS}


def test_lab_results_by_stay_and_planned_day_only(
    isolated: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ("入住编号", "计划天次", "采样时间", "结果")
    file = write_csv(tmp_path / "t.csv", header, [["2", "14", "2022-04-07 08:00", "阴"]])
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 0, err
    assert results(isolated, 2)[-1] == (14, "negative", "2022-04-07 08:00")
    assert results(isolated, 2)[0] == (1, "pending", "")


def test_a_result_after_the_person_left_needs_their_stay(
    isolated: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated.stays.discharge(
        {"stay": "2", "discharged_at": "2022-03-26 10:00", "kind": "hospital", "notes": "发热"}
    )
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(901)])
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 1
    assert f"{file}:2: id_number: no open stay for this person" in err

    # Someone else's stay beside the ID number does not do either.
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(901, stay="1")])
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 1
    assert f"{file}:2: id_number: no open stay for this person" in err

    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(901, stay="2")])
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 0, err
    assert results(isolated, 2)[0] == (1, "negative", "2022-03-25 16:00")


def test_a_positive_result_opens_a_draft_incident(
    isolated: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [lab(900), lab(901, result="阳性", taken_at="2022-03-25 17:00")]
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, rows)

    code, out, err = run("tests", file, db_path, capsys)

    assert code == 0, err
    assert "1 positive result(s)" in out
    isolated.refresh()
    (draft,) = isolated.rows(INCIDENTS).values()
    assert (draft["kind"], draft["status"], draft["stays"]) == ("positive_test", "draft", [2])
    assert draft["occurred_at"] == "2022-03-25 17:00"
    counters = isolated.counters()[ALL]
    assert (counters.incidents_open, counters.incidents_handled) == (0, 0)


def test_lab_results_make_a_release_home_possible(
    isolated: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    going = write_csv(tmp_path / "d.csv", DISCHARGE_HEADER, [discharge(900)])
    assert run("discharges", going, db_path, capsys)[0] == 1

    days = ("2022-03-25 16:00", "2022-03-28 08:00", "2022-03-31 08:00", "2022-04-07 08:00")
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(900, taken_at=day) for day in days])
    assert run("tests", file, db_path, capsys)[0] == 0

    code, _, err = run("discharges", going, db_path, capsys)
    assert code == 0, err


def test_the_same_lab_file_twice_changes_nothing(
    isolated: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(900, planned_day="1"), lab(901)])
    assert run("tests", file, db_path, capsys)[0] == 0
    before = state(db_path)

    code, out, err = run("tests", file, db_path, capsys)

    assert code == 0, err
    assert "no rows to import" in out
    assert "skipped 2 row(s)" in out
    assert state(db_path) == before


LAB_CASES = {
    "no result": (lab(901, result=""), "result", "is required"),
    "unknown result": (lab(901, result="maybe"), "result", "“maybe” is not one of"),
    "no time": (lab(901, taken_at=""), "taken_at", "is required"),
    "unreadable time": (lab(901, taken_at="yesterday"), "taken_at", "is not a time"),
    "future": (lab(901, taken_at="2099-01-01 08:00"), "taken_at", "is in the future"),
    "before arrival": (lab(901, taken_at="2022-03-25 14:00"), "taken_at", "before the arrival"),
    "nobody": (lab(77), "id_number", "no open stay for this person"),
    "no person at all": (lab(901, id_number=""), "id_number", "is required"),
    "unknown stay": (lab(901, id_number="", stay="99"), "stay", "no stay record 99"),
    "unknown kind": (lab(901, kind="blood"), "kind", "“blood” is not one of"),
    "day not a number": (lab(901, planned_day="x"), "planned_day", "“x” is not a whole number"),
    "day not planned": (
        lab(901, planned_day="5"),
        "planned_day",
        "no test of this kind is planned on day 5 of this stay (planned days: 1, 4, 7, 14)",
    ),
    "kind not planned": (
        lab(901, kind="antigen"),
        "planned_day",
        "no test of this person is still pending (planned days: –)",
    ),
    "other name": (lab(901, name="别人"), "name", "does not match the person"),
    "other name of stay": (
        lab(901, id_number="", stay="2", name="别人"),
        "name",
        "does not match the person of stay 2 (测试901)",
    ),
    "result differs": (
        lab(900, planned_day="1", result="positive"),
        "result",
        "the test of day 1 already has a result (negative, taken 2022-03-25 16:00)",
    ),
    "same sample, other result": (
        lab(900, result="positive"),
        "result",
        "the test of day 1 already has a result (negative, taken 2022-03-25 16:00)",
    ),
}


@pytest.mark.parametrize("case", list(LAB_CASES))
def test_bad_lab_rows(
    isolated: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
    case: str,
) -> None:
    bad, field, message = LAB_CASES[case]
    file = write_csv(tmp_path / "t.csv", LAB_HEADER, [lab(900), bad])

    code, _, err = run("tests", file, db_path, capsys)

    assert code == 1
    assert f"{file}:3: {field}: " in err, err
    assert message in err
    assert f"1 problem(s) in {file}; nothing was imported" in err


def test_no_pending_test_left_names_the_planned_days(
    isolated: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    days = ("2022-03-25 16:00", "2022-03-28 08:00", "2022-03-31 08:00", "2022-04-07 08:00")
    rows = [lab(900, taken_at=day) for day in (*days, "2022-04-08 08:00")]
    file = write_csv(tmp_path / "t.csv", LAB_HEADER_ZH, rows)
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 1
    assert (
        f"{file}:6: 计划天次 (planned_day): no test of this person is still pending "
        "(planned days: 1, 4, 7, 14)"
    ) in err


def test_lab_file_must_name_the_person(
    isolated: Store,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    unchanged: None,
) -> None:
    file = write_csv(tmp_path / "t.csv", ("姓名", "采样时间", "结果"), [["测试900", "", ""]])
    code, _, err = run("tests", file, db_path, capsys)
    assert code == 1
    assert f"{file}:1: id_number: required column is missing (or give stay instead)" in err
