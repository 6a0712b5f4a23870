"""``export``: spreadsheet-safe CSV, JSON, private files, and a round trip back in."""

from __future__ import annotations

import csv
import io
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from conftest import FIXED_NOW
from test_import import (
    ARRIVAL_HEADER,
    negative_tests,
    person_row,
    resident_id,
    setup_points,
)

from isolation_tui.headless.csv_export import (
    ARRIVAL_COLUMNS,
    arrival_rows,
    neutralise,
    run_export,
    to_csv,
    to_json,
)
from isolation_tui.headless.imports import run_import
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import STAYS

CliRunner = Callable[..., subprocess.CompletedProcess[str]]

# Text that must survive literally: markup, emoji, Chinese, and formula starters.
NASTY = {
    "name": '=HYPERLINK("http://x","点我")',
    "origin": "+cmd|' /C calc'!A0",
    "transport": "-2+3",
    "notes": "@SUM(A1) [red]x[/] a[/]b 😷 ' 备注",
}


def add_people(store: Store) -> None:
    """Four people at P1, one with every kind of nasty text."""
    for n in range(1, 4):
        store.stays.register(dict(zip(ARRIVAL_HEADER, person_row(n), strict=True)))
    nasty = dict(zip(ARRIVAL_HEADER, person_row(4, room="220"), strict=True))
    nasty.update(NASTY)
    nasty.update(
        id_type="passport", id_number="E12345678", nationality="KR", phone="+82 10 1234 5678"
    )
    nasty["birth_date"] = "1990-02-03"
    nasty["sex"] = "女"
    store.stays.register(nasty)


@pytest.fixture
def people(store: Store) -> Store:
    setup_points(store)
    add_people(store)
    return store


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must carry a BOM for spreadsheets"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_neutralise() -> None:
    for cell in ("=1+2", "+1", "-1", "@x", "\tx", "\rx", "'x"):
        assert neutralise(cell) == "'" + cell
    for cell in ("", "1", "张三", "a=b", " =x"):
        assert neutralise(cell) == cell


def test_formula_cells_are_neutralised(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    out = tmp_path / "arrivals.csv"
    result = cli("export", "arrivals", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 4 arrivals" in result.stderr

    rows = read_csv(out.read_bytes())
    assert list(rows[0]) == list(ARRIVAL_COLUMNS)
    nasty = rows[3]
    for column in ("name", "origin", "transport", "notes"):
        assert nasty[column] == "'" + NASTY[column]
    assert nasty["phone"] == "'+82 10 1234 5678"
    # Nothing in the whole file can start a formula.
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_file_is_private_and_replaces_an_old_one(
    people: Store, db_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "old.csv"
    out.write_text("old and world-readable")
    out.chmod(0o644)
    assert run_export("arrivals", db_path, out=out) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"old and world" not in out.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".old")] == []


def test_json_is_a_list_of_typed_objects(people: Store, db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert run_export("arrivals", db_path, fmt="json", out=out) == 0
    rows = orjson.loads(out.read_bytes())
    assert isinstance(rows, list) and len(rows) == 4
    assert rows[0]["id"] == 1
    assert rows[0]["quarantine_days"] == 14
    assert rows[3]["name"] == NASTY["name"]  # no quote in JSON: only CSV needs it
    assert rows[3]["notes"] == NASTY["notes"]
    assert rows[3]["sex"] == "female"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_stdout_export(people: Store, db_path: Path, cli: CliRunner) -> None:
    result = cli("export", "arrivals", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in orjson.loads(result.stdout)][:1] == ["测试1"]


def test_discharges_carry_name_and_id_number(people: Store, db_path: Path, tmp_path: Path) -> None:
    negative_tests(people, 2)
    people.stays.discharge(
        {
            "id_number": resident_id(2),
            "discharged_at": "2022-04-08 09:00",
            "kind": "released_home",
            "negative_test": "yes",
            "certificate": "-001",
        }
    )
    out = tmp_path / "d.csv"
    assert run_export("discharges", db_path, out=out) == 0
    (row,) = read_csv(out.read_bytes())
    assert row["name"] == "测试2"
    assert row["id_number"] == resident_id(2)
    assert row["stay"] == "2"
    assert row["discharged_at"] == "2022-04-08 09:00"
    assert row["negative_test"] == "yes"
    assert row["certificate"] == "'-001"

    # An export of discharges imports again (on a database where the stay is open).
    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    negative_tests(
        fresh, fresh.stays.register(dict(zip(ARRIVAL_HEADER, person_row(2), strict=True)))
    )
    fresh.close()
    assert run_import("discharges", out, other) == 0
    again = open_store(other, read_only=True)
    (discharge,) = again.rows("discharges").values()
    assert (discharge["certificate"], discharge["negative_test"]) == ("-001", True)


def test_incidents_and_audit(people: Store, db_path: Path, tmp_path: Path) -> None:
    incident = people.incidents.open(
        {
            "point": "P1",
            "occurred_at": "2022-03-26 02:10",
            "kind": "fever",
            "severity": "2",
            "summary": "=2+2 发热",
        },
        stays=[1],
    )
    people.incidents.add_action(incident, "测体温")
    people.incidents.close(incident, "退烧", "2022-03-26 05:00")

    out = tmp_path / "i.csv"
    assert run_export("incidents", db_path, out=out) == 0
    (row,) = read_csv(out.read_bytes())
    assert row["summary"] == "'=2+2 发热"
    assert (row["status"], row["handled_at"], row["resolution"]) == (
        "handled",
        "2022-03-26 05:00",
        "退烧",
    )
    assert orjson.loads(row["stays"]) == [1]
    assert orjson.loads(row["actions"])[0]["what"] == "测体温"

    out = tmp_path / "audit.csv"
    assert run_export("audit", db_path, out=out) == 0
    rows = read_csv(out.read_bytes())
    assert list(rows[0]) == [
        "id",
        "at",
        "os_user",
        "on_duty",
        "ssh_client_claimed",
        "action",
        "table",
        "record",
        "reason",
        "before",
        "after",
    ]
    close = rows[-1]
    assert (close["os_user"], close["ssh_client_claimed"], close["action"], close["table"]) == (
        "tester",
        "",
        "close",
        "incidents",
    )
    assert orjson.loads(close["before"])["status"] == "open"
    assert orjson.loads(close["after"])["status"] == "handled"
    created = next(r for r in rows if r["table"] == "stays" and r["record"] == "4")
    assert orjson.loads(created["after"])["person"]["name"] == NASTY["name"]


def test_round_trip_into_an_empty_database(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    exported = tmp_path / "arrivals.csv"
    assert cli("export", "arrivals", "--out", str(exported)).returncode == 0

    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    fresh.close()
    result = cli("import", "arrivals", str(exported), "--db", str(other))
    assert result.returncode == 0, result.stderr
    assert "imported 4 arrivals" in result.stdout

    source = open_store(db_path, read_only=True)
    copy = open_store(other, read_only=True)
    assert list(arrival_rows(copy)) == list(arrival_rows(source))
    assert copy.rows(STAYS)["4"]["person"]["name"] == NASTY["name"]
    assert copy.rows(STAYS)["4"]["notes"] == NASTY["notes"]

    # And the copy exports to the very same bytes.
    again = tmp_path / "again.csv"
    assert cli("export", "arrivals", "--db", str(other), "--out", str(again)).returncode == 0
    assert again.read_bytes() == exported.read_bytes()


def test_round_trip_of_a_quote_the_user_typed(people: Store, db_path: Path, tmp_path: Path) -> None:
    fields = dict(zip(ARRIVAL_HEADER, person_row(9), strict=True))
    fields["notes"] = "'=not a formula"
    fields["name"] = "'Quoted"
    people.stays.register(fields)
    out = tmp_path / "a.csv"
    assert run_export("arrivals", db_path, out=out) == 0
    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    fresh.close()
    assert run_import("arrivals", out, other) == 0
    copy = open_store(other, read_only=True)
    stay = copy.rows(STAYS)["5"]
    assert (stay["notes"], stay["person"]["name"]) == ("'=not a formula", "'Quoted")


def test_discharged_and_voided_stays_are_skipped_on_reimport(
    people: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    negative_tests(people, 1)
    people.stays.discharge(
        {"id_number": resident_id(1), "discharged_at": "2022-04-08 09:00", "kind": "released_home"}
    )
    people.stays.void(STAYS, 3, "registered twice")
    out = tmp_path / "a.csv"
    assert run_export("arrivals", db_path, out=out) == 0
    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    fresh.close()
    capsys.readouterr()

    assert run_import("arrivals", out, other) == 0

    printed = capsys.readouterr().out
    assert "imported 2 arrivals" in printed
    assert "skipped 2 row(s)" in printed
    copy = open_store(other, read_only=True)
    names = {s["person"]["name"] for s in copy.rows(STAYS).values()}
    assert names == {"测试2", NASTY["name"]}


def test_export_refuses_to_overwrite_the_database(
    people: Store, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = db_path.read_bytes()
    assert run_export("arrivals", db_path, out=db_path) == 1
    assert "is the database itself" in capsys.readouterr().err
    assert db_path.read_bytes() == before


def test_unwritable_output_is_a_clear_error(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    result = cli("export", "audit", "--out", str(tmp_path / "missing-dir" / "a.csv"))
    assert result.returncode == 1
    assert "cannot write" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_without_a_database(tmp_path: Path, cli: CliRunner) -> None:
    result = cli("export", "arrivals", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 1
    assert "no database here" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_to_csv_writes_bom_and_crlf() -> None:
    data = to_csv(("a", "b"), [{"a": "张", "b": None}, {"a": True, "b": {"k": 1}}])
    assert data == '\ufeffa,b\r\n张,\r\nyes,"{""k"":1}"\r\n'.encode()


def test_override_is_exported_and_imports_again(
    people: Store, db_path: Path, tmp_path: Path
) -> None:
    reason = "末次核酸报告延迟，疾控中心电话确认阴性"
    people.stays.discharge(
        {
            "id_number": resident_id(2),
            "discharged_at": "2022-04-08 09:00",
            "kind": "released_home",
            "override": reason,
        }
    )
    out = tmp_path / "d.csv"
    assert run_export("discharges", db_path, out=out) == 0
    (row,) = read_csv(out.read_bytes())
    assert row["override"] == reason

    # Into a database where that person's tests are all pending: the override comes along.
    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    fresh.stays.register(dict(zip(ARRIVAL_HEADER, person_row(2), strict=True)))
    fresh.close()
    assert run_import("discharges", out, other) == 0
    again = open_store(other, read_only=True)
    (discharge,) = again.rows("discharges").values()
    assert discharge["test_override"] == reason


def test_checks_day_by_day_with_who_entered_them(
    people: Store, db_path: Path, tmp_path: Path, cli: CliRunner
) -> None:
    people.health.record_check(2, "2022-03-26", "afternoon", "365", at="2022-03-26 15:10")
    people.health.record_check(1, "2022-03-26", "morning", "m", at="2022-03-26 08:05")
    people.health.record_check(1, "2022-03-26", "afternoon", "38.5", "咳嗽", at="2022-03-26 15:05")
    people.health.record_check(2, "2022-03-26", "morning", "366", at="2022-03-26 08:07")

    result = cli("export", "checks")

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"), newline="")))
    assert list(rows[0]) == [
        "id",
        "at",
        "who",
        "point",
        "stay",
        "name",
        "room",
        "day",
        "round",
        "temperature",
        "symptoms",
        "status",
    ]
    seen = [
        (r["day"], r["round"], r["name"], r["temperature"], r["symptoms"], r["status"], r["who"])
        for r in rows
    ]
    assert seen == [
        ("2022-03-26", "morning", "测试1", "", "", "missed", "tester"),
        ("2022-03-26", "morning", "测试2", "36.6", "", "well", "tester"),
        ("2022-03-26", "afternoon", "测试1", "38.5", "咳嗽", "unwell", "tester"),
        ("2022-03-26", "afternoon", "测试2", "36.5", "", "well", "tester"),
    ]
    assert rows[0]["room"] == people.get(STAYS, 1)["room"]
    assert rows[0]["at"] == "2022-03-26 08:05"


def test_a_corrected_check_shows_who_corrected_it(
    people: Store, db_path: Path, tmp_path: Path
) -> None:
    people.health.record_check(1, "2022-03-26", "morning", "365", at="2022-03-26 08:05")
    night = open_store(db_path, actor=Actor("夜班护士"), clock=lambda: FIXED_NOW)
    night.health.record_check(1, "2022-03-26", "morning", "368", at="2022-03-26 08:40")
    night.close()
    out = tmp_path / "c.json"
    assert run_export("checks", db_path, fmt="json", out=out) == 0
    (row,) = orjson.loads(out.read_bytes())
    assert (row["temperature"], row["who"], row["at"]) == (36.8, "夜班护士", "2022-03-26 08:40")


def test_tests_export_and_import_again(
    people: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    negative_tests(people, 1)
    (first, _), *_ = people.health.tests_of(2)
    people.health.record_result(first, "positive", "2022-03-25 18:00")
    out = tmp_path / "t.csv"
    assert run_export("tests", db_path, out=out) == 0
    rows = read_csv(out.read_bytes())
    assert list(rows[0]) == [
        "id",
        "stay",
        "point",
        "name",
        "id_type",
        "id_number",
        "planned_day",
        "planned_date",
        "kind",
        "result",
        "taken_at",
        "who",
    ]
    assert len(rows) == 16  # four people, days 1, 4, 7 and 14
    assert [r["planned_date"] for r in rows] == sorted(r["planned_date"] for r in rows)
    mine = [
        (r["planned_day"], r["result"], r["taken_at"], r["who"]) for r in rows if r["stay"] == "1"
    ]
    assert mine == [
        ("1", "negative", "2022-03-25 16:00", "tester"),
        ("4", "negative", "2022-03-28 16:00", "tester"),
        ("7", "negative", "2022-03-31 16:00", "tester"),
        ("14", "negative", "2022-04-07 16:00", "tester"),
    ]
    pending = next(r for r in rows if r["stay"] == "3")
    assert (pending["result"], pending["taken_at"], pending["who"]) == ("pending", "", "")
    assert next(r for r in rows if r["stay"] == "2")["result"] == "positive"

    # Into another database with the same people (other stay ids): results by ID number.
    other = tmp_path / "other.db"
    fresh = open_store(other, create=True)
    setup_points(fresh)
    for n in (3, 1, 2):
        fresh.stays.register(dict(zip(ARRIVAL_HEADER, person_row(n), strict=True)))
    fresh.close()
    capsys.readouterr()
    # Person 4 (a passport holder) is not in the other database: left out of the file.
    kept = [r for r in rows if r["stay"] != "4"]
    with (tmp_path / "kept.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)

    assert run_import("tests", tmp_path / "kept.csv", other) == 0

    printed = capsys.readouterr().out
    assert "imported 5 test results" in printed
    assert "skipped 7 row(s)" in printed
    assert "1 positive result(s)" in printed
    copy = open_store(other, read_only=True)
    assert [t["result"] for _, t in copy.health.tests_of(2)] == ["negative"] * 4  # person 1
    assert copy.health.tests_of(3)[0][1]["result"] == "positive"  # person 2's day 1
    (draft,) = copy.rows("incidents").values()
    assert (draft["status"], draft["stays"]) == ("draft", [3])


def test_json_written_row_by_row_is_the_indented_list() -> None:
    """Streamed one row at a time, the JSON is the list as a whole would print:
    nested values, a newline inside a string, and no rows at all."""
    rows = [
        {"id": 1, "notes": "第一行\n第二行", "stays": [1, 2], "voided": None},
        {"id": 2, "actions": [{"what": "送医", "at": "2022-03-26 03:00"}], "empty": {}},
    ]
    expected = orjson.dumps(rows, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    assert to_json(iter(rows)) == expected
    assert to_json(iter([])) == b"[]\n"
    assert orjson.loads(to_json(iter(rows))) == rows
