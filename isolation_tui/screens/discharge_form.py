"""Discharge one stay (or correct a discharge): kind, time, destination, test, certificate."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ..domain.codes import DISCHARGE_KIND, GRAVE_KINDS, YES_NO
from ..domain.errors import FieldError, ValidationFailed
from ..i18n import t
from ..storage.stays import discharge_fields
from ..storage.tables import DISCHARGES, STAYS
from ..widgets.form import FieldSpec
from .base import FormScreen


class DischargeFormScreen(FormScreen):
    """Give ``stay_id`` to discharge that stay, or ``discharge_id`` to correct one."""

    mode_name = "discharges"
    watched_tables = frozenset({STAYS, DISCHARGES})

    def __init__(self, stay_id: int | None = None, discharge_id: int | None = None) -> None:
        super().__init__()
        self.discharge_id = discharge_id
        if discharge_id is not None:
            stay_id = (self.store.get(DISCHARGES, discharge_id) or {}).get("stay")
        self.stay_id = stay_id
        # Why this person may not go home yet (the last planned test is not negative):
        # said above the fields, with a field for the supervisor's override reason, as
        # long as the kind is release home (a correction to it is held the same way).
        self.block = self.store.health.release_block(stay_id) if stay_id is not None else ""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "screen-title" and self.block:
                held = Text(t("ui.release_held", why=self.block), no_wrap=True, overflow="ellipsis")
                yield Static(held, id="release-held")

    def heading(self) -> str:
        stay = self.store.get(STAYS, self.stay_id or 0) or {}
        key = "ui.title_correct_discharge" if self.discharge_id else "ui.title_discharge"
        # The person's number, as the void form says it: never read as the discharge's.
        whose = t(
            "ui.whose",
            stay=self.stay_id,
            name=stay.get("person", {}).get("name", ""),
            room=stay.get("room", ""),
        )
        return t(key, whose=whose, due=stay.get("release_due", ""))

    def specs(self) -> Sequence[FieldSpec]:
        # A grave kind is chosen from the list, never by a letter: a reason typed
        # into the kind by mistake must not record a person absconded or dead.
        specs = [FieldSpec("kind", codes=DISCHARGE_KIND, unlettered=GRAVE_KINDS)]
        if self.block:
            specs.append(FieldSpec("override", hint="ui.hint_override"))
        specs += [
            FieldSpec("discharged_at", hint="ui.hint_time"),
            FieldSpec("destination"),
            FieldSpec("negative_test", codes=YES_NO),
            FieldSpec("certificate", max_length=60),
            FieldSpec("notes"),
        ]
        if self.discharge_id is not None:
            specs.append(FieldSpec("reason"))
        return specs

    def initial_values(self) -> dict[str, str]:
        if self.discharge_id is not None:
            return discharge_fields(self.store.get(DISCHARGES, self.discharge_id) or {})
        negative = "no" if self.block else "yes"
        return {"kind": "released_home", "discharged_at": t("ui.now"), "negative_test": negative}

    def on_mount(self) -> None:
        # A correction may open on another kind: no hold shown, no override offered.
        self._show_hold(self.form.row("kind").value())

    def focus_first(self) -> None:
        """Where the form says to type: the override reason while release home is
        held (the kind already says release home), else the kind."""
        held = self.block and self.form.row("kind").value() == "released_home"
        self.form.focus_field("override" if held else "kind")

    def follow(self, name: str, value: str) -> None:
        """The errors a save found were about the kind then chosen: a new kind clears
        them (the next save checks its own rules)."""
        if name != "kind":
            return
        self.form.clear_errors()
        self._status("")
        self._show_hold(value)

    def _show_hold(self, kind: str) -> None:
        """The hold is about going home: another kind has neither it nor an override."""
        if not self.block:
            return
        home = kind == "released_home"
        self.query_one("#release-held").display = home
        row = self.form.row("override")
        row.display = home
        if not home:
            row.set_value("")

    def save(self, values: dict[str, str]) -> str:
        try:
            if self.discharge_id is not None:
                reason = values.pop("reason", "")
                self.store.stays.correct_discharge(self.discharge_id, values, reason)
                return t("ui.saved_correct_discharge", stay=self.stay_id, name=self._person_name())
            self.store.stays.discharge({**values, "stay": str(self.stay_id)})
        except ValidationFailed as exc:
            # The store checks the tests only once the rest holds: say it now too, so
            # every problem shows at once (the override comes first in the form).
            held = values["kind"] == "released_home" and self.block and not values.get("override")
            if held and not any(e.field == "override" for e in exc.errors):
                block = FieldError("override", "error.release_blocked", why=self.block)
                raise ValidationFailed([block, *exc.errors]) from exc
            raise
        # The person's number, as the lists show it: the discharge's own means nothing.
        kind = DISCHARGE_KIND.label(values["kind"])
        return t("ui.saved_discharge", stay=self.stay_id, name=self._person_name(), kind=kind)

    def _person_name(self) -> str:
        return (self.store.get(STAYS, self.stay_id or 0) or {}).get("person", {}).get("name", "")
