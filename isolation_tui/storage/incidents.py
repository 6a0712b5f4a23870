"""Writing incidents: opened, acted on, closed, reopened, and the drafts the
program raises confirmed by a person. Each change runs in the store's transaction
and is audited by it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ..domain.errors import FieldError
from ..domain.records import Incident, is_live
from ..domain.rules import (
    action_time,
    clean_text,
    closing_fields,
    incident_from_fields,
    require_reason,
)
from .service import Service
from .tables import INCIDENTS


class IncidentService(Service):
    """Incidents from opening to closing (``store.incidents``)."""

    def open(self, fields: Mapping[str, Any], stays: list[int] | None = None) -> int:
        with self.store.transaction():
            incident = incident_from_fields(fields, self.store.points(), self.store.clock())
            for stay_id in stays or []:
                self.store._stay(stay_id)
            incident["stays"] = list(stays or [])
            return self.store._create(INCIDENTS, incident)

    def add_action(self, incident_id: int, what: str, at: str = "") -> Incident:
        """Record an action taken; ``at`` (default now) when it was taken."""
        text = clean_text(what)
        if not text:
            raise FieldError("what", "error.required")
        with self.store.transaction():
            incident = self._incident(incident_id)
            when = action_time(incident, at, self.store.clock())
            actions = [*incident["actions"], {**self.store._stamp(), "at": when, "what": text}]
            return cast(
                Incident, self.store._change(INCIDENTS, incident_id, {"actions": actions}, "act")
            )

    def close(self, incident_id: int, resolution: str, handled_at: str = "") -> Incident:
        with self.store.transaction():
            incident = self._incident(incident_id)
            changes = closing_fields(incident, resolution, handled_at, self.store.clock())
            return cast(Incident, self.store._change(INCIDENTS, incident_id, changes, "close"))

    def reopen(self, incident_id: int, reason: str) -> Incident:
        why = require_reason(reason)
        with self.store.transaction():
            incident = self._incident(incident_id)
            if incident["status"] != "handled":
                raise FieldError("status", "error.not_handled")
            changes = {"status": "open", "handled_at": "", "resolution": ""}
            return cast(
                Incident, self.store._change(INCIDENTS, incident_id, changes, "reopen", why)
            )

    def _incident(self, incident_id: int) -> Incident:
        incident = self.store.get(INCIDENTS, incident_id)
        if incident is None or not is_live(incident):
            raise FieldError("id", "error.no_record", table=INCIDENTS, id=incident_id)
        return cast(Incident, incident)

    def confirm(self, incident_id: int) -> None:
        with self.store.transaction():
            incident = self._incident(incident_id)
            if incident["status"] != "draft":
                raise FieldError("status", "error.not_draft")
            self.store._change(INCIDENTS, incident_id, {"status": "open"}, "confirm")
