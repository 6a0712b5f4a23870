"""The shapes of stored records and small facts derived from one record.

Records are plain dicts (TinyDB documents); these TypedDicts document them.
Times are local ``YYYY-MM-DD HH:MM`` text, dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NotRequired, TypedDict

from .idnumber import comparable


class Stamp(TypedDict):
    at: str
    who: str  # the OS account
    on_duty: NotRequired[str]  # the person on duty, when one named themselves


class Voided(Stamp):
    reason: str


class Room(TypedDict):
    code: str
    floor: str
    beds: int
    blocked: bool


class Point(TypedDict):
    code: str
    name: str
    address: str
    rooms: list[Room]
    quarantine_days: dict[str, int]


class Person(TypedDict):
    name: str
    sex: str
    birth_date: str
    id_type: str
    id_number: str
    nationality: str
    phone: str


class Extension(Stamp):
    days: int
    reason: str


class Stay(TypedDict):
    point: str
    room: str
    person: Person
    origin: str
    transport: str
    category: str
    arrived_at: str
    quarantine_days: int
    extensions: list[Extension]
    release_due: str
    status: str  # open | discharged
    discharge: int | None
    notes: str
    created: Stamp
    voided: NotRequired[Voided | None]
    # The people already in the room when this person was placed with them, as the
    # same household or group the supervisor confirmed; absent: placed alone.
    shares_with: NotRequired[list[int]]


class Discharge(TypedDict):
    stay: int
    point: str
    at: str
    kind: str
    destination: str
    negative_test: bool
    certificate: str
    notes: str
    created: Stamp
    voided: NotRequired[Voided | None]


class Action(Stamp):
    what: str


class Incident(TypedDict):
    point: str
    occurred_at: str
    kind: str
    severity: int
    stays: list[int]
    summary: str
    actions: list[Action]
    reported_to: str
    status: str  # open | handled
    handled_at: str
    resolution: str
    created: Stamp
    voided: NotRequired[Voided | None]


class AuditEntry(TypedDict):
    """Entries written before ``os_user`` had ``who`` and ``host`` instead: read them
    with :func:`~isolation_tui.domain.identity.audit_identity`."""

    at: str
    os_user: str  # the account of the real uid, from the OS
    on_duty: str  # the person on duty as they named themselves, or ""
    ssh_client_claimed: str  # the SSH client address the session gave, or ""
    action: str  # create | correct | void | discharge | extend | close | reopen | act
    table: str
    record: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str


def is_live(doc: dict[str, Any]) -> bool:
    """Voided records stay stored (nothing is deleted) but count for nothing."""
    return not doc.get("voided")


def person_key(id_type: str, id_number: str) -> str:
    """One person, however their number was typed (see ``idnumber.comparable``)."""
    return f"{id_type}:{comparable(id_number)}"


def release_due(arrived_at: str, quarantine_days: int, extensions: list[Extension]) -> str:
    """Arrival date + quarantine days + all extensions (which may be negative)."""
    start = date.fromisoformat(arrived_at[:10])
    days = quarantine_days + sum(e["days"] for e in extensions)
    return (start + timedelta(days=days)).isoformat()


def usable_beds(room: Room) -> int:
    return 0 if room.get("blocked") else int(room.get("beds", 0))


def room_at(stay: dict[str, Any], with_point: bool) -> str:
    """A stay's room; in a list of every point, with the point it is at (``DG02·101``):
    the same room number is at many points."""
    return f"{stay['point']}·{stay['room']}" if with_point else stay["room"]


def mask(value: str) -> str:
    """``210602199001011234`` → ``2106**********1234``: enough to tell people apart,
    never more than a third of the characters (so a short passport number stays hidden)."""
    if len(value) <= 4:
        return "*" * len(value)
    keep = max(1, min(4, (len(value) - 1) // 3))
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]
