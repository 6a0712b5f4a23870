"""The demo data: the seed article's figures, every rule kept, the same on every run."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner

from isolation_tui.domain.counters import Counters
from isolation_tui.domain.idnumber import birth_date_of, resident_id_problem
from isolation_tui.domain.records import Room, release_due, usable_beds
from isolation_tui.headless.check import problems
from isolation_tui.headless.demo import run_demo
from isolation_tui.headless.demo_points import point_specs
from isolation_tui.headless.demo_writer import Writer
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.paths import database_files
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.segments import segment_files

TABLES = ("points", "stays", "discharges", "incidents", "checks", "tests")


@pytest.fixture(scope="module")
def demo_store(demo_db: Path) -> Iterator[Store]:
    store = open_store(demo_db, read_only=True)
    yield store
    store.close()


def counters_of(path: Path) -> Counters:
    store = open_store(path, read_only=True)
    try:
        return store.counters()["*"]
    finally:
        store.close()


def records(path: Path) -> dict[str, Any]:
    """Everything stored, minus what says when it was written (the run's own clock)."""
    store = open_store(path, read_only=True)
    try:
        result: dict[str, Any] = {}
        for table in TABLES:
            rows = {}
            for key, doc in store.rows(table).items():
                doc = {k: v for k, v in doc.items() if k != "created"}
                if doc.get("voided"):
                    doc["voided"] = {k: v for k, v in doc["voided"].items() if k != "at"}
                for name in ("extensions", "actions"):
                    if name in doc:
                        doc[name] = [{k: v for k, v in e.items() if k != "at"} for e in doc[name]]
                rows[key] = doc
            result[table] = rows
        result["audit"] = [
            (a["action"], a["table"], a["record"], a["reason"])
            for a in store.rows("audit").values()
        ]
        return result
    finally:
        store.close()


def test_demo_writes_the_seed_article_figures(cli: CliRunner, db_path: Path) -> None:
    result = cli("demo")  # the path from ISOLATION_TUI_DB
    assert result.returncode == 0, result.stderr
    assert str(db_path) in result.stdout
    assert "1371" in result.stdout

    c = counters_of(db_path)
    assert (c.received, c.released_home, c.incidents_handled) == (1371, 1186, 11)
    assert c.received == c.in_isolation + c.released_home + c.transferred + c.other_exits
    assert c.other_exits == 0
    assert c.transferred > 0 and c.in_isolation > 0
    assert c.due_today > 0
    assert c.overdue > 0
    assert 2 <= c.incidents_open <= 4
    assert c.incidents_draft == 1  # yesterday afternoon's fever, for the supervisor
    assert c.points == 32
    assert c.occupied_beds == c.in_isolation <= c.beds


def test_demo_refuses_an_existing_database_unless_forced(cli: CliRunner, db_path: Path) -> None:
    store = open_store(db_path, create=True)
    store.save_point(
        "X1", "someone's real point", [Room(code="1", floor="1", beds=1, blocked=False)]
    )
    store.close()
    before = {f: f.read_bytes() for f in database_files(db_path) if f.exists()}

    refused = cli("demo", "--db", str(db_path))
    assert refused.returncode == 1
    assert str(db_path) in refused.stderr
    assert "--force" in refused.stderr
    assert {f: f.read_bytes() for f in database_files(db_path) if f.exists()} == before

    replaced = cli("demo", "--db", str(db_path), "--force")
    assert replaced.returncode == 0, replaced.stderr
    store = open_store(db_path, read_only=True)
    try:
        assert store.point("X1") is None
        assert store.counters()["*"].received == 1371
    finally:
        store.close()


def test_demo_is_deterministic(cli: CliRunner, db_path: Path, demo_db: Path) -> None:
    # Two runs, one in this process and one from the command line, agree record
    # for record (the runs are seconds apart: the same day, so the same dates).
    result = cli("demo", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert records(db_path) == records(demo_db)


@pytest.fixture(scope="module")
def scaled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``--scale 2``: one earlier period of history before today's (about 20 s)."""
    path = tmp_path_factory.mktemp("scaled") / "scaled.db"
    history_read = []
    original = JournalStorage._load_history

    def spy(self: JournalStorage) -> None:
        if not self._history_in:
            history_read.append(self.path)
        original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(JournalStorage, "_load_history", spy)
        assert run_demo(path, force=False, scale=2) == 0
    # The writer never read a sealed month back into memory.
    assert history_read == []
    return path


def test_scale_adds_history_and_keeps_today(demo_db: Path, scaled_db: Path) -> None:
    one, two = counters_of(demo_db), counters_of(scaled_db)
    # Today is scale 1's: the people in isolation now, what is due, what is open.
    for name in (
        "in_isolation",
        "incidents_open",
        "incidents_draft",
        "due_today",
        "overdue",
        "beds",
        "occupied_beds",
        "points",
        "missed_checks",
        "tests_due",
    ):
        assert getattr(two, name) == getattr(one, name), name
    # The earlier period: as many people again, every one of them gone (those
    # transferred as today's period transferred, the rest home), every incident handled.
    assert two.received == 2 * one.received
    assert two.transferred == 2 * one.transferred
    assert two.released_home == one.released_home + one.received - one.transferred
    assert two.incidents_handled == one.incidents_handled * 2 + one.incidents_open
    assert two.other_exits == 0


def test_scaled_history_is_sealed_and_only_today_in_the_snapshot(
    demo_store: Store, scaled_db: Path
) -> None:
    segments = segment_files(scaled_db)
    assert len(segments) >= 3  # the period's months, one file each at least
    store = open_store(scaled_db, read_only=True)
    try:
        headers, _ = store.db.storage.sealed_outside()
        sealed = collections.Counter[str]()
        for header in headers:
            sealed.update(header["counts"])
        # The snapshot holds today's period as scale 1 has it, and nothing earlier.
        for table in ("stays", "discharges", "checks", "tests", "incidents"):
            assert len(store.live_rows(table)) == len(demo_store.rows(table)), table
        assert sealed["stays"] == len(demo_store.rows("stays"))
        assert sealed["discharges"] == sealed["stays"]
        assert sealed["checks"] > 0 and sealed["tests"] > 0 and sealed["audit"] > 0
        # Every stay of the earlier period ended before today's first bus came.
        first_bus = min(stay["arrived_at"] for stay in store.live_rows("stays").values())
        discharges = store.rows("discharges")  # the history read in, to look at it
        old = [s for s in store.rows("stays").values() if s["arrived_at"] < first_bus]
        assert len(old) == len(demo_store.rows("stays"))
        assert all(discharges[str(s["discharge"])]["at"] < first_bus for s in old)
    finally:
        store.close()


def test_scaled_demo_passes_check_all(scaled_db: Path, cli: CliRunner) -> None:
    result = cli("check", "--all", "--db", str(scaled_db))
    assert result.returncode == 0, result.stdout + result.stderr


def test_everything_is_one_audited_transaction(demo_store: Store) -> None:
    # One journal entry: the demo is written all together or not at all.
    assert demo_store.db.storage.seq == 1
    created = collections.Counter(
        a["table"] for a in demo_store.rows("audit").values() if a["action"] == "create"
    )
    for table in TABLES:
        assert created[table] == len(demo_store.rows(table)), table


def test_a_failed_demo_leaves_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: object, plan: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Writer, "incident", broken)
    path = tmp_path / "broken.db"
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_demo(path, force=False, scale=1)
    assert not any(f.exists() for f in database_files(path))


def test_points_are_dandongs_32(demo_store: Store) -> None:
    points = demo_store.points()
    assert len(points) == 32
    border = [p for code, p in points.items() if code.startswith("BJ")]
    assert len(border) == 10
    districts = ("振兴区", "元宝区", "振安区", "东港市", "凤城市", "宽甸")
    for district in districts:
        assert any(district in p["address"] for p in points.values()), district
    for point in points.values():
        rooms = point["rooms"]
        assert 20 <= len(rooms) <= 80, point["code"]
        assert {int(r["floor"]) for r in rooms} <= set(range(2, 9))
        assert {r["beds"] for r in rooms} <= {1, 2}
        assert len({r["code"] for r in rooms}) == len(rooms)
    all_rooms = [r for p in points.values() for r in p["rooms"]]
    assert any(r["beds"] == 2 for r in all_rooms)
    assert 0 < sum(r["blocked"] for r in all_rooms) < len(all_rooms) // 20


def test_every_resident_id_is_valid_and_every_person_unique(demo_store: Store) -> None:
    stays = list(demo_store.rows("stays").values())
    people = [s["person"] for s in stays]
    residents = [p for p in people if p["id_type"] == "resident_id"]
    assert residents
    for person in residents:
        assert resident_id_problem(person["id_number"]) is None, person
        born = birth_date_of(person["id_number"])
        assert born is not None and born.isoformat() == person["birth_date"]
    foreigners = [p for p in people if p["nationality"] != "CN"]
    assert foreigners and all(p["id_type"] == "passport" for p in foreigners)
    assert {p["nationality"] for p in foreigners} >= {"KR", "JP", "RU"}
    assert any(p["id_number"].startswith("2106") for p in residents)
    assert any(not p["id_number"].startswith("21") for p in residents)
    keys = [(p["id_type"], p["id_number"]) for p in people]
    assert len(set(keys)) == len(keys)
    assert all(p["phone"] for p in people)
    assert collections.Counter(s["category"] for s in stays).most_common(1)[0][0] == "inbound"


def test_no_room_ever_holds_more_people_than_beds(demo_store: Store) -> None:
    beds = {
        (code, room["code"]): usable_beds(room)
        for code, point in demo_store.points().items()
        for room in point["rooms"]
    }
    discharges = demo_store.rows("discharges")
    changes: list[tuple[str, int, tuple[str, str]]] = []
    for stay in demo_store.rows("stays").values():
        room = (stay["point"], stay["room"])
        changes.append((stay["arrived_at"], 1, room))
        if stay["discharge"] is not None:
            # A bed freed at a minute can be taken at the same minute.
            changes.append((discharges[str(stay["discharge"])]["at"], 0, room))
    in_room: collections.Counter[tuple[str, str]] = collections.Counter()
    for _at, arriving, room in sorted(changes):
        in_room[room] += 1 if arriving else -1
        assert in_room[room] <= beds[room], room


def test_times_and_dates_keep_the_rules(demo_store: Store) -> None:
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    stays = demo_store.rows("stays")
    for stay in stays.values():
        assert stay["arrived_at"] <= now
        assert stay["release_due"] == release_due(
            stay["arrived_at"], stay["quarantine_days"], stay["extensions"]
        )
    assert any(stay["extensions"] for stay in stays.values())
    assert all(e["reason"] for stay in stays.values() for e in stay["extensions"])
    for discharge in demo_store.rows("discharges").values():
        assert stays[str(discharge["stay"])]["arrived_at"] <= discharge["at"] <= now
        if discharge["kind"] == "released_home":
            assert discharge["negative_test"] and discharge["certificate"]


def test_incidents_are_realistic(demo_store: Store) -> None:
    incidents = list(demo_store.rows("incidents").values())
    kinds = {i["kind"] for i in incidents}
    assert kinds >= {"fever", "positive_test", "medical", "mental_health", "abscond", "conflict"}
    assert kinds >= {"facility", "supply"}
    for incident in incidents:
        assert incident["summary"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in incident["summary"])
        # Every incident someone acted on has its actions; only a draft the program
        # opened and nobody has looked at yet has none (see test_fevers_make_drafts).
        if incident["status"] != "draft" or incident.get("voided"):
            assert incident["actions"]
        if incident["status"] == "handled":
            assert incident["resolution"]
            assert incident["occurred_at"] <= incident["handled_at"]
    stays = demo_store.rows("stays")
    positive = [i for i in incidents if i["kind"] == "positive_test"]
    for incident in positive:
        (stay_id,) = incident["stays"]
        discharge = demo_store.get("discharges", stays[str(stay_id)]["discharge"])
        assert discharge is not None and discharge["kind"] == "hospital"


# ---------------------------------------------------------------- rounds and tests


def test_every_rule_holds_by_the_check_command(demo_store: Store) -> None:
    assert list(problems(demo_store)) == []


def departure(store: Store, stay: dict[str, Any]) -> str:
    """When the person left ("" while in isolation)."""
    discharge = store.get("discharges", stay["discharge"]) if stay["discharge"] else None
    return discharge["at"] if discharge else ""


def test_two_rounds_a_day_for_every_day_of_every_stay(demo_store: Store) -> None:
    now = datetime.now()
    stays = demo_store.rows("stays")
    checks = demo_store.rows("checks")
    # Two rounds a day for 1371 people, two weeks each: about 38,000 checks.
    assert 33_000 <= len(checks) <= 40_000
    rounds: dict[int, set[tuple[str, str]]] = collections.defaultdict(set)
    for check in checks.values():
        stay = stays[str(check["stay"])]
        left = departure(demo_store, stay)
        assert stay["arrived_at"] <= check["at"] <= now.strftime("%Y-%m-%d %H:%M")
        assert not left or check["at"] < left
        assert check["at"][:10] == check["day"]
        start = "08:" if check["round"] == "morning" else "15:"
        assert check["at"][11:14] == start, check
        assert check["point"] == stay["point"]
        rounds[check["stay"]].add((check["day"], check["round"]))
    yesterday = (now.date() - timedelta(days=1)).isoformat()
    for key, stay in stays.items():
        # Every whole day between arrival and departure (or yesterday) has both rounds.
        first = date.fromisoformat(stay["arrived_at"][:10]) + timedelta(days=1)
        left = departure(demo_store, stay)
        last = date.fromisoformat(left[:10]) - timedelta(days=1) if left else now.date()
        day = first
        while day <= last and day.isoformat() <= yesterday:
            assert {(day.isoformat(), "morning"), (day.isoformat(), "afternoon")} <= rounds[
                int(key)
            ], (key, day)
            day += timedelta(days=1)


def test_a_few_checks_missed_or_refused_and_a_few_fevers(demo_store: Store) -> None:
    checks = list(demo_store.rows("checks").values())
    status = collections.Counter(c["status"] for c in checks)
    assert 0 < status["missed"] < len(checks) // 100
    assert 0 < status["refused"] < status["missed"]
    assert all(c["temperature"] is None for c in checks if c["status"] in ("missed", "refused"))
    well = [c["temperature"] for c in checks if c["status"] == "well"]
    assert min(well) >= 35.5 and max(well) < 37.3
    fevers = [c for c in checks if c["temperature"] is not None and c["temperature"] >= 37.3]
    assert 5 <= len(fevers) <= 20
    assert all(c["status"] == "unwell" for c in fevers)
    assert any(c["temperature"] >= 38.5 for c in fevers)


def test_fevers_make_drafts_confirmed_dismissed_or_waiting(demo_store: Store) -> None:
    checks = demo_store.rows("checks").values()
    fevered = {c["stay"] for c in checks if (c["temperature"] or 0) >= 37.3}
    incidents = list(demo_store.rows("incidents").values())
    fever_incidents = [i for i in incidents if i["kind"] == "fever"]
    # Every fever in a round made a draft for that person, and no draft lacks its fever.
    assert {i["stays"][0] for i in fever_incidents} == fevered
    dismissed = [i for i in fever_incidents if i.get("voided")]
    assert len(dismissed) == 4
    for incident in dismissed:
        assert incident["status"] == "draft" and incident["voided"]["reason"]
        assert "复测体温" in incident["actions"][0]["what"]
    (waiting,) = [i for i in incidents if i["status"] == "draft" and not i.get("voided")]
    stay = demo_store.get("stays", waiting["stays"][0])
    assert stay is not None and stay["status"] == "open"
    yesterday = (datetime.now().date() - timedelta(days=1)).isoformat()
    assert waiting["occurred_at"].startswith(yesterday + " 15:")
    assert waiting["actions"] == []
    confirmed = [i for i in fever_incidents if i["status"] in ("open", "handled")]
    assert len(confirmed) == 3 and all(not i.get("voided") for i in confirmed)


def test_release_home_only_after_a_negative_last_test(demo_store: Store) -> None:
    stays = demo_store.rows("stays")
    released = 0
    for discharge in demo_store.rows("discharges").values():
        tests = demo_store.health.tests_of(discharge["stay"])
        assert tests, discharge
        if discharge["kind"] != "released_home":
            continue
        released += 1
        assert discharge["test_override"] == ""
        for _, test in tests:
            # Taken on the planned day (after the arrival), before going home.
            assert test["result"] == "negative", test
            assert test["taken_at"][:10] == test["planned_date"]
            assert stays[str(test["stay"])]["arrived_at"] <= test["taken_at"] < discharge["at"]
    assert released == 1186


def test_positive_tests_went_to_hospital(demo_store: Store) -> None:
    positive = [i for i in demo_store.rows("incidents").values() if i["kind"] == "positive_test"]
    assert len(positive) == 2
    for incident in positive:
        assert incident["status"] == "handled"
        (stay_id,) = incident["stays"]
        stay = demo_store.get("stays", stay_id)
        assert stay is not None
        discharge = demo_store.get("discharges", stay["discharge"])
        assert discharge is not None and discharge["kind"] == "hospital"
        results = [test["result"] for _, test in demo_store.health.tests_of(stay_id)]
        first = results.index("positive")
        assert first in (1, 2)  # the day-4 or the day-7 test
        assert set(results[:first]) == {"negative"} and set(results[first + 1 :]) == {"pending"}
        (_, test) = demo_store.health.tests_of(stay_id)[first]
        assert incident["occurred_at"] == test["taken_at"] < discharge["at"]


def test_people_in_isolation_have_past_tests_negative_and_later_ones_pending(
    demo_store: Store,
) -> None:
    today = datetime.now().date().isoformat()
    held = 0
    for stay_id, stay in demo_store.open_stays(None).items():
        tests = demo_store.health.tests_of(stay_id)
        assert tests[-1][1]["planned_day"] >= stay["quarantine_days"]
        for n, (_, test) in enumerate(tests):
            if test["planned_date"] >= today:
                assert (test["result"], test["taken_at"]) == ("pending", "")
            elif n == len(tests) - 1 and test["result"] == "pending":
                # Held past the end of the quarantine: the retest result is not out.
                held += 1
                assert stay["release_due"] < today and "核酸复检结果未出" in stay["notes"]
            else:
                assert test["result"] == "negative", (stay_id, test)
    assert held == 4
    c = demo_store.counters()["*"]
    assert c.tests_due >= held


def test_history_is_written_at_the_times_it_happened(demo_store: Store) -> None:
    """Audit times are the event times: an arrival is recorded when the bus came, a
    check when it was taken, a discharge when the person left; the log runs in time
    order, so a handover's window holds what happened in it."""
    audit = list(demo_store.rows("audit").values())
    assert all(a["at"] <= b["at"] for a, b in itertools.pairwise(audit))
    assert audit[-1]["at"] <= datetime.now().strftime("%Y-%m-%d %H:%M")
    when = {"stays": "arrived_at", "checks": "at", "discharges": "at", "incidents": "occurred_at"}
    for table, field in when.items():
        for doc in demo_store.rows(table).values():
            assert doc["created"]["at"] == doc[field], (table, doc)
    results = [a for a in audit if a["table"] == "tests" and a["action"] == "result"]
    tests = demo_store.rows("tests")
    assert results and all(a["at"] == tests[str(a["record"])]["taken_at"] for a in results)


async def test_the_first_f5_of_the_demo_shows_the_shift_in_progress(demo_db: Path) -> None:
    from isolation_tui.app import IsolationApp
    from isolation_tui.domain.handover import shift_start

    store = open_store(demo_db, read_only=True)
    app = IsolationApp(store)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f5")
            await pilot.pause()
            summary = app.screen.summary  # type: ignore[attr-defined]
    finally:
        store.close()
    started = shift_start(datetime.now(), ("08:00", "20:00")).strftime("%Y-%m-%d %H:%M")
    assert summary["start"] == started
    # The counters at the start are the point's, not zero: the window is one shift.
    assert summary["counters_start"]["received"] > 1300
    assert len(summary["arrivals"]) < 100 and len(summary["discharges"]) < 100


def demo_shortage(now: datetime) -> tuple[date, datetime]:
    """The demo's short-of-suits episode for today: its first day and when the suits came."""
    from isolation_tui.headless.demo_plan import make_plan
    from isolation_tui.headless.demo_supplies import suit_shortage

    return suit_shortage(make_plan(now.date()), now)


def duty_from(now: datetime) -> date:
    from isolation_tui.headless.demo_plan import make_plan
    from isolation_tui.headless.demo_staff import duty_kept_from

    return duty_kept_from(make_plan(now.date()), now)


def test_every_point_has_its_staff_on_duty_around_the_clock(demo_store: Store) -> None:
    """Seven people a point; one on the clinical post at every moment of the kept
    weeks (from the first of the month, and from a week before the suits ran short),
    and nobody's periods overlapping (``check`` above says so too)."""
    from isolation_tui.storage.staff import overlaps

    staff = demo_store.rows("staff")
    by_point = collections.Counter(doc["point"] for doc in staff.values())
    assert len(by_point) == 32 and set(by_point.values()) == {7}
    assert list(overlaps(demo_store)) == []
    now = demo_store.clock()
    kept = duty_from(now)
    assert kept <= now.date().replace(day=1)
    assert kept <= demo_shortage(now)[0] - timedelta(days=7)
    first = datetime.combine(kept, datetime.min.time())
    for code in ("BJ01", "ZX01", "KD03"):
        clinical = sorted(
            (p["start"], p["end"])
            for p in demo_store.rows("duty").values()
            if p["point"] == code and staff[str(p["staff"])]["role"] in ("medical", "nursing")
        )
        assert clinical[0][0] == first.strftime("%Y-%m-%d %H:%M")
        assert all(a[1] == b[0] for a, b in itertools.pairwise(clinical)), code
        assert clinical[-1][1] == ""  # someone holds the post now
    assert demo_store.counters()["*"].on_duty >= 32


def test_staff_worked_long_stretches_while_suits_ran_short(demo_store: Store) -> None:
    """The article's episode at the first two county points, ZX01 and ZX02, as the
    supplies tell it: twelve hours at a stretch, not eight, from 08:00 of the first
    day without suit deliveries until the suits came (the stretch under way then is
    the last), eight-hour shifts again after; and the cadre of ZX01 on duty too long
    now, flagged."""
    from isolation_tui.domain.staff import hours_between

    staff = demo_store.rows("staff")
    now = demo_store.clock()
    first_day, arrived = demo_shortage(now)
    start = datetime.combine(first_day, datetime.min.time()) + timedelta(hours=8)
    long_ones: dict[str, list[tuple[datetime, datetime]]] = collections.defaultdict(list)
    for period in demo_store.rows("duty").values():
        if period["end"] and staff[str(period["staff"])]["role"] in ("medical", "nursing"):
            began = datetime.fromisoformat(period["start"])
            hours = hours_between(period["start"], datetime.fromisoformat(period["end"]))
            assert hours in (4, 8, 12), period
            if hours > 10:
                long_ones[period["point"]].append((began, datetime.fromisoformat(period["end"])))
    assert set(long_ones) == {"ZX01", "ZX02"}
    for code, stretches in long_ones.items():
        stretches.sort()
        assert stretches[0][0] == start, code
        assert all(a[1] == b[0] for a, b in itertools.pairwise(stretches)), code
        assert stretches[-1][0] < arrived <= stretches[-1][1], code
        assert len(stretches) == 11  # five days and a half: 08:00 Monday to 20:00 Saturday
    flagged = {
        code
        for code, figures in demo_store.counters().items()
        if figures.over_limit and code != "*"
    }
    assert flagged == {"ZX01"}


def test_export_duty_of_a_month_from_the_demo(cli: CliRunner, demo_db: Path) -> None:
    """Days per person: the clinical staff are on duty every day, eight hours."""
    import csv
    import io

    now = datetime.now()
    month = (now - timedelta(days=2)).strftime("%Y-%m")
    result = cli("export", "duty", "--month", month, "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert {row["month"] for row in rows} == {month}
    assert len({row["point"] for row in rows}) == 32
    first = max(duty_from(now), date.fromisoformat(f"{month}-01"))
    whole = [
        first + timedelta(days=n)
        for n in range((now.date() - first).days)
        if (first + timedelta(days=n)).strftime("%Y-%m") == month
    ]
    clinical = [r for r in rows if r["point"] == "BJ01" and r["role"] in ("medical", "nursing")]
    assert len(clinical) == 3
    for row in clinical:
        days = [int(d) for d in row["dates"].split(",")]
        assert [d for d in days if date.fromisoformat(f"{month}-{d:02d}") < now.date()] == [
            day.day for day in whole
        ]
        assert int(row["days"]) == len(days)
        assert int(row["amount"]) == int(row["rate"]) * int(row["days"]) == 200 * len(days)


def test_supplies_follow_the_timeline_with_the_short_of_suits_episode(
    demo_store: Store,
) -> None:
    """Every point is stocked and issues as its people come; the first two county
    points get no suits from the Monday the shortage starts, run short (flagged below
    3 days) and are sent 500 from a border point when ``suit_shortage`` says, the
    same episode as the staff's long stretches."""
    from isolation_tui.domain.supplies import level
    from isolation_tui.storage.supplies import SUPPLIES

    specs = point_specs()
    county = [spec.code for spec in specs if not spec.border][:2]
    first_day, arrived = demo_shortage(demo_store.clock())
    assert first_day.weekday() == 0
    movements = list(demo_store.rows(SUPPLIES).values())
    assert {m["point"] for m in movements} == {spec.code for spec in specs}
    sent = [m for m in movements if m["kind"] == "transfer_out"]
    assert sorted(m["other_point"] for m in sent) == sorted(county)
    assert sum(m["quantity"] for m in sent) == 500
    assert {m["at"] for m in sent} == {arrived.strftime("%Y-%m-%d %H:%M")}
    for code in county:
        delivered = [
            m["at"]
            for m in movements
            if m["point"] == code and m["kind"] == "delivery" and m["item"] == "protective_suit"
        ]
        assert not [at for at in delivered if first_day.isoformat() <= at < sent[0]["at"]]
        assert [at for at in delivered if at < first_day.isoformat()]
        suits = demo_store.supplies.movements(code, "protective_suit")
        before = [pair for pair in suits if pair[1]["at"] < sent[0]["at"]]
        flagged = level(code, "protective_suit", "piece", 3, before, arrived - timedelta(minutes=1))
        assert flagged.short, (code, flagged)
    # Today nothing runs short, and the stock never went below zero (``check``).
    assert demo_store.supplies.short(None) == []
