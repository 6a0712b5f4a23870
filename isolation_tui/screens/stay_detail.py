"""One stay in full: the person (ID and phone unmasked), the stay, its history."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..domain.activity import changed_fields, describe
from ..domain.codes import CATEGORY, DISCHARGE_KIND, ID_TYPE, SEX
from ..domain.identity import audit_identity, who_label
from ..i18n import t
from ..storage.tables import DISCHARGES, STAYS
from .actions import extend_screen
from .arrival_form import ArrivalFormScreen
from .base import MainScreen


class StayDetailScreen(MainScreen):
    mode_name = "arrivals"
    watched_tables = frozenset({STAYS, DISCHARGES})
    closes_on_leave = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "ui.key_back"),
        Binding("c", "correct", "ui.key_correct", priority=True),
        Binding("x", "extend", "ui.key_extend", priority=True),
    ]

    def __init__(self, stay_id: int) -> None:
        super().__init__()
        self.stay_id = stay_id

    def compose_body(self) -> ComposeResult:
        yield Static(id="screen-title", markup=False)
        with VerticalScroll(id="detail"):
            yield Static(id="detail-text", markup=False)

    def focus_first(self) -> None:
        self.query_one("#detail").focus()

    def reload(self) -> None:
        stay = self.store.get(STAYS, self.stay_id) or {}
        name = stay.get("person", {}).get("name", "")
        self.query_one("#screen-title", Static).update(
            t("ui.title_stay", id=self.stay_id, name=name)
        )
        self.query_one("#detail-text", Static).update(self._text())

    def _text(self) -> Text:
        stay = self.store.get(STAYS, self.stay_id)
        text = Text()
        if stay is None:
            text.append(t("ui.no_record", id=self.stay_id))
            return text
        person = stay["person"]

        def line(label: str, value: object) -> None:
            text.append(f"{t(label)}: ", style="bold")
            text.append(f"{value}\n")

        point = self.store.point(stay["point"])
        line("field.name", person["name"])
        line("field.sex", SEX.label(person["sex"]))
        line("field.birth_date", person["birth_date"])
        line("field.id_type", ID_TYPE.label(person["id_type"]))
        line("field.id_number", person["id_number"])
        nationality = person["nationality"]
        line(
            "field.nationality",
            t(f"nationality.{nationality}") if nationality == "CN" else nationality,
        )
        line("field.phone", person["phone"])
        line("field.point", f"{stay['point']} {point['name'] if point else ''}")
        line("field.room", stay["room"])
        line("field.category", CATEGORY.label(stay["category"]))
        line("field.origin", stay["origin"])
        line("field.transport", stay["transport"])
        line("field.arrived_at", stay["arrived_at"])
        line("field.quarantine_days", stay["quarantine_days"])
        for ext in stay["extensions"]:
            line("ui.extension", f"{ext['days']:+d} {ext['reason']} ({who_label(ext)} {ext['at']})")
        line("field.release_due", stay["release_due"])
        status = t(f"ui.state_{'voided' if stay.get('voided') else stay['status']}")
        line("ui.col_status", status)
        if stay.get("discharge"):
            discharge = self.store.get(DISCHARGES, stay["discharge"]) or {}
            line(
                "ui.discharge",
                f"{discharge.get('at', '')} {DISCHARGE_KIND.label(discharge.get('kind', ''))} "
                f"{discharge.get('destination', '')}",
            )
        line("field.notes", stay["notes"])
        for problem in self.store.health.off_plan(self.stay_id):
            text.append(f"⚑ {problem}\n", style="bold yellow")
        text.append(f"\n{t('ui.history')}\n", style="bold")
        for entry in self.store.history(STAYS, self.stay_id):
            text.append(f"  {describe(entry, stay)}\n")
            claimed = audit_identity(entry)["ssh_client_claimed"]
            if claimed:
                text.append(f"      {t('field.ssh_client_claimed')}: {claimed}\n")
            for change in changed_fields(entry):
                text.append(f"      {change}\n")
        return text

    def action_back(self) -> None:
        self.dismiss()

    async def action_correct(self) -> None:
        await self.open_form(lambda: ArrivalFormScreen(self.stay_id))

    async def action_extend(self) -> None:
        await self.open_form(lambda: extend_screen(self.store, self.stay_id))
