"""``check``: the files are whole and the records keep every rule.

Opening the store already verifies every checksum and the journal's sequence; this
adds the domain invariants, so a problem that slipped in any way is reported. By
default the rules are checked over the live set (what is not sealed), each record a
live one refers to looked up in sealed history too, and sealed segments are checked
to be whole; ``--all`` checks every rule over all history and counts each segment's
records again against its header.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from ..domain import supplies
from ..domain.codes import DISCHARGE_KIND, ID_TYPE
from ..domain.counters import ALL
from ..domain.health import HIGHEST, LOWEST, ROUND, day_date
from ..domain.idnumber import resident_id_problem, visible
from ..domain.records import is_live, person_key, release_due, usable_beds
from ..i18n import t
from ..storage.backend import Location
from ..storage.errors import StoreError
from ..storage.index import MARKS
from ..storage.repository import Store, open_store
from ..storage.sealing import tally
from ..storage.staff import overlaps
from ..storage.tables import (
    AUDIT,
    CHECKS,
    DISCHARGES,
    DUTY,
    HANDOVERS,
    INCIDENTS,
    POINTS,
    STAFF,
    STAYS,
    SUPPLIES,
    SUPPLY_ITEMS,
    TESTS,
)
from .reports import click_echo_err, say

Rows = Mapping[str, dict[str, Any]]


class _Walked(Mapping[str, dict[str, Any]]):
    """A table as a check walks it: the records of one part (the live set, or one
    sealed segment), and any record looked up (one they refer to) elsewhere too."""

    def __init__(self, store: Store, table: str, rows: Rows) -> None:
        self._store, self._table = store, table
        self._rows = rows

    def __getitem__(self, key: str) -> dict[str, Any]:
        doc = self._rows.get(key)
        if doc is None and key.isdigit():
            doc = self._store.get(self._table, int(key))
        if doc is None:
            raise KeyError(key)
        return doc

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class _Created:
    """The records whose creation is audited: the part's (the live set, or one
    sealed segment: a record is sealed with its audit), and a record's own sealed
    audit when it is not there (one sealed, then changed: its creation was sealed)."""

    def __init__(self, store: Store, audit: Rows) -> None:
        self._store = store
        self._found = {(a["table"], a["record"]) for a in audit.values() if a["action"] == "create"}

    def __contains__(self, record: tuple[str, int]) -> bool:
        if record in self._found:
            return True
        table, number = record
        entries = self._store.db.storage.sealed_with(table, str(number), AUDIT, "record")
        return any(entry["action"] == "create" for _, entry in entries)


def problems(store: Store, today: date | None = None, *, everything: bool = False) -> Iterator[str]:
    """Every broken invariant, as a sentence naming the record and the field: over
    the live set, or with ``everything`` over all history too, one sealed segment
    at a time (each counted again against its header)."""
    storage = store.db.storage
    live = storage.live_tables()
    yield from _part_problems(store, live)
    for segment in storage.sealed_segments() if everything else ():
        # The counters kept in a segment's header must be what its documents count.
        held = segment.body or {}
        counts = {table: len(rows) for table, rows in held.items()}
        if segment.header.get("counts") != counts or segment.header.get("tally") != tally(
            held, MARKS
        ):
            yield t("check.segment_counters", path=segment.path)
        headers, replaced = storage.sealed_outside()
        if not headers:
            continue  # the history is in memory: the live set's walk had it all
        # A sealed document changed since is checked as it is now, in the live set.
        yield from _part_problems(
            store,
            {
                table: {key: doc for key, doc in rows.items() if key not in replaced.get(table, {})}
                for table, rows in held.items()
            },
        )

    # Supplies and duty are never sealed: the live set has every one.
    yield from _supply_problems(live.get(SUPPLIES, {}))
    for staff_id, first, second in overlaps(store):
        name = (store.staff.staff(staff_id) or {}).get("name", "")
        yield t("check.duty_overlap", first=first, second=second, staff=staff_id, name=name)

    for code, figures in store.counters(today).items():
        if figures.received != figures.in_isolation + figures.discharged:
            where = {"point": code} if code != ALL else {}
            yield t(
                "check.counters_point" if where else "check.counters",
                **where,
                received=figures.received,
                in_isolation=figures.in_isolation,
                discharged=figures.discharged,
            )


def _part_problems(store: Store, part: Mapping[str, Rows]) -> Iterator[str]:
    """The rules over one part of the records (the live set, or a sealed segment),
    what they refer to looked up wherever it is."""

    def rows(table: str) -> Rows:
        return _Walked(store, table, part.get(table, {}))

    points = store.points()
    stays = rows(STAYS)
    discharges = rows(DISCHARGES)
    incidents = rows(INCIDENTS)
    created = _Created(store, rows(AUDIT))

    for table in (
        POINTS,
        STAYS,
        DISCHARGES,
        INCIDENTS,
        CHECKS,
        TESTS,
        HANDOVERS,
        SUPPLIES,
        SUPPLY_ITEMS,
        STAFF,
        DUTY,
    ):
        for key in rows(table):
            if (table, int(key)) not in created:
                yield t("check.no_audit", table=_table(table), id=key)

    open_people: dict[str, list[tuple[str, str]]] = {}
    in_room: Tally[tuple[str, str]] = Tally()
    placed_alone: dict[tuple[str, str], list[str]] = {}
    for key, stay in stays.items():
        if not is_live(stay):
            continue
        yield from _stay_problems(key, stay, points, discharges)
        if stay["status"] == "open":
            person = stay["person"]
            who = person_key(person["id_type"], person["id_number"])
            open_people.setdefault(who, []).append((key, person["id_number"]))
            if stay["room"]:
                in_room[(stay["point"], stay["room"])] += 1
                if not stay.get("shares_with"):
                    placed_alone.setdefault((stay["point"], stay["room"]), []).append(key)
    for who, held in open_people.items():
        if len({number for _, number in held}) > 1:
            # Typed differently (invisible characters, letters of another script):
            # the one-stay rule did not see one person. Show what differs.
            yield t(
                "check.person_look_alike",
                stays=t("ui.list_separator").join(key for key, _ in held),
                numbers=", ".join(visible(number) for _, number in held),
            )
        elif len(held) > 1:
            id_type, number = who.split(":", 1)
            person = f"{ID_TYPE.label(id_type)} {number}"
            yield t("check.person_twice", person=person, count=len(held))
    for (code, room_code), count in in_room.items():
        room = next(
            (r for r in points.get(code, {}).get("rooms", []) if r["code"] == room_code), None
        )
        if room is None:
            yield t("check.unknown_room", point=code, room=room_code)
        elif count > usable_beds(room):
            yield t(
                "check.room_over", point=code, room=room_code, count=count, beds=usable_beds(room)
            )

    for (code, room_code), alone in placed_alone.items():
        # Of the people in a room, only the first may have come without confirming
        # that they share it as one household or group.
        if len(alone) > 1:
            yield t(
                "check.room_shared",
                point=code,
                room=room_code,
                stays=t("ui.list_separator").join(alone),
            )

    for key, discharge in discharges.items():
        if not is_live(discharge):
            continue
        stay = stays.get(str(discharge["stay"]))
        if stay is None or not is_live(stay) or stay.get("discharge") != int(key):
            yield t("check.discharge_orphan", id=key, stay=discharge["stay"])
        elif discharge["at"] < stay["arrived_at"]:
            yield t("check.discharge_early", id=key)
        elif discharge["point"] != stay["point"]:
            yield t(
                "check.discharge_point", id=key, point=discharge["point"], stay_point=stay["point"]
            )
        if discharge["kind"] != "released_home" and discharge.get("test_override"):
            # An override lets someone go home despite the tests: on a transfer it says
            # something nobody did.
            yield t(
                "check.override_not_home",
                id=key,
                stay=discharge["stay"],
                kind=DISCHARGE_KIND.label(discharge["kind"]),
                reason=discharge["test_override"],
            )

    for key, incident in incidents.items():
        if is_live(incident) and incident["status"] == "handled" and not incident["resolution"]:
            yield t("check.no_resolution", id=key)
        about = [stays.get(str(stay_id)) or {} for stay_id in incident.get("stays", [])]
        waiting = is_live(incident) and incident["status"] == "draft"
        if waiting and about and not any(stay and is_live(stay) for stay in about):
            # A draft about an arrival voided as a mistake would count as waiting.
            yield t("check.draft_of_voided", id=key)

    yield from _health_problems(store, rows, stays, discharges)


def _table(name: str) -> str:
    return t(f"check.table.{name}")


def _broken(table: str, key: object, field: str, value: object) -> str:
    """A field of a record that breaks a rule: table and field in the reader's language."""
    return t(
        "check.health_field", table=_table(table), id=key, field=t(f"field.{field}"), value=value
    )


def _stay_broken(key: str, field: str, value: object) -> str:
    return t("check.stay_field", id=key, field=t(f"field.{field}"), value=value)


def _stay_problems(
    key: str, stay: dict[str, Any], points: Mapping[str, Any], discharges: Rows
) -> Iterator[str]:
    if stay["point"] not in points:
        yield _stay_broken(key, "point", stay["point"])
    person = stay["person"]
    if person["id_type"] == "resident_id" and resident_id_problem(person["id_number"]):
        yield _stay_broken(key, "id_number", person["id_number"])
    expected = release_due(stay["arrived_at"], stay["quarantine_days"], stay["extensions"])
    if stay["release_due"] != expected:
        yield _stay_broken(key, "release_due", stay["release_due"])
    discharge_id = stay.get("discharge")
    if stay["status"] == "discharged":
        discharge = discharges.get(str(discharge_id))
        if discharge is None or not is_live(discharge) or discharge["stay"] != int(key):
            yield _stay_broken(key, "discharge", discharge_id)
    elif stay["status"] != "open" or discharge_id is not None:
        yield _stay_broken(key, "status", stay["status"])


def _health_problems(
    store: Store, rows: Callable[[str], Rows], stays: Rows, discharges: Rows
) -> Iterator[str]:
    rounds: Tally[tuple[int, str, str]] = Tally()
    for key, check in rows(CHECKS).items():
        stay = stays.get(str(check["stay"]))
        if stay is None:
            yield _broken(CHECKS, key, "stay", check["stay"])
            continue
        rounds[(check["stay"], check["day"], check["round"])] += 1
        temperature = check["temperature"]
        if temperature is not None and not LOWEST <= temperature <= HIGHEST:
            yield _broken(CHECKS, key, "temperature", temperature)
    for (stay_id, day, round_name), count in rounds.items():
        if count > 1:
            yield t(
                "check.round_twice",
                stay=stay_id,
                day=day,
                round=ROUND.label(round_name),
                count=count,
            )
    for key, test in rows(TESTS).items():
        if str(test["stay"]) not in stays:
            yield _broken(TESTS, key, "stay", test["stay"])
    for key, stay in stays.items():
        if not is_live(stay):
            continue
        # Results entered before the arrival was corrected, rounds outside the stay.
        yield from store.health.off_plan(int(key))
        tests = store.health.tests_of(int(key))
        if not tests:
            continue
        total = stay["quarantine_days"] + sum(e["days"] for e in stay["extensions"])
        last_day = tests[-1][1]["planned_day"]
        if stay["status"] == "open" and last_day != total:
            yield _broken(STAYS, key, "tests", last_day)
        arrived = date.fromisoformat(stay["arrived_at"][:10])
        for test_id, test in tests:
            # The plan follows the arrival: a corrected arrival moves every planned date.
            if test["planned_date"] != day_date(arrived, test["planned_day"]).isoformat():
                yield _broken(TESTS, test_id, "planned_date", test["planned_date"])
        discharge = discharges.get(str(stay.get("discharge")))
        if (
            discharge
            and is_live(discharge)
            and discharge["kind"] == "released_home"
            and tests[-1][1]["result"] != "negative"
            and not discharge.get("test_override")
        ):
            yield t("check.released_untested", stay=key)


def _supply_problems(movements: dict[str, Any]) -> Iterator[str]:
    """Stock never below zero at any moment; a transfer's two sides agree."""
    series: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for key, movement in movements.items():
        if not is_live(movement):
            continue
        series.setdefault((movement["point"], movement["item"]), []).append((int(key), movement))
        pair = movements.get(str(movement.get("pair")))
        if movement["kind"] in ("transfer_in", "transfer_out") and not (
            pair
            and is_live(pair)
            and pair.get("pair") == int(key)
            and (pair["item"], pair["quantity"], pair["at"])
            == (movement["item"], movement["quantity"], movement["at"])
            and (pair["point"], pair["other_point"]) == (movement["other_point"], movement["point"])
        ):
            yield t("check.transfer_unmatched", id=key, pair=movement.get("pair"))
    for (point, item), moves in sorted(series.items()):
        found = supplies.first_negative(moves)
        if found is not None:
            _, at, stock = found
            yield t(
                "check.stock_negative",
                point=point,
                item=supplies.item_label(item),
                at=at,
                stock=stock,
            )


def stored_records(store: Store) -> int:
    """How many documents the store holds, sealed history counted by its headers."""
    storage = store.db.storage
    headers, replaced = storage.sealed_outside()
    live = sum(len(rows) for rows in storage.live_tables().values())
    sealed = sum(sum(header["counts"].values()) for header in headers)
    # A sealed document replaced since is in the live set, or removed.
    return live + sealed - sum(len(rows) for rows in replaced.values())


def run_check(db_path: Location, *, everything: bool = False) -> int:
    try:
        store = open_store(db_path, read_only=True)
        found = store.db.storage.file_problems() + list(problems(store, everything=everything))
    except StoreError as exc:
        click_echo_err(t("check.unreadable", error=str(exc)))
        return 1
    records = stored_records(store)
    if found:
        for problem in found:
            click_echo_err(problem)
        click_echo_err(t("check.failed", count=len(found), path=db_path))
        return 1
    message = t("check.ok", records=records, seq=store.db.storage.seq, path=db_path)
    say(message)
    return 0
