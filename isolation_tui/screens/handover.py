"""F5 Handover: the window since the last handover, what is pending, notes; sign,
acknowledge, look back, export."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, TextArea

from ..headless.handover_report import renderable
from ..i18n import t
from ..storage.tables import DUTY, HANDOVERS, STAFF
from ..widgets.form import FieldSpec
from .actions import acknowledge_screen, export_screen
from .base import MainScreen
from .handover_history import HandoverHistoryScreen
from .prompt_form import PromptFormScreen


class HandoverScreen(MainScreen):
    mode_name = "handover"
    watched_tables = frozenset(
        {"stays", "discharges", "incidents", HANDOVERS, "points", STAFF, DUTY}
    )
    PALETTE = (
        ("ui.key_sign", "ui.help_sign", "sign"),
        ("ui.key_acknowledge", "ui.help_acknowledge", "acknowledge"),
        ("ui.key_since", "ui.help_since", "since"),
        ("ui.key_history", "ui.help_history", "history"),
        ("ui.key_export", "ui.help_export", "export"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "sign", "ui.key_sign", priority=True),
        Binding("a", "acknowledge", "ui.key_acknowledge", priority=True),
        Binding("t", "since", "ui.key_since", priority=True),
        Binding("h", "history", "ui.key_history", priority=True),
        Binding("e", "export", "ui.key_export", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.since = ""
        self.summary: dict[str, Any] = {}

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="handover-body"):
            yield Static(id="handover-report")
        yield Static(t("ui.notes_label"), id="notes-label", markup=False)
        yield TextArea(id="notes", soft_wrap=True, show_line_numbers=False)

    def focus_first(self) -> None:
        self.set_focus(self.query_one("#handover-body"))

    @property
    def point(self) -> str | None:
        return None if self.iso_app.all_points else self.iso_app.point

    def reload(self) -> None:
        """Shown as it will be signed: the summary on screen is the one stored."""
        self.summary = self.store.handovers.summary(self.point, self.since)
        self.query_one("#handover-report", Static).update(
            renderable(self.summary, self.notes, None)
        )
        self.refresh_bindings()

    def has_unsaved(self) -> bool:
        return bool(self.notes.strip())

    @property
    def notes(self) -> str:
        return self.query_one("#notes", TextArea).text

    async def action_sign(self) -> None:
        summary = self.summary

        def save(values: dict[str, str]) -> str:
            handover_id = self.store.handovers.sign(summary, self.notes, values["outgoing"])
            self.since = ""
            self.query_one("#notes", TextArea).clear()
            # Signed: what comes next is the report's (history, export), not more notes.
            self.focus_first()
            return t("ui.saved_sign", id=handover_id)

        title = t("ui.title_sign", start=summary["start"], end=summary["end"])
        specs = [FieldSpec("outgoing", default=self.store.actor.name, max_length=60)]
        await self.open_form(lambda: PromptFormScreen(self.mode_name, title, specs, save))

    def _waiting(self) -> list[tuple[int, dict[str, Any]]]:
        return [h for h in self.store.handovers.past(self.point) if not h[1]["acknowledged"]]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`a` is offered only while a signed handover waits for the incoming one."""
        if action == "acknowledge" and not self._waiting():
            return False
        return super().check_action(action, parameters)

    async def action_acknowledge(self) -> None:
        waiting = self._waiting()
        if not waiting:  # from the command palette, which lists every action
            self.notify(t("ui.nothing_to_acknowledge"), markup=False)
            return
        await self.open_form(lambda: acknowledge_screen(self.store, self.mode_name, *waiting[0]))

    async def action_since(self) -> None:
        def save(values: dict[str, str]) -> str:
            self.store.handovers.window(self.point, values["since"])
            self.since = values["since"]
            self.reload()
            return t("handover.window", start=self.summary["start"], end=self.summary["end"])

        specs = [FieldSpec("since", hint="ui.hint_time", default=self.since)]
        await self.open_form(
            lambda: PromptFormScreen(self.mode_name, t("ui.title_since"), specs, save),
            writes=False,
        )

    async def action_history(self) -> None:
        await self.open_form(lambda: HandoverHistoryScreen(self.point), writes=False)

    async def action_export(self) -> None:
        await self.open_form(
            lambda: export_screen(self.mode_name, self.store, self.summary, self.notes, None),
            writes=False,
        )
