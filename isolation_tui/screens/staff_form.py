"""A new staff member (and the correction of one), made for a list typed in a row.

Name, role and phone change from one person to the next; the point stays. After a
save the role and point stay filled, the cursor is back on the name, and enter on
the phone saves the next person: name ↵ role ↵ phone ↵.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Input

from ..domain.codes import STAFF_ROLE
from ..i18n import t
from ..storage.staff import STAFF_FIELDS
from ..storage.tables import STAFF
from ..widgets.form import FieldSpec, Options
from .base import FormScreen


class StaffFormScreen(FormScreen):
    """``staff_id`` given: correct that person (a reason is asked for); else add."""

    mode_name = "staff"
    watched_tables = frozenset({"points", STAFF})
    first_field = "name"

    def __init__(self, staff_id: int | None = None) -> None:
        super().__init__()
        self.staff_id = staff_id
        self.title_key = "ui.title_correct_staff" if staff_id else "ui.title_new_staff"
        self._bulk = False

    def _points(self) -> Options:
        return [(f"{code} {p['name']}", code) for code, p in self.store.points().items()]

    def specs(self) -> Sequence[FieldSpec]:
        specs = [
            FieldSpec("name", max_length=100),
            FieldSpec("role", codes=STAFF_ROLE, sticky=True),
            FieldSpec("phone", max_length=30),
            FieldSpec("notes"),
            FieldSpec("point", options=self._points, sticky=True),
        ]
        if self.staff_id is not None:
            specs.append(FieldSpec("reason"))
        return specs

    def initial_values(self) -> dict[str, str]:
        if self.staff_id is not None:
            doc = self.store.staff.staff(self.staff_id) or {}
            return {name: str(doc.get(name, "")) for name in STAFF_FIELDS}
        return {"point": self.iso_app.point or "", "role": "medical"}

    def saves_on_enter(self, name: str) -> bool:
        return self._bulk and name == "phone"

    def save(self, values: dict[str, str]) -> str:
        if self.staff_id is not None:
            reason = values.pop("reason", "")
            self.store.staff.correct_staff(self.staff_id, values, reason)
            return t("ui.saved_staff_correction", id=self.staff_id, name=values.get("name", ""))
        staff_id = self.store.staff.add_staff(values)
        doc = self.store.staff.staff(staff_id) or {}
        return t("ui.saved_staff", id=staff_id, name=doc.get("name", ""))

    def after_save(self) -> None:
        if self.staff_id is not None:
            self.dismiss()
            return
        self._bulk = True
        self.form.reset(keep_sticky=True)
        self.form.row("phone").query_one(Input).placeholder = t("ui.hint_enter_saves")
        self.form.focus_field("name")
