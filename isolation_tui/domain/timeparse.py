"""Times and dates as people type them; stored as local ISO text to the minute."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

CLOCK_TOLERANCE = timedelta(minutes=10)
NIGHT = timedelta(hours=12)

_DATE = r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
_TIME = r"(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})\s*秒?)?\s*分?"
_DATETIME_RE = re.compile(rf"^{_DATE}(?:\s*[ T]\s*{_TIME})?$")
_TIME_RE = re.compile(rf"^{_TIME}$")
_NOW_WORDS = {"now", "现在", "今", "n"}


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def format_date(day: date) -> str:
    return day.isoformat()


def short_time(text: str, today: date) -> str:
    """Stored time (or date) text for a list: without the year when it is this
    year's, whole otherwise (``2020-01-01`` must never pass for this January)."""
    return text[5:] if text[:4] == f"{today.year:04d}" else text


def list_moment(text: str, today: date) -> str:
    """A stored time for a list column: this year's without the year, another
    year's by its date alone (its hour is on the detail view), so the column keeps
    its width and the row still fits 80 columns."""
    return text[5:] if text[:4] == f"{today.year:04d}" else text[:10]


def parse_time(text: str, now: datetime | None = None) -> datetime | None:
    """``now``, ``14:05`` (today), ``2022-03-25 14:05``, ``2022/3/25 14:05``,
    ``2022年3月25日 14时05分``, or a bare date (midnight). None when unreadable."""
    now = now or datetime.now()
    value = text.strip()
    if value.lower() in _NOW_WORDS:
        return now.replace(second=0, microsecond=0)
    match = _TIME_RE.match(value)
    if match:
        moment = _build(now.year, now.month, now.day, match)
        # On a night shift, 23:55 typed at 00:05 means last night, not tonight; a time
        # further back than that is more likely a typo, left to be refused as future.
        if moment is not None and is_future(moment, now):
            yesterday = moment - timedelta(days=1)
            if now - yesterday <= NIGHT:
                return yesterday
        return moment
    match = _DATETIME_RE.match(value)
    if match:
        return _build(int(match["y"]), int(match["m"]), int(match["d"]), match)
    return None


EARLIEST_YEAR = 1900


def _build(year: int, month: int, day: int, match: re.Match[str]) -> datetime | None:
    hour = int(match["H"]) if match["H"] else 0
    minute = int(match["M"]) if match["M"] else 0
    if year < EARLIEST_YEAR:
        return None
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    moment = parse_time(text)
    if moment is None or moment.hour or moment.minute:
        return None
    return moment.date()


def is_future(moment: datetime, now: datetime | None = None) -> bool:
    return moment > (now or datetime.now()) + CLOCK_TOLERANCE
