"""A point's staff and their duty: who may be on duty, the periods they worked, how
long is too long at a stretch, and the days of duty an allowance is paid for.

A duty period is a start and, once the person is off duty, an end. One person's
periods never overlap: a second start while on duty, or a correction that would
make two periods share a minute, is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from .codes import STAFF_ROLE
from .errors import Collector, FieldError
from .records import Point
from .rules import PHONE_RE, clean_text, int_in_range
from .timeparse import format_time, is_future, parse_time

DEFAULT_LIMIT_HOURS = 12
"""On duty longer than this at a stretch is flagged (the article: more than ten hours
in a suit, when suits ran short)."""
DEFAULT_DAY_HOURS = 4
"""A day counts for the allowance when it holds at least this many hours on duty."""
DEFAULT_RATES: dict[str, int] = {
    "medical": 200,
    "nursing": 200,
    "police": 150,
    "cleaning": 100,
    "catering": 100,
    "cadre": 150,
    "other": 100,
}
"""Yuan per day of duty by role (the article: 100–200 yuan a day)."""
MAX_NAME = 100
MAX_PHONE = 30
MAX_LIMIT_HOURS = 72
MAX_RATE = 10_000


@dataclass(frozen=True)
class DutyRules:
    """A point's own duty settings (defaults where it set none)."""

    limit_hours: int = DEFAULT_LIMIT_HOURS
    day_hours: int = DEFAULT_DAY_HOURS
    rates: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RATES))

    def as_doc(self) -> dict[str, Any]:
        return {
            "limit_hours": self.limit_hours,
            "day_hours": self.day_hours,
            "rates": dict(self.rates),
        }


def duty_rules(point: Point | Mapping[str, Any] | None) -> DutyRules:
    doc = (point or {}).get("duty") or {}
    return DutyRules(
        limit_hours=int(doc.get("limit_hours", DEFAULT_LIMIT_HOURS)),
        day_hours=int(doc.get("day_hours", DEFAULT_DAY_HOURS)),
        rates={**DEFAULT_RATES, **doc.get("rates", {})},
    )


def changed_rules(
    current: DutyRules, limit_hours: str = "", day_hours: str = "", rates: Iterable[str] = ()
) -> DutyRules:
    """``current`` with what was typed: hours as whole numbers, rates as
    ``role=yuan`` (``medical=200``, ``医疗=200``)."""
    errors = Collector()
    limit = current.limit_hours
    if limit_hours.strip():
        limit = int_in_range(errors, "limit", limit_hours, 1, MAX_LIMIT_HOURS) or limit
    day = current.day_hours
    if day_hours.strip():
        day = int_in_range(errors, "day_hours", day_hours, 1, 24) or day
    new_rates = dict(current.rates)
    for text in rates:
        role_text, sep, amount = text.replace("＝", "=").partition("=")
        role = STAFF_ROLE.parse(role_text)
        if not sep or role is None:
            errors.add("rate", "error.bad_rate", value=text, choices=STAFF_ROLE.choices())
            continue
        yuan = int_in_range(errors, "rate", amount, 0, MAX_RATE)
        if yuan is not None:
            new_rates[role] = yuan
    errors.raise_if_any()
    return DutyRules(limit, day, new_rates)


def staff_from_fields(fields: Mapping[str, Any], points: Mapping[str, Point]) -> dict[str, Any]:
    """A staff member from the fields typed or imported; every problem at once."""
    errors = Collector()
    point = clean_text(fields.get("point", ""))
    if not point:
        errors.add("point", "error.required")
    elif point not in points:
        errors.add("point", "error.unknown_point", value=point)
    name = clean_text(fields.get("name", ""), MAX_NAME + 1)
    if not name:
        errors.add("name", "error.required")
    elif len(name) > MAX_NAME:
        errors.add("name", "error.too_long", limit=MAX_NAME)
    raw_role = clean_text(fields.get("role", ""))
    role = STAFF_ROLE.parse(raw_role) if raw_role else None
    if not raw_role:
        errors.add("role", "error.required")
    elif role is None:
        errors.add("role", "error.unknown_code", value=raw_role, choices=STAFF_ROLE.choices())
    phone = clean_text(fields.get("phone", ""))
    if phone and (len(phone) > MAX_PHONE or not PHONE_RE.match(phone)):
        errors.add("phone", "error.bad_phone", value=phone)
    errors.raise_if_any()
    return {
        "point": point,
        "name": name,
        "role": role,
        "phone": phone,
        "notes": clean_text(fields.get("notes", "")),
    }


def duty_time(raw: str, now: datetime, name: str = "at") -> str:
    """A start or end as typed (``now`` when empty), not ahead of the clock."""
    text = clean_text(raw) or "now"
    moment = parse_time(text, now)
    if moment is None:
        raise FieldError(name, "error.bad_time", value=text)
    if is_future(moment, now):
        raise FieldError(name, "error.future", value=format_time(moment))
    return format_time(moment)


Period = tuple[str, str]
"""A duty period as stored: its start and its end (``""`` while on duty)."""


def overlapping(start: str, end: str, others: Iterable[tuple[int, Period]]) -> int | None:
    """The first of ``others`` that shares a minute with ``start``–``end``. An open
    period has no end yet: nothing may start after its start either."""
    for period_id, (other_start, other_end) in others:
        if not other_end:
            # Still on duty: the period has no end yet, whatever the clock says.
            if not end or end > other_start:
                return period_id
            continue
        if start < other_end and (not end or end > other_start):
            return period_id
    return None


def check_period(start: str, end: str) -> None:
    if end and end <= start:
        raise FieldError("end", "error.duty_end_before_start", start=start)


def hours_between(start: str, end: datetime) -> float:
    return (end - datetime.fromisoformat(start)).total_seconds() / 3600


def over_limit(start: str, now: datetime, limit_hours: int) -> bool:
    return datetime.fromisoformat(start) + timedelta(hours=limit_hours) < now


def limit_moment(start: str, limit_hours: int) -> datetime:
    """When someone on duty since ``start`` goes over the limit (flagged after it)."""
    return datetime.fromisoformat(start) + timedelta(hours=limit_hours, minutes=1)


def hours_by_day(periods: Iterable[Period], now: datetime) -> dict[date, float]:
    """Hours on duty per calendar day (a night shift counts on both days it touches);
    an open period runs to ``now``."""
    days: dict[date, float] = {}
    for start_text, end_text in periods:
        start = datetime.fromisoformat(start_text)
        end = datetime.fromisoformat(end_text) if end_text else now
        while start < end:
            midnight = datetime.combine(start.date() + timedelta(days=1), time())
            upto = min(end, midnight)
            days[start.date()] = days.get(start.date(), 0.0) + (upto - start).total_seconds() / 3600
            start = upto
    return days


def duty_days(periods: Iterable[Period], month: str, day_hours: int, now: datetime) -> list[date]:
    """The days of ``month`` (``2022-03``) that count for the allowance."""
    return sorted(
        day
        for day, hours in hours_by_day(periods, now).items()
        if day.strftime("%Y-%m") == month and hours >= day_hours
    )


def parse_month(text: str) -> str:
    """``2022-03`` (also ``2022/3``, ``2022年3月``) as stored months are compared."""
    cleaned = clean_text(text).replace("年", "-").replace("月", "").replace("/", "-")
    year, _, month = cleaned.partition("-")
    try:
        return date(int(year), int(month), 1).strftime("%Y-%m")
    except ValueError as exc:
        raise FieldError("month", "error.bad_month", value=text) from exc
