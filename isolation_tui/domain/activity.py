"""One line of words for an audit entry: who did what, to whom, when."""

from __future__ import annotations

from typing import Any

from ..i18n import t
from .codes import DISCHARGE_KIND, INCIDENT_KIND
from .records import AuditEntry


def describe(entry: AuditEntry, record: dict[str, Any] | None) -> str:
    """``record`` is the record as it is now: a change's entry holds only what changed."""
    doc: dict[str, Any] = {**(record or {}), **(entry["after"] or entry["before"] or {})}
    table = entry["table"]
    if table == "stays":
        subject = f"{doc.get('person', {}).get('name', '')} ({doc.get('room', '')})"
    elif table == "discharges":
        subject = DISCHARGE_KIND.label(doc.get("kind", ""))
    elif table == "incidents":
        subject = f"{INCIDENT_KIND.label(doc.get('kind', ''))}: {doc.get('summary', '')}"
    else:
        subject = str(doc.get("name", ""))
    action = t(f"activity.{entry['action']}")
    what = t(f"activity.table_{table}")
    reason = f" — {entry['reason']}" if entry["reason"] else ""
    return f"{entry['at'][5:]} {entry['who']} {action} {what} #{entry['record']} {subject}{reason}"
