"""F2 Arrivals: the stays, newest first, masked; filter, open, register, correct, extend."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from ..domain.records import mask, room_at
from ..domain.timeparse import list_moment, short_time
from ..i18n import t
from ..storage.history import in_memory
from ..storage.tables import STAYS
from ..widgets.record_table import NewestFirst, RecordTable, cell
from .actions import extend_screen, refused_as_voided, void_screen
from .arrival_form import ArrivalFormScreen
from .filtered import FilteredScreen
from .rounds import RoundScreen
from .stay_detail import StayDetailScreen
from .tests_due import TestsDueScreen


def stay_row(stay_id: str, stay: dict[str, Any], today: str, all_points: bool) -> list[Text]:
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
        cell(room_at(stay, all_points)),
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


class ArrivalsScreen(FilteredScreen):
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

    def compose_body(self) -> ComposeResult:
        yield from self.filter_line()
        yield RecordTable(
            ("id", "arrived", "name", "id_number", "room", "due", "status"),
            fill="name",
            records=STAYS,
            id="stays-table",
        )
        yield from self.filter_note()

    def reload(self) -> None:
        """Newest registration first. Without a filter only the shown page is read;
        a filter scans once, after the typing pauses."""
        needle = self.needle
        point = None if self.iso_app.all_points else self.iso_app.point
        today = self.store.clock().date().isoformat()
        ids = self.store.record_ids(STAYS, point)
        keys: Sequence[str] = NewestFirst(ids)
        live = in_memory(ids) or None  # nothing live here: the newest page
        if needle:
            # The live set's at once; earlier months' when the worker has read them.
            found = {
                key for key, stay in self.store.live_rows(STAYS).items() if matches(stay, needle)
            }
            found |= self.history_hits(lambda: self._sealed_matches(needle))
            keys, live = [key for key in keys if key in found], None
        self.query_one(RecordTable).show(
            keys, lambda key: stay_row(key, self._stay(key), today, point is None), in_memory=live
        )
        self.say_filtered(len(keys))
        self.say_sealed()
        self.refresh_bindings()

    def _sealed_matches(self, needle: str) -> Iterator[set[str]]:
        """In a worker thread: the sealed stays the filter finds, a month at a time."""
        for rows in self.store.sealed_parts(STAYS):
            yield {key for key, stay in rows.items() if matches(stay, needle)}

    def _stay(self, key: str) -> dict[str, Any]:
        """A listed stay: from the live set, or read from the segment that holds it."""
        stay = self.store.get(STAYS, int(key))
        assert stay is not None, key  # listed ids are stored ids: nothing is deleted
        return stay

    def _selected(self) -> int | None:
        key = self.query_one(RecordTable).current_key()
        return int(key) if key else None

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
