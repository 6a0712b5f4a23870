"""Past handovers at a point; each opens exactly as it was signed, with its addenda."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..domain.identity import signer_label
from ..headless.handover_report import renderable
from ..i18n import t
from ..storage.tables import HANDOVERS
from ..widgets.form import FieldSpec
from ..widgets.record_table import RecordTable, cell
from .actions import acknowledge_screen, export_screen
from .base import MainScreen
from .prompt_form import PromptFormScreen


def history_row(key: str, handover: dict[str, Any]) -> list[Text]:
    summary = handover["summary"]
    return [
        cell(key),
        cell(handover["signed"]["at"][5:]),
        cell(signer_label(handover["outgoing"], handover["signed"])),
        cell(signer_label(handover["incoming"], handover["acknowledged"]) or "-"),
        cell(f"{summary['start'][5:]} → {summary['end'][5:]}"),
    ]


class HandoverHistoryScreen(MainScreen):
    mode_name = "handover"
    watched_tables = frozenset({HANDOVERS})
    closes_on_leave = True
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "ui.key_back")]

    def __init__(self, point: str | None) -> None:
        super().__init__()
        self.point = point

    def compose_body(self) -> ComposeResult:
        yield Static(t("ui.title_history"), id="screen-title", markup=False)
        yield RecordTable(
            ("id", "signed", "outgoing", "incoming", "window"),
            records=HANDOVERS,
            id="history-table",
        )

    def reload(self) -> None:
        handovers = dict(self.store.handovers.past(self.point))
        keys = [str(i) for i in handovers]
        self.query_one(RecordTable).show(keys, lambda key: history_row(key, handovers[int(key)]))

    @on(DataTable.RowSelected)
    async def _open(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = self.query_one(RecordTable).current_key()
        if key is not None:
            await self.open_form(lambda: HandoverViewScreen(int(key)), writes=False)

    def action_back(self) -> None:
        self.dismiss()


class HandoverViewScreen(MainScreen):
    """A signed handover as it was signed (never recomputed), and its addenda."""

    mode_name = "handover"
    watched_tables = frozenset({HANDOVERS})
    closes_on_leave = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "ui.key_back"),
        Binding("a", "acknowledge", "ui.key_acknowledge", priority=True),
        Binding("d", "addendum", "ui.key_addendum", priority=True),
        Binding("e", "export", "ui.key_export", priority=True),
    ]

    def __init__(self, handover_id: int) -> None:
        super().__init__()
        self.handover_id = handover_id

    def compose_body(self) -> ComposeResult:
        yield Static(id="screen-title", markup=False)
        with VerticalScroll(id="handover-body"):
            yield Static(id="handover-report")

    def focus_first(self) -> None:
        self.set_focus(self.query_one("#handover-body"))

    def reload(self) -> None:
        handover = self.store.get(HANDOVERS, self.handover_id) or {}
        self.query_one("#screen-title", Static).update(
            t("ui.title_handover_view", id=self.handover_id, at=handover["signed"]["at"])
        )
        self.query_one("#handover-report", Static).update(
            renderable(handover["summary"], handover["notes"], handover)
        )
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Acknowledged once: `a` is neither offered nor taken."""
        if action == "acknowledge":
            handover = self.store.get(HANDOVERS, self.handover_id) or {}
            if handover.get("acknowledged"):
                return False
        return super().check_action(action, parameters)

    async def action_acknowledge(self) -> None:
        handover = self.store.get(HANDOVERS, self.handover_id) or {}
        await self.open_form(
            lambda: acknowledge_screen(self.store, self.mode_name, self.handover_id, handover)
        )

    async def action_addendum(self) -> None:
        def save(values: dict[str, str]) -> str:
            self.store.handovers.add_addendum(self.handover_id, values["text"])
            return t("ui.saved_addendum", id=self.handover_id)

        title = t("ui.title_addendum", id=self.handover_id)
        await self.open_form(
            lambda: PromptFormScreen(self.mode_name, title, [FieldSpec("text")], save)
        )

    async def action_export(self) -> None:
        handover = self.store.get(HANDOVERS, self.handover_id) or {}
        await self.open_form(
            lambda: export_screen(
                self.mode_name, self.store, handover["summary"], handover["notes"], handover
            ),
            writes=False,
        )
