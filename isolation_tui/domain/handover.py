"""The shift handover: what happened in a window, and what the next shift must do.

A window is a stretch of the audit log: every change after the entry the last
handover covered (or after a chosen time), up to the latest one. Windows defined
this way follow each other exactly, whatever the clock says: a record entered a
second after a handover was signed is in the next window, never in both, never in
neither. The records as they were at any audit entry are rebuilt by replaying the
log; the storage does it from the other end, taking the window's changes back from
the records as they are now (each change keeps the fields it changed, before and
after), so the counters at the start of a window are exact too and cost what the
window holds, not the history.

A summary is plain data: it is stored as signed and shown again exactly so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from .errors import FieldError
from .health import FEVER
from .records import AuditEntry, Point, is_live

Tables = dict[str, dict[int, dict[str, Any]]]

DEFAULT_SHIFTS = ("08:00", "20:00")


def parse_shifts(text: str) -> list[str]:
    """When shifts start, as typed (``08:00,20:00``): sorted ``HH:MM`` texts."""
    starts: set[str] = set()
    for part in text.replace("，", ",").split(","):
        try:
            moment = time.fromisoformat(part.strip().zfill(5))
        except ValueError as exc:
            raise FieldError("shifts", "error.bad_shifts", value=text) from exc
        starts.add(moment.strftime("%H:%M"))
    if not starts or len(starts) > 6:
        raise FieldError("shifts", "error.bad_shifts", value=text)
    return sorted(starts)


def shift_start(now: datetime, shifts: Sequence[str]) -> datetime:
    """The start of the shift ``now`` falls in (before the day's first start: the
    last start of the day before)."""
    today = [datetime.combine(now.date(), time.fromisoformat(s)) for s in sorted(shifts)]
    started = [moment for moment in today if moment <= now]
    return started[-1] if started else today[-1] - timedelta(days=1)


@dataclass(frozen=True)
class Window:
    after_audit: int
    """Changes after this audit entry are in the window (0: from the beginning)."""
    upto_audit: int
    """…up to and including this one."""
    start: str
    end: str


def rewind(
    now: Mapping[tuple[str, int], dict[str, Any] | None], entries: Sequence[AuditEntry]
) -> dict[tuple[str, int], dict[str, Any] | None]:
    """The records ``now`` holds (``(table, id)``: as they are now, None when there
    is none), as they stood before the changes ``entries`` (in log order) made:
    each change taken back, newest first, by the values the audit kept of the fields
    it changed; a record created among them did not exist yet."""
    then = {key: None if doc is None else dict(doc) for key, doc in now.items()}
    for entry in reversed(entries):
        key = (entry["table"], entry["record"])
        doc = then.get(key)
        if entry["action"] == "create":
            then[key] = None
        elif doc is not None:
            doc.update(entry["before"] or {})
    return then


def _at_point(doc: Mapping[str, Any], point: str | None) -> bool:
    return point is None or doc.get("point") == point


def _person(stay: Mapping[str, Any] | None) -> tuple[str, str]:
    if not stay:
        return "", ""
    return stay.get("person", {}).get("name", ""), stay.get("room", "")


def summarise(
    point: str | None,
    window: Window,
    entries: Sequence[AuditEntry],
    now_tables: Tables,
    points: Mapping[str, Point],
    now: datetime,
    counters: tuple[dict[str, int], dict[str, int]],
) -> dict[str, Any]:
    """The handover of ``point`` (None: all points) for ``window``; ``entries`` are
    the window's changes in order; ``now_tables`` the records now (at least those
    the changes are about, their stays, the open stays and incidents);
    ``counters`` the figures at its start and now."""
    counters_start, counters_end = counters
    stays, discharges, incidents, checks, tests = (
        now_tables.get(name, {}) for name in ("stays", "discharges", "incidents", "checks", "tests")
    )
    arrivals: list[dict[str, Any]] = []
    gone: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    steps: dict[int, list[dict[str, str]]] = {}
    health: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in entries:
        table, record, action = entry["table"], entry["record"], entry["action"]
        if table == "stays" and action == "create":
            stay = stays.get(record)
            if stay and _at_point(stay, point):
                name, room = _person(stay)
                arrivals.append(
                    {
                        "id": record,
                        "name": name,
                        "room": room,
                        "at": stay["arrived_at"],
                        "category": stay["category"],
                        "voided": not is_live(stay),
                    }
                )
        elif table == "discharges" and action == "create":
            discharge = discharges.get(record)
            if discharge and _at_point(discharge, point):
                name, room = _person(stays.get(discharge["stay"]))
                gone.append(
                    {
                        "id": record,
                        "stay": discharge["stay"],
                        "name": name,
                        "room": room,
                        "kind": discharge["kind"],
                        "at": discharge["at"],
                        "destination": discharge["destination"],
                        "override": discharge.get("test_override", ""),
                        "voided": not is_live(discharge),
                    }
                )
        elif table == "incidents" and action in ("create", "close", "confirm", "reopen"):
            incident = incidents.get(record)
            if incident and _at_point(incident, point) and incident["status"] != "draft":
                if action in ("close", "reopen"):
                    after = entry["after"] or {}
                    steps.setdefault(record, []).append(
                        {
                            "action": action,
                            "at": after.get("handled_at") or entry["at"],
                            "text": after.get("resolution", "") or entry.get("reason", ""),
                        }
                    )
                elif not any(i["id"] == record for i in opened):
                    opened.append(_incident(record, incident))
        elif table in ("checks", "tests"):
            # A check or test entered (or corrected) in the window, as it stands now.
            doc = (checks if table == "checks" else tests).get(record)
            if doc and _at_point(doc, point) and is_live(doc):
                health[(table, record)] = doc
    fevers, positives, missed = [], [], []
    for (table, record), doc in sorted(health.items(), key=lambda item: item[0][1]):
        name, room = _person(stays.get(doc["stay"]))
        who = {"stay": doc["stay"], "name": name, "room": room}
        if table == "tests":
            if doc["result"] == "positive":
                positives.append({**who, "id": record, "at": doc["taken_at"]})
        elif doc["temperature"] is not None and doc["temperature"] >= FEVER:
            fevers.append(
                {
                    **who,
                    "id": record,
                    "at": doc["at"],
                    "temperature": doc["temperature"],
                    "symptoms": doc.get("symptoms", ""),
                }
            )
        elif doc["status"] in ("missed", "refused"):
            missed.append(
                {
                    **who,
                    "id": record,
                    "day": doc["day"],
                    "round": doc["round"],
                    "status": doc["status"],
                }
            )
    # Handled in the window and handled still: listed once, however often it was
    # reopened and closed again (that history is in its entry).
    handled = [
        {**_incident(record, incidents[record]), "history": history}
        for record, history in steps.items()
        if incidents[record]["status"] == "handled" and is_live(incidents[record])
    ]
    by_kind: dict[str, int] = {}
    for discharge in gone:
        if not discharge["voided"]:
            by_kind[discharge["kind"]] = by_kind.get(discharge["kind"], 0) + 1
    still_open, drafts = (
        sorted(
            (
                {**_incident(i, doc), "history": steps.get(i, [])}
                for i, doc in incidents.items()
                if is_live(doc) and doc["status"] == status and _at_point(doc, point)
            ),
            key=lambda i: (-i["severity"], i["at"]),
        )
        for status in ("open", "draft")
    )
    today = now.date().isoformat()
    tomorrow = (now + timedelta(hours=24)).date().isoformat()
    due, overdue = [], []
    for stay_id, stay in sorted(stays.items(), key=lambda item: (item[1]["release_due"], item[0])):
        if not is_live(stay) or stay["status"] != "open" or not _at_point(stay, point):
            continue
        name, room = _person(stay)
        row = {"id": stay_id, "name": name, "room": room, "due": stay["release_due"]}
        if stay["release_due"] < today:
            overdue.append(row)
        elif stay["release_due"] <= tomorrow:
            due.append(row)
    blocked = [
        f"{code} {room['code']}"
        for code, p in points.items()
        if point is None or code == point
        for room in p["rooms"]
        if room.get("blocked")
    ]
    return {
        "point": point,
        "point_name": points[point]["name"] if point in points else "",
        "start": window.start,
        "end": window.end,
        "after_audit": window.after_audit,
        "upto_audit": window.upto_audit,
        "counters_start": counters_start,
        "counters_end": counters_end,
        "arrivals": arrivals,
        "discharges": gone,
        "discharges_by_kind": by_kind,
        "incidents_opened": opened,
        "incidents_handled": handled,
        "incidents_open": still_open,
        "incidents_draft": drafts,
        "fevers": fevers,
        "positives": positives,
        "missed_checks": missed,
        "due_next_24h": due,
        "overdue": overdue,
        "blocked_rooms": blocked,
    }


def _incident(record: int, incident: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": record,
        "kind": incident["kind"],
        "severity": incident["severity"],
        "summary": incident["summary"],
        "summary_of": incident.get("summary_of"),
        "at": incident["occurred_at"],
        "status": incident["status"],
        "handled_at": incident.get("handled_at", ""),
        "resolution": incident.get("resolution", ""),
        "voided": not is_live(incident),
    }


def start_day(window: Window, fallback: datetime) -> datetime:
    """The moment a window starts, for the figures that depend on the day."""
    try:
        return datetime.strptime(window.start, "%Y-%m-%d %H:%M")
    except ValueError:
        return fallback
