"""``stats``, ``points`` and ``schedule`` as real commands: what they print, to the figure."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.domain.records import usable_beds
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import STAYS

# The demo's counters for all points: the seed article's three figures and the rest.
DEMO_STATS = {
    "received": 1371,
    "released_home": 1186,
    "transferred": 41,
    "other_exits": 0,
    "in_isolation": 144,
    "incidents_handled": 11,
    "incidents_open": 3,
    "beds": 1581,
    "occupied_beds": 144,
    "due_today": 6,
    "overdue": 4,
}
LABELS = {
    "en": {
        "received": "Received",
        "released_home": "Released home",
        "transferred": "Transferred",
        "other_exits": "Other exits",
        "in_isolation": "In isolation",
        "incidents_handled": "Incidents handled",
        "incidents_open": "Incidents open",
        "beds": "Beds",
        "occupied_beds": "Occupied beds",
        "due_today": "Due today",
        "overdue": "Overdue",
    },
    "zh": {
        "received": "累计接收",
        "released_home": "期满返家",
        "transferred": "转出",
        "other_exits": "其他离开",
        "in_isolation": "在隔",
        "incidents_handled": "已处置事件",
        "incidents_open": "未结事件",
        "beds": "床位",
        "occupied_beds": "占用床位",
        "due_today": "今日期满",
        "overdue": "逾期未解除",
    },
}
WIDE = {"COLUMNS": "160"}


@pytest.fixture(scope="module")
def demo_store(demo_db: Path) -> Iterator[Store]:
    store = open_store(demo_db, read_only=True)
    yield store
    store.close()


def table_rows(text: str) -> list[list[str]]:
    """The cells of each body row of a Rich table."""
    rows = []
    for line in text.splitlines():
        if line.startswith("│"):
            rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def test_stats_json_gives_every_figure_of_the_demo(cli: CliRunner, demo_db: Path) -> None:
    result = cli("stats", "--json", "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {key: data[key] for key in DEMO_STATS} == DEMO_STATS
    assert data["point"] is None
    assert data["points"] == 32
    assert data["discharges_by_kind"] == {
        "released_home": 1186,
        "other_point": 30,
        "hospital": 11,
    }
    assert set(data) == {
        *DEMO_STATS,
        "point",
        "points",
        "discharges_by_kind",
        "on_duty",
        "over_limit",
    }
    # The identity the README promises.
    assert data["received"] == (
        data["in_isolation"] + data["released_home"] + data["transferred"] + data["other_exits"]
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stats_text_shows_every_figure_named(cli: CliRunner, demo_db: Path, lang: str) -> None:
    result = cli("stats", "--db", str(demo_db), "--lang", lang, env=WIDE)
    assert result.returncode == 0, result.stderr
    assert ("All points" if lang == "en" else "全部隔离点") in result.stdout
    shown = dict(table_rows(result.stdout))  # type: ignore[arg-type]
    assert shown == {LABELS[lang][key]: str(value) for key, value in DEMO_STATS.items()}


def test_stats_of_one_point_match_its_records(
    cli: CliRunner, demo_db: Path, demo_store: Store
) -> None:
    code = "BJ03"
    stays = [s for s in demo_store.rows(STAYS).values() if s["point"] == code]
    result = cli("stats", "--json", "--point", code, "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["point"] == code
    assert data["points"] == 1
    assert data["received"] == len(stays) > 0
    assert data["in_isolation"] == sum(s["status"] == "open" for s in stays)
    point = demo_store.point(code)
    assert point is not None
    assert data["beds"] == sum(usable_beds(r) for r in point["rooms"])

    text = cli("stats", "--point", code, "--db", str(demo_db), env=WIDE)
    assert text.returncode == 0, text.stderr
    assert f"Point {code}" in text.stdout
    assert dict(table_rows(text.stdout))["Received"] == str(len(stays))  # type: ignore[arg-type]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_stats_of_an_unknown_point_exits_1(cli: CliRunner, demo_db: Path, as_json: bool) -> None:
    flags = ["--json"] if as_json else []
    result = cli("stats", "--point", "NOPE", *flags, "--db", str(demo_db))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no point with code “NOPE”" in result.stderr
    assert "isolation-tui points" in result.stderr


def test_stats_on_a_missing_database_exits_1(cli: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    result = cli("stats", "--db", str(missing))
    assert result.returncode == 1
    assert str(missing) in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists()


def demo_points(store: Store) -> list[dict[str, object]]:
    """What ``points`` should say, computed here from the stored stays."""
    open_in: dict[tuple[str, str], int] = {}
    for stay in store.rows(STAYS).values():
        if stay["status"] == "open" and not stay.get("voided"):
            key = (stay["point"], stay["room"])
            open_in[key] = open_in.get(key, 0) + 1
    expected = []
    for code, point in sorted(store.points().items()):
        beds = sum(usable_beds(r) for r in point["rooms"])
        taken = sum(open_in.get((code, r["code"]), 0) for r in point["rooms"])
        expected.append(
            {
                "id": code,
                "name": point["name"],
                "rooms": len(point["rooms"]),
                "beds": beds,
                "free_beds": beds - taken,
            }
        )
    return expected


def test_points_json_lists_every_point_with_its_free_beds(
    cli: CliRunner, demo_db: Path, demo_store: Store
) -> None:
    result = cli("points", "--json", "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed == demo_points(demo_store)
    assert len(listed) == 32
    assert sum(p["beds"] for p in listed) == DEMO_STATS["beds"]
    assert sum(p["beds"] - p["free_beds"] for p in listed) == DEMO_STATS["occupied_beds"]
    assert listed[0] == {
        "id": "BJ01",
        "name": "边境1号点·江畔宾馆",
        "rooms": 71,
        "beds": 78,
        "free_beds": 78,
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_points_text_is_a_table_of_the_same(
    cli: CliRunner, demo_db: Path, demo_store: Store, lang: str
) -> None:
    result = cli("points", "--db", str(demo_db), "--lang", lang, env=WIDE)
    assert result.returncode == 0, result.stderr
    header = ("Code", "Name", "Rooms", "Beds", "Free beds")
    if lang == "zh":
        header = ("代码", "名称", "房间", "床位", "空床")
    lines = result.stdout.splitlines()
    assert [c.strip() for c in lines[2].strip("┃").split("┃")] == list(header)
    expected = [
        [p["id"], p["name"], str(p["rooms"]), str(p["beds"]), str(p["free_beds"])]
        for p in demo_points(demo_store)
    ]
    assert table_rows(result.stdout) == expected


# ---------------------------------------------------------------- schedule

HEADER = ("point", "name", "id_type", "id_number", "category", "arrived_at")


@pytest.fixture
def one_point(db_path: Path) -> Path:
    store = open_store(db_path, create=True)
    rooms = [{"code": f"{i:03d}", "floor": "1", "beds": 1, "blocked": False} for i in range(1, 6)]
    store.save_point("DD01", "一号点", rooms)  # type: ignore[arg-type]
    store.close()
    return db_path


def import_arrival(cli: CliRunner, folder: Path, number: str, category: str) -> None:
    file = folder / f"{number}.csv"
    with file.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerow(["DD01", number, "passport", number, category, "2026-11-20 10:00"])
    result = cli("import", "arrivals", str(file))
    assert result.returncode == 0, result.stderr


def planned_days(db_path: Path, number: str) -> list[int]:
    store = open_store(db_path, read_only=True)
    try:
        stay_id = store.open_stay_of("passport", number)
        assert stay_id is not None
        return [t["planned_day"] for _, t in store.health.tests_of(stay_id)]
    finally:
        store.close()


def test_a_stored_schedule_plans_the_tests_of_the_next_arrival(
    cli: CliRunner, one_point: Path, tmp_path: Path
) -> None:
    import_arrival(cli, tmp_path, "BEFORE", "inbound")
    assert planned_days(one_point, "BEFORE") == [1, 4, 7, 14]

    result = cli("schedule", "--point", "DD01", "--category", "境外输入", "--days", "2，5, 9")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "DD01: inbound from abroad now tested on days 2,5,9 (and on the last day of each stay)\n"
    )

    import_arrival(cli, tmp_path, "AFTER", "inbound")
    assert planned_days(one_point, "AFTER") == [2, 5, 9, 14]
    # Another category keeps its own; a stay planned before keeps its plan.
    import_arrival(cli, tmp_path, "CONTACT", "close_contact")
    assert planned_days(one_point, "CONTACT")[-1] == 14
    assert planned_days(one_point, "CONTACT")[:1] != [2]
    assert planned_days(one_point, "BEFORE") == [1, 4, 7, 14]
    assert cli("check").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--point", "XX", "--category", "inbound", "--days", "1,4"), "point: no point"),
        (("--point", "DD01", "--category", "tourist", "--days", "1,4"), "category: “tourist”"),
        (("--point", "DD01", "--category", "inbound", "--days", "0,3"), "days: “0,3”"),
        (("--point", "DD01", "--category", "inbound", "--days", "a,b"), "days: “a,b”"),
        (("--point", "DD01", "--category", "inbound", "--days", "1,91"), "days: “1,91”"),
        (("--point", "DD01", "--category", "inbound", "--days", " , "), "days: “ , ”"),
    ],
    ids=["unknown-point", "unknown-category", "day-0", "not-numbers", "day-91", "empty"],
)
def test_a_bad_schedule_exits_1_and_changes_nothing(
    cli: CliRunner, one_point: Path, args: tuple[str, ...], message: str
) -> None:
    journal = one_point.with_name(one_point.name + "-journal")
    before = journal.read_bytes()
    result = cli("schedule", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert journal.read_bytes() == before


@pytest.mark.parametrize(
    "args",
    [
        ("--point", "DD01", "--category", "inbound"),
        ("--point", "DD01", "--days", "1,4"),
        ("--category", "inbound", "--days", "1,4"),
    ],
    ids=["no-days", "no-category", "no-point"],
)
def test_a_schedule_without_a_required_option_is_a_usage_error(
    cli: CliRunner, one_point: Path, args: tuple[str, ...]
) -> None:
    result = cli("schedule", *args)
    assert result.returncode == 2
    assert "Missing option" in result.stderr


def test_without_db_or_env_the_database_is_in_the_user_data_folder(
    cli: CliRunner, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "ISOLATION_TUI_DB": "", "XDG_DATA_HOME": ""}
    result = cli("stats", env=env)
    assert result.returncode == 1
    assert str(home / ".local/share/isolation-tui/isolation.db") in result.stderr
    assert not (home / ".local").exists()  # looking creates nothing
