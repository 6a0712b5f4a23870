"""Health rounds and tests: temperatures as typed, the test schedule, what is due.

Everyone in isolation is checked twice a day (a morning and an afternoon round) and
tested on set days of their stay. Day 1 is the day of arrival; the last planned
test always falls on the last day of the quarantine, so it moves with extensions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from ..i18n import t
from .codes import CodeSet
from .errors import FieldError

ROUND = CodeSet("round", ("morning", "afternoon"), {"上午": "morning", "下午": "afternoon"})
CHECK_STATUS = CodeSet(
    "check_status",
    ("well", "unwell", "missed", "refused"),
    {"正常": "well", "异常": "unwell", "未测": "missed", "拒测": "refused"},
)
TEST_RESULT = CodeSet(
    "test_result",
    ("pending", "negative", "positive"),
    {"阴": "negative", "阳": "positive", "-": "negative", "+": "positive", "n": "negative"},
)
TEST_KIND = CodeSet(
    "test_kind", ("nucleic_acid", "antigen"), {"核酸": "nucleic_acid", "抗原": "antigen"}
)

LOWEST, HIGHEST = 34.0, 42.5
FEVER = 37.3
AFTERNOON_FROM = 12  # a round entered from noon on is the afternoon round
# When each round is walked: it counts as missed for anyone not checked by its end.
ROUND_HOURS = {"morning": (6, 10), "afternoon": (AFTERNOON_FROM, 18)}

DEFAULT_TEST_DAYS: dict[str, list[int]] = {
    "inbound": [1, 4, 7, 14],
    "close_contact": [1, 4, 7, 14],
    "secondary_contact": [1, 4, 7],
    "high_risk_area": [1, 4, 7],
    "other": [1, 7, 14],
}

_DIGITS = re.compile(r"^\d{2,4}$")
_DECIMAL = re.compile(r"^\d{2}(\.\d{1,2})?$")


def parse_temperature(text: str, field: str = "temperature") -> float:
    """``36.5``, or digits only as typed on a number pad: ``365`` is 36.5 °C."""
    value = text.strip().replace("，", ".").replace(",", ".")
    if _DIGITS.match(value):
        number = int(value) / (10 ** (len(value) - 2))
    elif _DECIMAL.match(value):
        number = float(value)
    else:
        raise FieldError(field, "error.bad_temperature", value=text)
    number = round(number, 1)
    if not LOWEST <= number <= HIGHEST:
        raise FieldError(field, "error.temperature_range", value=number, low=LOWEST, high=HIGHEST)
    return number


def is_fever(temperature: float | None) -> bool:
    return temperature is not None and temperature >= FEVER


def round_of(hour: int) -> str:
    return "afternoon" if hour >= AFTERNOON_FROM else "morning"


def round_start(day: str, round_name: str) -> str:
    """When the round of ``day`` (``YYYY-MM-DD``) begins, as stored time text."""
    return f"{day} {ROUND_HOURS[round_name][0]:02d}:00"


def round_end(day: str, round_name: str) -> str:
    """When the round of ``day`` is over: a person not checked by then is missed."""
    return f"{day} {ROUND_HOURS[round_name][1]:02d}:00"


def round_fits(day: str, round_name: str, arrived_at: str, left_at: str = "") -> bool:
    """Whether the person was there for that round: it ended after they arrived, and
    began by the time they left (``left_at`` empty: still there)."""
    if round_end(day, round_name) <= arrived_at:
        return False
    return not left_at or round_start(day, round_name) <= left_at


def next_boundary(now: datetime) -> datetime:
    """The next moment after ``now`` at which a counter changes with no write: a
    round is over (missed checks), the round of the day turns to the afternoon one,
    or midnight (due today, overdue, tests due)."""
    hours = sorted({end for _, end in ROUND_HOURS.values()} | {AFTERNOON_FROM})
    for hour in hours:
        moment = datetime.combine(now.date(), time(hour))
        if moment > now:
            return moment
    return datetime.combine(now.date() + timedelta(days=1), time())


def planned_test_days(schedule: list[int], total_days: int) -> list[int]:
    """The planned days of a stay of ``total_days``: those of the schedule inside the
    stay, the last one moved to the last day (so nobody leaves untested)."""
    days = sorted({d for d in schedule if 1 <= d < total_days})
    if total_days >= 1:
        days.append(total_days)
    return days


def day_date(arrived: date, day: int) -> date:
    return arrived + timedelta(days=day - 1)


# What a draft incident says is kept as data (``summary_of``): each supervisor
# reads it in their own language. The stored ``summary`` is the text as the
# session that made it said it (for exports to other programs and for records
# made before the data was kept).
SUMMARIES = {"fever": "health.fever_summary", "positive_test": "health.positive_summary"}


def fever_summary_of(
    name: str, room: str, temperature: float, round_code: str, symptoms: str
) -> dict[str, str]:
    return {
        "kind": "fever",
        "name": name,
        "room": room,
        "temperature": f"{temperature:.1f}",
        "round": round_code,
        "symptoms": symptoms,
    }


def positive_summary_of(name: str, room: str) -> dict[str, str]:
    return {"kind": "positive_test", "name": name, "room": room}


def incident_summary(incident: Mapping[str, Any]) -> str:
    """An incident's summary in the reader's language: from its data when the
    program wrote it, else as a person typed it (or as an older version stored it)."""
    data = incident.get("summary_of")
    key = SUMMARIES.get(data.get("kind", "")) if isinstance(data, Mapping) else None
    if key is None:
        return str(incident.get("summary", ""))
    assert isinstance(data, Mapping)
    values = {name: str(value) for name, value in data.items() if name != "kind"}
    if "round" in values:
        values["round"] = ROUND.label(values["round"])
    symptoms = values.pop("symptoms", "")
    text = t(key, **values)
    return t("health.with_symptoms", text=text, symptoms=symptoms) if symptoms else text
