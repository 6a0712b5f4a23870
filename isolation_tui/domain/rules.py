"""From what people type (form fields, CSV cells) to checked records.

Each ``*_from_fields`` function takes text fields by their English column names,
returns the record to store, and raises :class:`ValidationFailed` listing every
broken rule by field. Rules that need other records (beds taken, open stays)
take the facts they need as arguments, so this module stays pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from .codes import (
    CATEGORY,
    DEFAULT_QUARANTINE_DAYS,
    DISCHARGE_KIND,
    ID_TYPE,
    INCIDENT_KIND,
    INCIDENT_STATUS,
    SEVERITY,
    SEX,
    CodeSet,
)
from .errors import Collector, FieldError
from .idnumber import (
    MAX_ID_NUMBER,
    birth_date_of,
    character,
    id_number_problem,
    normalise,
    resident_id_problem,
    sex_of,
)
from .records import Discharge, Incident, Person, Point, Room, Stay, release_due, usable_beds
from .timeparse import CLOCK_TOLERANCE, format_time, is_future, parse_date, parse_time

MAX_TEXT = 500
# An arrival typed further back than this (or at all ahead of the clock) is asked
# about before it is stored: 2020 typed for 2026 plans every test years ago.
CONFIRM_ARRIVAL_BEFORE = timedelta(days=2)
MAX_QUARANTINE_DAYS = 90
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
_TRUE = {"1", "y", "yes", "true", "是", "有", "阴性", "negative", "x", "✓"}
_FALSE = {"", "0", "n", "no", "false", "否", "无", "未"}


# Bidirectional overrides and isolates: they reorder what follows them on screen, so a
# pasted name could show as something it is not.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def strip_controls(text: str) -> str:
    """Control characters out (they corrupt terminals and CSV), and the invisible
    characters that reorder text; tabs and line breaks become spaces. Everything
    else, spaces included, stays as typed."""
    return "".join(
        " " if ch in "\t\n\r" else ch
        for ch in text
        if (unicodedata.category(ch) != "Cc" or ch in "\t\n\r") and ch not in _BIDI
    )


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """A field's value: as typed, without control characters or surrounding spaces."""
    return strip_controls("" if value is None else str(value)).strip()[:limit]


def clean_code(value: object, field: str) -> str:
    """A point, room or floor code as stored: NFKC, so full-width letters and digits
    (as a Chinese input method types them) are the ASCII ones. Codes are written in
    ASCII and Chinese characters; any other character (a Cyrillic О for the Latin O,
    a zero-width space) is refused, naming it: two codes that read alike on screen
    must be one code, or a colleague's look-alike point takes another's arrivals."""
    code = unicodedata.normalize("NFKC", clean_text(value))
    for ch in code:
        if not (" " <= ch <= "~" or unicodedata.name(ch, "").startswith("CJK UNIFIED")):
            raise FieldError(field, "error.code_char", **character(ch))
    return code


def clean_notes(value: object, limit: int = 4000) -> str:
    """Several lines as typed: line breaks kept, other control characters dropped."""
    lines = str(value or "").replace("\r\n", "\n").split("\n")
    return "\n".join(clean_text(line, limit) for line in lines).strip()[:limit]


def _field(fields: Mapping[str, Any], name: str) -> str:
    return clean_text(fields.get(name, ""))


def _code(
    errors: Collector, fields: Mapping[str, Any], name: str, codes: CodeSet, default: str = ""
) -> str:
    raw = _field(fields, name) or default
    if not raw:
        errors.add(name, "error.required")
        return ""
    code = codes.parse(raw)
    if code is None:
        errors.add(name, "error.unknown_code", value=raw, choices=codes.choices())
        return ""
    return code


def _time(
    errors: Collector, fields: Mapping[str, Any], name: str, now: datetime, required: bool = True
) -> str:
    raw = _field(fields, name)
    if not raw:
        if required:
            errors.add(name, "error.required")
        return ""
    moment = parse_time(raw, now)
    if moment is None:
        errors.add(name, "error.bad_time", value=raw)
        return ""
    if is_future(moment, now):
        errors.add(name, "error.future", value=format_time(moment))
        return ""
    return format_time(moment)


def parse_bool(errors: Collector, name: str, raw: str) -> bool:
    key = raw.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    errors.add(name, "error.bad_bool", value=raw)
    return False


_CHINA = {"cn", "chn", "china", "中国", "中华人民共和国"}


def shares_room(fields: Mapping[str, Any]) -> bool:
    """Whether the fields confirm that the person shares a room with the people in
    it (the same household or group): sharing is a choice, never a default."""
    errors = Collector()
    shared = parse_bool(errors, "shares_room", _field(fields, "shares_room"))
    errors.raise_if_any()
    return shared


def person_from_fields(errors: Collector, fields: Mapping[str, Any], now: datetime) -> Person:
    name = _field(fields, "name")
    if not name:
        errors.add("name", "error.required")
    id_type = _code(errors, fields, "id_type", ID_TYPE, default="resident_id")
    id_number = normalise(_field(fields, "id_number"))
    char_problem = id_number_problem(id_number)
    if not id_number:
        errors.add("id_number", "error.required")
    elif char_problem:
        errors.add("id_number", char_problem[0], **char_problem[1])
    elif id_type == "resident_id":
        problem = resident_id_problem(id_number)
        if problem:
            errors.add("id_number", problem)
    elif len(id_number) > MAX_ID_NUMBER:
        errors.add("id_number", "error.too_long", limit=MAX_ID_NUMBER)

    birth = ""
    raw_birth = _field(fields, "birth_date")
    if raw_birth:
        born = parse_date(raw_birth)
        if born is None:
            errors.add("birth_date", "error.bad_date", value=raw_birth)
        elif born > now.date():
            errors.add("birth_date", "error.future", value=born.isoformat())
        else:
            birth = born.isoformat()
    resident_ok = id_type == "resident_id" and id_number and not errors.has("id_number")
    if resident_ok:
        from_id = birth_date_of(id_number)
        assert from_id is not None
        if from_id > now.date():
            errors.add("id_number", "error.id_birth_future", born=from_id.isoformat())
        if birth and birth != from_id.isoformat():
            errors.add("birth_date", "error.birth_mismatch", id_birth=from_id.isoformat())
        birth = birth or from_id.isoformat()

    sex = "unknown"
    raw_sex = _field(fields, "sex")
    if raw_sex:
        parsed = SEX.parse(raw_sex)
        if parsed is None:
            errors.add("sex", "error.unknown_code", value=raw_sex, choices=SEX.choices())
        else:
            sex = parsed
    if resident_ok:
        from_id_sex = sex_of(id_number)
        if raw_sex and sex not in ("unknown", from_id_sex):
            errors.add("sex", "error.sex_mismatch")
        sex = from_id_sex

    phone = _field(fields, "phone")
    if phone and not PHONE_RE.match(phone):
        errors.add("phone", "error.bad_phone", value=phone)
    nationality = _field(fields, "nationality") or ("CN" if id_type == "resident_id" else "")
    if nationality.casefold() in _CHINA:
        # The form shows China in the user's language; the record keeps one code.
        nationality = "CN"
    return Person(
        name=name,
        sex=sex,
        birth_date=birth,
        id_type=id_type,
        id_number=id_number,
        nationality=nationality,
        phone=phone,
    )


def quarantine_days_for(point: Point | None, category: str) -> int:
    if point and category in point.get("quarantine_days", {}):
        return int(point["quarantine_days"][category])
    return DEFAULT_QUARANTINE_DAYS.get(category, 14)


def int_in_range(errors: Collector, name: str, raw: str, low: int, high: int) -> int | None:
    try:
        value = int(raw.strip())
    except ValueError:
        errors.add(name, "error.not_number", value=raw)
        return None
    if not low <= value <= high:
        errors.add(name, "error.out_of_range", value=value, low=low, high=high)
        return None
    return value


def arrival_from_fields(
    fields: Mapping[str, Any], points: Mapping[str, Point], now: datetime | None = None
) -> Stay:
    """A new stay from its fields; the room is checked later against beds taken."""
    now = now or datetime.now()
    errors = Collector()
    code = _field(fields, "point")
    point = points.get(code)
    if not code:
        errors.add("point", "error.required")
    elif point is None:
        errors.add("point", "error.unknown_point", value=code)
    person = person_from_fields(errors, fields, now)
    category = _code(errors, fields, "category", CATEGORY)
    arrived_at = _time(errors, fields, "arrived_at", now)
    raw_days = _field(fields, "quarantine_days")
    days: int | None
    if raw_days:
        days = int_in_range(errors, "quarantine_days", raw_days, 0, MAX_QUARANTINE_DAYS)
    else:
        days = quarantine_days_for(point, category or "other")
    errors.raise_if_any()
    assert days is not None
    return Stay(
        # The point's own code, one string for all its people (a bus of thousands).
        point=point["code"] if point is not None else code,
        room=_field(fields, "room"),
        person=person,
        origin=_field(fields, "origin"),
        transport=_field(fields, "transport"),
        category=category,
        arrived_at=arrived_at,
        quarantine_days=days,
        extensions=[],
        release_due=release_due(arrived_at, days, []),
        status="open",
        discharge=None,
        notes=_field(fields, "notes"),
        created={"at": "", "who": ""},
    )


def unusual_arrival(moment: datetime, now: datetime) -> str:
    """``"past"`` or ``"future"`` when an arrival time should be confirmed before it is
    stored, else "". (A time beyond the clock tolerance is refused by the rules.)"""
    if moment < now - CONFIRM_ARRIVAL_BEFORE:
        return "past"
    if now < moment <= now + CLOCK_TOLERANCE:
        return "future"
    return ""


def check_room(point: Point, room_code: str, taken: int, field: str = "room") -> Room:
    """The room, if it exists, is not blocked and has a free bed (``taken`` beds used)."""
    for room in point["rooms"]:
        if room["code"] == room_code:
            if room.get("blocked"):
                raise FieldError(field, "error.room_blocked", room=room_code)
            if taken >= usable_beds(room):
                raise FieldError(field, "error.room_full", room=room_code, beds=room["beds"])
            return room
    raise FieldError(field, "error.unknown_room", room=room_code, point=point["code"])


def discharge_from_fields(
    fields: Mapping[str, Any], stay: Stay | None, now: datetime | None = None
) -> Discharge:
    """A discharge of ``stay`` (the person's open stay, found by the caller)."""
    now = now or datetime.now()
    errors = Collector()
    if stay is None:
        errors.add("id_number", "error.no_open_stay")
    elif stay["status"] != "open" or stay.get("voided"):
        errors.add("id_number", "error.stay_not_open")
    at = _time(errors, fields, "discharged_at", now)
    if at and stay and at < stay["arrived_at"]:
        errors.add("discharged_at", "error.before_arrival", value=at, arrived=stay["arrived_at"])
    kind = _code(errors, fields, "kind", DISCHARGE_KIND)
    negative = parse_bool(errors, "negative_test", _field(fields, "negative_test"))
    early = bool(stay and at and at[:10] < stay["release_due"])
    if kind == "released_home" and early and not _field(fields, "notes"):
        # Going home before the quarantine ends is an exception someone must explain.
        assert stay is not None
        days = (date.fromisoformat(stay["release_due"]) - date.fromisoformat(at[:10])).days
        errors.add("notes", "error.early_release", days=days, due=stay["release_due"])
    errors.raise_if_any()
    assert stay is not None
    return Discharge(
        stay=0,
        point=stay["point"],
        at=at,
        kind=kind,
        destination=_field(fields, "destination"),
        negative_test=negative,
        certificate=_field(fields, "certificate"),
        notes=_field(fields, "notes"),
        created={"at": "", "who": ""},
    )


def incident_from_fields(
    fields: Mapping[str, Any], points: Mapping[str, Point], now: datetime | None = None
) -> Incident:
    now = now or datetime.now()
    errors = Collector()
    code = _field(fields, "point")
    if not code:
        errors.add("point", "error.required")
    elif code not in points:
        errors.add("point", "error.unknown_point", value=code)
    occurred = _time(errors, fields, "occurred_at", now)
    kind = _code(errors, fields, "kind", INCIDENT_KIND)
    severity = _code(errors, fields, "severity", SEVERITY)
    summary = _field(fields, "summary")
    if not summary:
        errors.add("summary", "error.required")
    status = _code(errors, fields, "status", INCIDENT_STATUS, default="open")
    handled_at = resolution = ""
    if status == "handled":
        handled_at = _time(errors, fields, "handled_at", now)
        if handled_at and occurred and handled_at < occurred:
            errors.add("handled_at", "error.before_occurred", occurred=occurred)
        resolution = _field(fields, "resolution")
        if not resolution:
            errors.add("resolution", "error.resolution_required")
    errors.raise_if_any()
    return Incident(
        point=code,
        occurred_at=occurred,
        kind=kind,
        severity=int(severity),
        stays=[],
        summary=summary,
        actions=[],
        reported_to=_field(fields, "reported_to"),
        status=status or "open",
        handled_at=handled_at,
        resolution=resolution,
        created={"at": "", "who": ""},
    )


def closing_fields(
    incident: Incident, resolution: str, handled_at: str, now: datetime | None = None
) -> dict[str, str]:
    """The fields that close ``incident`` as handled; an incident closes only with a
    resolution, and not before it happened."""
    now = now or datetime.now()
    errors = Collector()
    if incident["status"] == "handled":
        errors.add("status", "error.already_handled")
    text = clean_text(resolution)
    if not text:
        errors.add("resolution", "error.resolution_required")
    at = _time(errors, {"handled_at": handled_at or "now"}, "handled_at", now)
    if at and at < incident["occurred_at"]:
        errors.add("handled_at", "error.before_occurred", occurred=incident["occurred_at"])
    errors.raise_if_any()
    return {"status": "handled", "handled_at": at, "resolution": text}


def action_time(incident: Incident, at: str, now: datetime | None = None) -> str:
    """When an action on ``incident`` was taken: not in the future, not before it began."""
    now = now or datetime.now()
    errors = Collector()
    when = _time(errors, {"at": at or "now"}, "at", now)
    if when and when < incident["occurred_at"]:
        errors.add("at", "error.before_occurred", occurred=incident["occurred_at"])
    errors.raise_if_any()
    return when


def extension_days(raw: str, stay: Stay) -> int:
    """Days to add (or, negative, to take off) a stay's quarantine, checked."""
    errors = Collector()
    days = int_in_range(errors, "days", raw, -MAX_QUARANTINE_DAYS, MAX_QUARANTINE_DAYS)
    if days == 0:
        errors.add("days", "error.zero_days")
    errors.raise_if_any()
    assert days is not None
    total = stay["quarantine_days"] + sum(e["days"] for e in stay["extensions"]) + days
    if total < 0:
        raise FieldError("days", "error.negative_quarantine")
    return days


def require_reason(reason: str) -> str:
    text = clean_text(reason)
    if not text:
        raise FieldError("reason", "error.reason_required")
    return text
