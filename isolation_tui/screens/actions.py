"""The one-record actions shared by several screens, as prompt forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from ..domain.codes import CodeSet
from ..domain.errors import FieldError
from ..headless.handover_report import FORMATS, export, handed_over
from ..i18n import t
from ..storage.paths import exports_folder, make_private_folder
from ..storage.stays import people_in_room
from ..storage.tables import DISCHARGES, STAYS
from ..widgets.form import FieldSpec
from .prompt_form import PromptFormScreen

if TYPE_CHECKING:
    from ..storage.repository import Store

REASON = FieldSpec("reason")


def extend_screen(store: Store, stay_id: int) -> PromptFormScreen:
    stay = store.get(STAYS, stay_id) or {}
    title = t(
        "ui.title_extend",
        id=stay_id,
        name=stay.get("person", {}).get("name", ""),
        due=stay.get("release_due", ""),
    )

    def save(values: dict[str, str]) -> str:
        changed = store.stays.extend(stay_id, values["days"], values["reason"])
        return t("ui.saved_extension", id=stay_id, due=changed["release_due"])

    days = FieldSpec("days", max_length=4, hint="ui.hint_extend_days")
    return PromptFormScreen("arrivals", title, [days, REASON], save)


def whose(store: Store, table: str, record_id: int) -> str:
    """The person a stay or discharge is about, as a supervisor recognises them."""
    record = store.get(table, record_id) or {}
    stay_id = record.get("stay", record_id) if table != STAYS else record_id
    stay = store.get(STAYS, stay_id) or {}
    name = stay.get("person", {}).get("name", "")
    return t("ui.whose", name=name, stay=stay_id, room=stay.get("room", ""))


def refused_as_voided(screen: Screen[Any], store: Store, table: str, record_id: int) -> bool:
    """Say at once that a record is already voided (by whom, when, why), instead of
    opening a form that could only fail."""
    refused = store.stays.already_voided(table, record_id)
    if refused is not None:
        screen.notify(refused.message, severity="error", markup=False)
    return refused is not None


def void_screen(store: Store, mode: str, table: str, record_id: int) -> PromptFormScreen:
    person = whose(store, table, record_id)

    def save(values: dict[str, str]) -> str:
        store.stays.void(table, record_id, values["reason"], shared=values.get("shared") == "yes")
        if table == DISCHARGES:
            return t("ui.saved_void_discharge", whose=person)
        return t("ui.saved_void", id=record_id)

    def ask(values: dict[str, str]) -> tuple[str, dict[str, str], str] | None:
        """Back in a room someone was placed in since: shared, as an arrival's room
        is, only when they are one household or group."""
        there = [] if values.get("shared") else store.stays.back_in_room_with(record_id)
        if not there:
            return None
        room = there[0][1]["room"]
        question = t("ui.confirm_void_share", whose=person, room=room, people=people_in_room(there))
        return question, {"shared": "yes"}, "reason"

    if table == DISCHARGES:
        # Named by whose it is: a discharge's own number beside a person's misleads.
        title = t("ui.title_void_discharge", whose=person)
        return PromptFormScreen(mode, title, [REASON], save, ask=ask)
    title = t("ui.title_void", what=t(f"activity.table_{table}"), id=record_id, whose=person)
    return PromptFormScreen(mode, title, [REASON], save)


FORMAT = CodeSet("format", FORMATS, {})


def export_screen(
    mode: str, store: Store, summary: dict[str, Any], notes: str, handover: dict[str, Any] | None
) -> PromptFormScreen:
    def save(values: dict[str, str]) -> str:
        folder = exports_folder()
        try:
            make_private_folder(folder)
            path = export(
                folder,
                summary,
                notes,
                handover,
                values["format"] or "md",
                store.clock().strftime("%Y%m%d-%H%M"),
            )
        except (OSError, RuntimeError) as exc:
            raise FieldError(
                "folder",
                "error.cannot_write_file",
                path=folder,
                error=getattr(exc, "strerror", None) or exc,
            ) from exc
        return t("ui.saved_export", path=path)

    specs = [FieldSpec("format", codes=FORMAT, default="md")]
    return PromptFormScreen(mode, t("ui.title_export"), specs, save)


def acknowledge_screen(
    store: Store, mode: str, handover_id: int, handover: dict[str, Any]
) -> PromptFormScreen:
    def save(values: dict[str, str]) -> str:
        store.handovers.acknowledge(handover_id, values["incoming"])
        return t("ui.saved_acknowledge", id=handover_id)

    title = t("ui.title_acknowledge", id=handover_id, who=handover["outgoing"])
    specs = [FieldSpec("incoming", default=store.actor.name, max_length=60)]
    # What is acknowledged is what was handed over: the notes, read before signing.
    return PromptFormScreen(mode, title, specs, save, context=handed_over(handover))
