"""New incident: kind, severity, time, people involved, summary."""

from __future__ import annotations

from collections.abc import Sequence

from ..domain.codes import INCIDENT_KIND, SEVERITY
from ..domain.people import people_named
from ..i18n import t
from ..storage.tables import INCIDENTS
from ..widgets.form import FieldSpec, Options
from .base import FormScreen


class IncidentFormScreen(FormScreen):
    mode_name = "incidents"
    watched_tables = frozenset({INCIDENTS})
    title_key = "ui.title_new_incident"

    def _points(self) -> Options:
        return [(f"{code} {p['name']}", code) for code, p in self.store.points().items()]

    def specs(self) -> Sequence[FieldSpec]:
        # What differs from one incident to the next comes first; severity, time
        # (now) and point have defaults, so kind ↵ people ↵ summary ctrl+s is enough.
        return [
            FieldSpec("kind", codes=INCIDENT_KIND),
            FieldSpec("people", hint="ui.hint_people"),
            FieldSpec("summary"),
            FieldSpec("severity", codes=SEVERITY),
            FieldSpec("occurred_at", hint="ui.hint_time"),
            FieldSpec("reported_to"),
            FieldSpec("point", options=self._points),
        ]

    def initial_values(self) -> dict[str, str]:
        return {"point": self.iso_app.point or "", "severity": "2", "occurred_at": t("ui.now")}

    def _people(self, text: str) -> list[int]:
        point = self.form.row("point").value()
        rooms = (self.store.point(point) or {}).get("rooms", []) if point else []
        floors = {room["code"]: room.get("floor", "") for room in rooms}
        return people_named(text, self.store.open_stays(point), floors)

    def save(self, values: dict[str, str]) -> str:
        stays = self._people(values.pop("people", ""))
        incident_id = self.store.incidents.open(values, stays=stays)
        return t("ui.saved_incident", id=incident_id)
