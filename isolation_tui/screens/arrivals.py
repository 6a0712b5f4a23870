"""F2 Arrivals: the stays, newest first, masked; filter, open, register, correct, extend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from ..domain.records import mask
from ..domain.timeparse import list_moment, short_time
from ..i18n import t
from ..storage.tables import STAYS
from ..widgets.form import TextField
from ..widgets.record_table import NewestFirst, RecordTable, cell
from .actions import extend_screen, refused_as_voided, void_screen
from .arrival_form import ArrivalFormScreen
from .base import MainScreen
from .rounds import RoundScreen
from .stay_detail import StayDetailScreen
from .tests_due import TestsDueScreen

FILTER_DELAY = 0.3


def stay_row(stay_id: str, stay: dict[str, Any], today: str) -> list[Text]:
    person = stay["person"]
    this_year = date.fromisoformat(today)
    if stay.get("voided"):
        status, style = t("ui.status_voided"), "dim"
    elif stay["status"] == "open":
        late = stay["release_due"] < today
        status, style = t("ui.status_open"), "bold red" if late else ""
    else:
        status, style = t("ui.status_discharged"), "dim"
    return [
        cell(stay_id),
        cell(list_moment(stay["arrived_at"], this_year)),
        cell(person["name"]),
        cell(mask(person["id_number"])),
        cell(stay["room"]),
        cell(short_time(stay["release_due"], this_year), style),
        cell(status, style),
    ]


def matches(stay: dict[str, Any], needle: str) -> bool:
    person = stay["person"]
    return any(
        needle in value.lower()
        for value in (
            person["name"],
            person["id_number"],
            stay["room"],
            stay["transport"],
            person["phone"],
        )
    )


class ArrivalsScreen(MainScreen):
    mode_name = "arrivals"
    watched_tables = frozenset({STAYS})
    PALETTE = (
        ("ui.key_new_arrival", "ui.help_new_arrival", "new"),
        ("ui.key_filter", "ui.help_filter", "filter"),
        ("ui.key_open", "ui.help_open", "open"),
        ("ui.key_correct", "ui.help_correct", "correct"),
        ("ui.key_extend", "ui.help_extend", "extend"),
        ("ui.key_void", "ui.help_void_arrival", "void"),
        ("ui.key_round", "ui.help_round", "round"),
        ("ui.key_tests", "ui.help_tests", "tests"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "ui.key_new_arrival", priority=True),
        Binding("slash", "filter", "ui.key_filter"),
        Binding("escape", "clear_filter", "ui.key_clear_filter"),
        Binding("enter", "open", "ui.key_open", show=False),
        Binding("c", "correct", "ui.key_correct", priority=True),
        Binding("x", "extend", "ui.key_extend", priority=True),
        # Not in the footer, which has no room left at 80 columns; in the palette.
        Binding("v", "void", "ui.key_void", priority=True, show=False),
        Binding("k", "round", "ui.key_round", priority=True),
        Binding("t", "tests", "ui.key_tests", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._filter_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        yield TextField(placeholder=t("ui.filter_hint"), id="filter", compact=True)
        yield RecordTable(
            ("id", "arrived", "name", "id_number", "room", "due", "status"),
            fill="name",
            records=STAYS,
            id="stays-table",
        )
        yield Static("", id="filter-note", markup=False)

    def reload(self) -> None:
        """Newest registration first. Without a filter only the shown page is read;
        a filter scans once, after the typing pauses."""
        needle = self.query_one("#filter", Input).value.strip().lower()
        point = None if self.iso_app.all_points else self.iso_app.point
        today = self.store.clock().date().isoformat()
        keys: Sequence[str] = NewestFirst(self.store.record_ids(STAYS, point))
        if needle:
            # Sealed history a month at a time: a search reads it all, never at once.
            found = {
                key
                for rows in self.store.parts(STAYS)
                for key, stay in rows.items()
                if matches(stay, needle)
            }
            keys = [key for key in keys if key in found]
        self.query_one(RecordTable).show(keys, lambda key: stay_row(key, self._stay(key), today))
        # An empty list must not look like an empty point: say why, and the way back.
        note = self.query_one("#filter-note", Static)
        note.display = bool(needle) and not keys
        if note.display:
            note.update(t("ui.filter_none", text=needle))
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_later(self) -> None:
        # Typing fast must not rescan the list per key: wait for a pause.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self.reload)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(RecordTable).focus()

    def _stay(self, key: str) -> dict[str, Any]:
        """A listed stay: from the live set, or read from the segment that holds it."""
        stay = self.store.get(STAYS, int(key))
        assert stay is not None, key  # listed ids are stored ids: nothing is deleted
        return stay

    def _selected(self) -> int | None:
        key = self.query_one(RecordTable).current_key()
        return int(key) if key else None

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return bool(self.query_one("#filter", Input).value)
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        """Esc: the whole list again, at once, and the cursor in it."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.query_one("#filter", Input).value = ""
        self.reload()
        self.query_one(RecordTable).focus()

    async def action_new(self) -> None:
        await self.open_form(ArrivalFormScreen)

    async def action_open(self) -> None:
        stay_id = self._selected()
        if stay_id is not None:
            await self.open_form(lambda: StayDetailScreen(stay_id), writes=False)

    async def action_correct(self) -> None:
        stay_id = self._selected()
        if stay_id is not None:
            await self.open_form(lambda: ArrivalFormScreen(stay_id))

    async def action_extend(self) -> None:
        stay_id = self._selected()
        if stay_id is not None:
            await self.open_form(lambda: extend_screen(self.store, stay_id))

    async def action_void(self) -> None:
        """An arrival entered by mistake: voided with a reason, kept in the history,
        counted nowhere."""
        stay_id = self._selected()
        if stay_id is not None and not refused_as_voided(self, self.store, STAYS, stay_id):
            await self.open_form(lambda: void_screen(self.store, self.mode_name, STAYS, stay_id))

    async def action_round(self) -> None:
        # Opens read-only too (to look); a save there says it cannot write.
        await self.open_form(RoundScreen, writes=False)

    async def action_tests(self) -> None:
        await self.open_form(TestsDueScreen, writes=False)

    @on(DataTable.RowSelected)
    async def _open_row(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_open()
