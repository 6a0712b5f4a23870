"""New arrival (and correction of one): made for a bus-load typed in a row.

After a save the fields that repeat for a bus (point, category, arrival time,
origin, transport) stay filled, the room list offers the beds still free, and the
cursor is back on the name.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.widgets import Input, Select

from ..domain.codes import CATEGORY, ID_TYPE, SEX
from ..domain.errors import FieldError, ValidationFailed
from ..domain.idnumber import id_number_problem, normalise, resident_id_problem
from ..domain.records import Stay
from ..domain.rules import arrival_from_fields, unusual_arrival
from ..domain.timeparse import format_time, parse_time
from ..i18n import t
from ..storage.repository import STAYS, stay_fields
from ..widgets.form import FieldSpec, Options
from .base import FormScreen


class ArrivalFormScreen(FormScreen):
    """``stay_id`` given: correct that stay (a reason is asked for); else register."""

    mode_name = "arrivals"
    watched_tables = frozenset({"points", STAYS})
    first_field = "name"

    def __init__(self, stay_id: int | None = None) -> None:
        super().__init__()
        self.stay_id = stay_id
        self.title_key = "ui.title_correct_arrival" if stay_id else "ui.title_new_arrival"

    def _points(self) -> Options:
        return [(f"{code} {p['name']}", code) for code, p in self.store.points().items()]

    def _rooms(self) -> Options:
        point = self.form.row("point").value() if self.is_mounted else self.iso_app.point
        rooms = self.store.free_rooms(point or "")
        options = [
            (
                f"{r['code']} ({r['beds'] - self.store.beds_taken(point or '', r['code'])})",
                r["code"],
            )
            for r in rooms
        ]
        if self.stay_id is not None:
            stay = self.store.get(STAYS, self.stay_id)
            if stay and stay["room"] and stay["room"] not in {v for _, v in options}:
                options.insert(0, (stay["room"], stay["room"]))
        return options

    def specs(self) -> Sequence[FieldSpec]:
        specs = [
            FieldSpec("point", options=self._points, sticky=True),
            FieldSpec("name", max_length=100),
            FieldSpec("id_type", codes=ID_TYPE, default="resident_id"),
            FieldSpec("id_number", max_length=40),
            FieldSpec("sex", codes=SEX),
            FieldSpec("birth_date", hint="ui.hint_date"),
            FieldSpec("nationality", max_length=60),
            FieldSpec("phone", max_length=30),
            FieldSpec("room", options=self._rooms, blank_label="ui.room_auto"),
            FieldSpec("category", codes=CATEGORY, sticky=True),
            FieldSpec("arrived_at", hint="ui.hint_time", sticky=True),
            FieldSpec("origin", sticky=True),
            FieldSpec("transport", sticky=True, max_length=60),
            FieldSpec("quarantine_days", max_length=3, hint="ui.hint_days"),
            FieldSpec("notes"),
        ]
        if self.stay_id is not None:
            specs.append(FieldSpec("reason"))
        return specs

    def initial_values(self) -> dict[str, str]:
        if self.stay_id is not None:
            stay = self.store.get(STAYS, self.stay_id)
            if stay is not None:
                return stay_fields(stay)  # type: ignore[arg-type]
        return {"point": self.iso_app.point or "", "category": "inbound", "arrived_at": t("ui.now")}

    def confirm_question(self, values: dict[str, str]) -> str:
        """An arrival typed days back (or ahead of the clock) is asked about first: a
        wrong year would plan every test and round in the wrong year. A correction
        that leaves the time as it was asks nothing."""
        typed = values.get("arrived_at", "")
        if self.stay_id is not None and typed == self.initial_values().get("arrived_at"):
            return ""
        now = self.store.clock()
        moment = parse_time(typed, now)
        unusual = unusual_arrival(moment, now) if moment is not None else ""
        if not unusual or moment is None:
            return ""
        try:
            arrival_from_fields(values, self.store.points(), now)
        except (ValidationFailed, FieldError):
            return ""  # what is wrong is said first; the question comes once it holds
        return t(f"ui.confirm_arrival_{unusual}", at=format_time(moment), now=format_time(now))

    def save(self, values: dict[str, str]) -> str:
        if self.stay_id is not None:
            reason = values.pop("reason", "")
            stay = self.store.correct_stay(self.stay_id, values, reason)
            message = t("ui.saved_correction", id=self.stay_id, name=stay["person"]["name"])
            off_plan = self.store.off_plan(self.stay_id)
            if off_plan:
                # Entered results stay as they were; the supervisor must look at them.
                message += " · " + t("ui.off_plan", count=len(off_plan))
            return message
        stay_id = self.store.register_arrival(values)
        saved: Stay = self.store.get(STAYS, stay_id)  # type: ignore[assignment]
        return t("ui.saved_arrival", id=stay_id, name=saved["person"]["name"], room=saved["room"])

    def after_save(self) -> None:
        if self.stay_id is not None:
            self.dismiss()
            return
        self.form.reset(keep_sticky=True)
        self.form.focus_field("name")

    @on(Input.Changed, "#field-id_number")
    def _check_id_as_typed(self, event: Input.Changed) -> None:
        """A resident ID is checked as soon as it is complete."""
        row = self.form.row("id_number")
        number = normalise(event.value)
        foreign = id_number_problem(number)
        if foreign:
            row.show_error(t(foreign[0], **foreign[1]))
            return
        if self.form.row("id_type").value() != "resident_id" or len(number) < 18:
            row.show_error("")
            return
        problem = resident_id_problem(number)
        row.show_error(t(problem) if problem else t("ui.id_ok"), hint=not problem)

    @on(Input.Changed, "#field-arrived_at")
    def _show_time_read(self, event: Input.Changed) -> None:
        moment = parse_time(event.value, self.store.clock())
        row = self.form.row("arrived_at")
        row.show_error(f"→ {format_time(moment)}" if moment else "", hint=True)

    @on(Select.Changed, "#field-point")
    def _rooms_of_the_point(self) -> None:
        self.form.row("room").refresh_options()
