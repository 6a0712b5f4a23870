"""``export duty --month``: the allowance of a month, one row per person with duty.

A day counts when it holds at least the point's hours for a day of duty (default
4 h; a night shift counts on both days it touches); the amount is the days times the
point's daily rate for the person's role.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..domain.records import is_live
from ..domain.staff import duty_days
from ..storage.repository import Store
from ..storage.tables import DUTY

DUTY_COLUMNS = (
    "month",
    "point",
    "staff",
    "name",
    "role",
    "phone",
    "days",
    "dates",
    "day_hours",
    "rate",
    "amount",
)


def duty_rows(store: Store, month: str) -> Iterator[dict[str, object]]:
    """Each person with a day of duty in ``month``, by point and staff number (a
    person voided as a mistake has no live period left, so no row)."""
    periods: dict[int, list[tuple[str, str]]] = {}
    for doc in store.live_rows(DUTY).values():
        if is_live(doc) and doc["start"][:7] <= month and (doc["end"] or "9")[:7] >= month:
            periods.setdefault(doc["staff"], []).append((doc["start"], doc["end"]))
    now = store.clock()
    people = sorted(
        ((staff_id, store.staff.staff(staff_id) or {}) for staff_id in periods),
        key=lambda item: (item[1].get("point", ""), item[0]),
    )
    for staff_id, person in people:
        rules = store.staff.rules(person.get("point"))
        days = duty_days(periods[staff_id], month, rules.day_hours, now)
        if not days:
            continue
        rate = rules.rates.get(person.get("role", ""), 0)
        yield {
            "month": month,
            "point": person.get("point", ""),
            "staff": staff_id,
            "name": person.get("name", ""),
            "role": person.get("role", ""),
            "phone": person.get("phone", ""),
            "days": len(days),
            "dates": ",".join(f"{day.day:02d}" for day in days),
            "day_hours": rules.day_hours,
            "rate": rate,
            "amount": rate * len(days),
        }
