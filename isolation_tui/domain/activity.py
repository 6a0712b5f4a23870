"""One line of words for an audit entry: who did what, to whom, when."""

from __future__ import annotations

from typing import Any

from ..i18n import t
from .codes import DISCHARGE_KIND, INCIDENT_KIND
from .health import incident_summary
from .identity import who_label
from .records import AuditEntry
from .supplies import MOVEMENT, item_label


def describe(entry: AuditEntry, record: dict[str, Any] | None) -> str:
    """``record`` is the record as it is now: a change's entry holds only what changed."""
    doc: dict[str, Any] = {**(record or {}), **(entry["after"] or entry["before"] or {})}
    table = entry["table"]
    if table == "stays":
        subject = f"{doc.get('person', {}).get('name', '')} ({doc.get('room', '')})"
    elif table == "discharges":
        subject = DISCHARGE_KIND.label(doc.get("kind", ""))
    elif table == "incidents":
        subject = f"{INCIDENT_KIND.label(doc.get('kind', ''))}: {incident_summary(doc)}"
    elif table == "duty":
        subject = f"{doc.get('start', '')} → {doc.get('end') or '…'}"
    elif table in ("supplies", "supply_items"):
        kind = MOVEMENT.label(doc["kind"]) if "kind" in doc else ""
        subject = " ".join(filter(None, (kind, item_label(doc.get("item", "")))))
        if doc.get("quantity"):
            subject += f" {doc['quantity']}"
    else:
        subject = str(doc.get("name", ""))
    action = t(f"activity.{entry['action']}")
    what = f"{t(f'activity.table_{table}')} #{entry['record']}"
    if table == "discharges":
        # Named by the person's number, as every list shows it: a discharge's own
        # number beside a person's would read as someone else.
        what = t("activity.discharge_of", stay=doc.get("stay", ""))
    reason = f" — {entry['reason']}" if entry["reason"] else ""
    who = who_label(entry)
    return f"{entry['at'][5:]} {who} {action} {what} {subject}{reason}"


def changed_fields(entry: AuditEntry) -> list[str]:
    """What a change changed, field by field: ``phone: 138… → 139…`` (full values:
    this is for the detail views, where nothing is masked)."""
    before, after = entry["before"] or {}, entry["after"] or {}
    if not before:
        return []
    lines = []
    for key in sorted(after):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines.extend(
                f"{t(f'field.{k}')}: {old.get(k, '')} → {new.get(k, '')}"
                for k in sorted(new)
                if old.get(k) != new.get(k)
            )
        elif not isinstance(new, list | dict) and key not in HIDDEN:
            lines.append(f"{t(f'field.{key}')}: {old if old is not None else ''} → {new}")
    return lines


# Bookkeeping fields whose change the entry's own words already say.
HIDDEN = frozenset({"status", "discharge", "voided", "actions", "extensions", "addenda"})
