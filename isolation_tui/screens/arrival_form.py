"""New arrival (and correction of one): made for a bus-load typed in a row.

The fields that change per person come first: name, ID number, phone. A complete
resident ID fills sex, birth date and nationality at once, and enter passes them
by. After a save the fields that repeat for a bus (point, category, arrival time,
origin, transport) stay filled, the cursor is back on the name, and enter on the
phone saves the next person: name ↵ ID ↵ phone ↵.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Input

from ..domain.codes import CATEGORY, ID_TYPE, SEX
from ..domain.errors import FieldError, ValidationFailed
from ..domain.idnumber import (
    birth_date_of,
    id_number_problem,
    normalise,
    resident_id_problem,
    sex_of,
)
from ..domain.records import Stay
from ..domain.rules import unusual_arrival
from ..domain.timeparse import format_time, parse_time
from ..i18n import t
from ..storage.stays import ARRIVAL_FIELDS, people_in_room, stay_fields
from ..storage.tables import STAYS
from ..widgets.form import FieldSpec, Options
from .base import FormScreen

FROM_RESIDENT_ID = ("id_type", "sex", "birth_date", "nationality")


# Set by a yes to the arrival-time question, so that it is asked once per save.
ARRIVAL_CONFIRMED = "arrival_confirmed"


class ArrivalFormScreen(FormScreen):
    """``stay_id`` given: correct that stay (a reason is asked for); else register."""

    mode_name = "arrivals"
    watched_tables = frozenset({"points", STAYS})
    first_field = "name"
    paste_columns = ARRIVAL_FIELDS

    def __init__(self, stay_id: int | None = None) -> None:
        super().__init__()
        self.stay_id = stay_id
        self.title_key = "ui.title_correct_arrival" if stay_id else "ui.title_new_arrival"
        self._bus = False
        self._from_id: dict[str, str] = {}
        # What was answered yes in this form (an arrival time, a point and room).
        self._confirmed_time = ""
        self._confirmed_room = ("", "")

    def _point(self) -> str:
        return (self.form.row("point").value() if self.is_mounted else self.iso_app.point) or ""

    def _others_in(self, room: str) -> list[tuple[int, Stay]]:
        """Who is in ``room`` now, apart from the stay being corrected."""
        there = self.store.in_room(self._point(), room)
        return [(stay_id, stay) for stay_id, stay in there if stay_id != self.stay_id]

    def _rooms(self) -> Options:
        """Empty rooms first, then rooms with a free bed and the people in them."""
        point = self._point()
        occupants = self.store.occupants(point)
        empty: list[tuple[str, str]] = []
        shared: list[tuple[str, str]] = []
        for room in self.store.free_rooms(point):
            code = room["code"]
            there = [(i, s) for i, s in occupants.get(code, []) if i != self.stay_id]
            if there:
                shared.append((t("ui.room_with", room=code, people=people_in_room(there)), code))
            else:
                empty.append((t("ui.room_empty", room=code), code))
        options = empty + shared
        if self.stay_id is not None:
            stay = self.store.get(STAYS, self.stay_id)
            if stay and stay["room"] and stay["room"] not in {v for _, v in options}:
                options.insert(0, (stay["room"], stay["room"]))
        return options

    def specs(self) -> Sequence[FieldSpec]:
        specs = [
            FieldSpec("name", max_length=100),
            FieldSpec("id_number", max_length=40),
            FieldSpec("id_type", codes=ID_TYPE, default="resident_id"),
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
            FieldSpec("point", options=self._points, sticky=True),
        ]
        if self.stay_id is not None:
            specs.append(FieldSpec("reason"))
        return specs

    def _points(self) -> Options:
        return [(f"{code} {p['name']}", code) for code, p in self.store.points().items()]

    def initial_values(self) -> dict[str, str]:
        if self.stay_id is not None:
            stay = self.store.get(STAYS, self.stay_id)
            if stay is not None:
                fields = stay_fields(stay)  # type: ignore[arg-type]
                if fields["nationality"] == "CN":  # stored as a code, shown as a name
                    fields["nationality"] = t("nationality.CN")
                return fields
        return {"point": self.iso_app.point or "", "category": "inbound", "arrived_at": t("ui.now")}

    def skip_on_enter(self, name: str) -> bool:
        return name in FROM_RESIDENT_ID and self._resident_id() is not None

    def saves_on_enter(self, name: str) -> bool:
        """The next person of a bus: enter on the phone saves."""
        return self._bus and name == "phone"

    def _resident_id(self) -> str | None:
        """The ID number when it is a complete, valid resident ID."""
        if self.form.row("id_type").value() != "resident_id":
            return None
        number = normalise(self.form.row("id_number").value())
        return None if resident_id_problem(number) else number

    def confirm_first(self, values: dict[str, str]) -> tuple[str, dict[str, str], str] | None:
        """An unusual arrival time is confirmed; a room with people in it is shared only
        when they are one household or group. Asked only of fields that would save
        (what is wrong is said first), and each once in this form: a yes stands until
        the person is saved."""
        try:
            self.store.stays.check_arrival(values, self.stay_id)
        except (ValidationFailed, FieldError):
            return None  # the save says what is wrong, nothing asked
        if values.get(ARRIVAL_CONFIRMED):
            self._confirmed_time = values.get("arrived_at", "")
        room = values.get("room", "")
        if values.get("shares_room"):
            self._confirmed_room = (values.get("point", ""), room)
        question = self._arrival_question(values)
        if question:
            return question, {ARRIVAL_CONFIRMED: "yes"}, "arrived_at"
        if not self._shares(values) or values.get("shares_room"):
            return None
        question = t("ui.confirm_share", room=room, people=people_in_room(self._others_in(room)))
        return question, {"shares_room": "yes"}, "room"

    def _shares(self, values: dict[str, str]) -> bool:
        """Whether these values put the person in a room with someone new to them."""
        room = values.get("room", "")
        if not room or not self._others_in(room):
            return False
        if self.stay_id is not None:
            stay = self.store.get(STAYS, self.stay_id)
            if stay and (stay["point"], stay["room"]) == (values.get("point"), room):
                return False
        return True

    def _arrival_question(self, values: dict[str, str]) -> str:
        """An arrival typed days back (or ahead of the clock) is asked about first: a
        wrong year would plan every test and round in the wrong year. A correction
        that leaves the time as it was asks nothing."""
        typed = values.get("arrived_at", "")
        if (
            values.get(ARRIVAL_CONFIRMED)
            or typed == self._confirmed_time
            or (self.stay_id is not None and typed == self.initial_values().get("arrived_at"))
        ):
            return ""
        now = self.store.clock()
        moment = parse_time(typed, now)
        unusual = unusual_arrival(moment, now) if moment is not None else ""
        if not unusual or moment is None:
            return ""
        return t(f"ui.confirm_arrival_{unusual}", at=format_time(moment), now=format_time(now))

    def save(self, values: dict[str, str]) -> str:
        values.pop(ARRIVAL_CONFIRMED, None)
        if (values.get("point", ""), values.get("room", "")) == self._confirmed_room:
            values["shares_room"] = "yes"  # answered yes in this form already
        if self.stay_id is not None:
            reason = values.pop("reason", "")
            stay = self.store.stays.correct(self.stay_id, values, reason)
            message = t("ui.saved_correction", id=self.stay_id, name=stay["person"]["name"])
            off_plan = self.store.health.off_plan(self.stay_id)
            if off_plan:
                # Entered results stay as they were; the supervisor must look at them.
                message += " · " + t("ui.off_plan", count=len(off_plan))
            return message
        stay_id = self.store.stays.register(values)
        saved: Stay = self.store.get(STAYS, stay_id)  # type: ignore[assignment]
        return t("ui.saved_arrival", id=stay_id, name=saved["person"]["name"], room=saved["room"])

    def after_save(self) -> None:
        if self.stay_id is not None:
            self.dismiss()
            return
        self._bus = True
        self._from_id = {}
        # The next person of the bus is asked for themselves.
        self._confirmed_time = ""
        self._confirmed_room = ("", "")
        self.form.reset(keep_sticky=True)
        self.form.row("phone").query_one(Input).placeholder = t("ui.hint_enter_saves")
        self.form.focus_field("name")

    def follow(self, name: str, value: str) -> None:
        if name == "id_number":
            self._check_id_as_typed(value)
        elif name == "arrived_at":
            self._show_time_read(value)
        elif name == "point":
            self.form.row("room").refresh_options()
        elif name == "room":
            self._say_a_shared_room_asks(value)

    def _check_id_as_typed(self, value: str) -> None:
        """A resident ID is checked as soon as it is complete, and what it says
        (sex, birth date, China) shows in its fields at once."""
        row = self.form.row("id_number")
        number = normalise(value)
        foreign = id_number_problem(number)
        if foreign:
            row.show_error(t(foreign[0], **foreign[1]))
            self._fill_from_id({})
            return
        if self.form.row("id_type").value() != "resident_id" or len(number) < 18:
            row.show_error("")
            self._fill_from_id({})
            return
        problem = resident_id_problem(number)
        row.show_error(t(problem) if problem else t("ui.id_ok"), hint=not problem)
        if problem:
            self._fill_from_id({})
            return
        born = birth_date_of(number)
        assert born is not None
        self._fill_from_id(
            {
                "sex": sex_of(number),
                "birth_date": born.isoformat(),
                "nationality": t("nationality.CN"),
            }
        )

    def _fill_from_id(self, values: dict[str, str]) -> None:
        """Fill the fields an ID number decides; a field someone typed differently is
        left as typed (the save then says where they disagree)."""
        for name in ("sex", "birth_date", "nationality"):
            row = self.form.row(name)
            current = row.value()
            ours = self._from_id.get(name)
            if current and current != ours:
                continue
            row.set_value(values.get(name, ""))
        self._from_id = values

    def _show_time_read(self, value: str) -> None:
        moment = parse_time(value, self.store.clock())
        row = self.form.row("arrived_at")
        row.show_error(f"→ {format_time(moment)}" if moment else "", hint=True)

    def _say_a_shared_room_asks(self, room: str) -> None:
        shared = bool(room and self._others_in(room))
        self.form.row("room").show_error(t("ui.room_shared_hint") if shared else "", hint=True)
