"""F3 Discharges: who is due (overdue first), discharge them; the discharges made."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from ..domain.codes import DISCHARGE_KIND
from ..domain.records import mask, room_at
from ..domain.timeparse import list_moment, short_time
from ..i18n import t
from ..storage.history import in_memory
from ..storage.tables import DISCHARGES, STAYS
from ..widgets.record_table import NewestFirst, RecordTable, cell
from .actions import refused_as_voided, void_screen
from .discharge_form import DischargeFormScreen
from .filtered import FilteredScreen


def person_matches(stay: dict[str, Any], needle: str) -> bool:
    """The filter's text in the person's name, ID number or room (no filter: all)."""
    person = stay.get("person", {})
    return any(
        needle in value.lower()
        for value in (person.get("name", ""), person.get("id_number", ""), stay.get("room", ""))
    )


def discharge_matches(discharge: dict[str, Any], needle: str, people: set[int]) -> bool:
    """The filter's text in the destination, or the person among ``people`` it found."""
    return discharge["stay"] in people or needle in discharge["destination"].lower()


def due_row(stay_id: str, stay: dict[str, Any], today: str, all_points: bool) -> list[Text]:
    due = stay["release_due"]
    style = "bold red" if due < today else ("bold" if due == today else "")
    this_year = date.fromisoformat(today)
    return [
        cell(stay_id),
        cell(short_time(due, this_year), style),
        cell(room_at(stay, all_points)),
        cell(stay["person"]["name"]),
        cell(mask(stay["person"]["id_number"])),
        cell(list_moment(stay["arrived_at"], this_year)),
    ]


class DischargesScreen(FilteredScreen):
    mode_name = "discharges"
    watched_tables = frozenset({STAYS, DISCHARGES})
    PALETTE = (
        ("ui.key_discharge", "ui.help_discharge", "discharge"),
        ("ui.key_correct", "ui.help_correct_discharge", "correct"),
        ("ui.key_void", "ui.help_void_discharge", "void"),
        ("ui.key_filter", "ui.help_filter_discharges", "filter"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "discharge", "ui.key_discharge", priority=True),
        Binding("c", "correct", "ui.key_correct", priority=True),
        Binding("v", "void", "ui.key_void", priority=True),
        Binding("slash", "filter", "ui.key_filter"),
        Binding("escape", "clear_filter", "ui.key_clear_filter"),
    ]
    filter_hint_key = "ui.filter_hint_discharges"

    def compose_body(self) -> ComposeResult:
        yield from self.filter_line()
        yield from self.filter_note()
        yield Static(t("ui.due_list"), classes="section", markup=False)
        yield RecordTable(
            ("person", "due", "room", "name", "id_number", "arrived"), records=STAYS, id="due-table"
        )
        yield Static(t("ui.discharge_list"), classes="section", markup=False)
        yield RecordTable(
            ("person", "at", "name", "kind", "status", "destination"),
            fill="destination",
            records=DISCHARGES,
            id="done-table",
        )

    def reload(self) -> None:
        point = None if self.iso_app.all_points else self.iso_app.point
        today = self.store.clock().date().isoformat()
        open_stays = self.store.open_stays(point)
        needle = self.needle
        due_keys = sorted(
            (str(i) for i in open_stays if person_matches(open_stays[i], needle)),
            key=lambda key: (open_stays[int(key)]["release_due"], int(key)),
        )
        self.query_one("#due-table", RecordTable).show(
            due_keys, lambda key: due_row(key, open_stays[int(key)], today, point is None)
        )
        ids = self.store.record_ids(DISCHARGES, point)
        done: Sequence[str] = NewestFirst(ids)
        live = in_memory(ids) or None  # nothing live here: the newest page
        if needle:
            # The live set's at once; earlier months' when the worker has read them.
            people = {
                int(key)
                for key, stay in self.store.live_rows(STAYS).items()
                if person_matches(stay, needle)
            }
            found = {
                key
                for key, discharge in self.store.live_rows(DISCHARGES).items()
                if discharge_matches(discharge, needle, people)
                or person_matches(self.store.get(STAYS, discharge["stay"]) or {}, needle)
            }
            found |= self.history_hits(lambda: self._sealed_matches(needle, people))
            done, live = [key for key in done if key in found], None

        def done_row(key: str) -> list[Text]:
            # Only the page shown is read: sealed ones from the segments holding them.
            discharge = self.store.get(DISCHARGES, int(key))
            assert discharge is not None, key  # listed ids are stored ids: none deleted
            stay = self.store.get(STAYS, discharge["stay"]) or {}
            voided = bool(discharge.get("voided"))
            style = "dim strike" if voided else ""
            # The person's number, as on the due list: the discharge's own number
            # only matters in the correct and void forms, which name the person too.
            return [
                cell(discharge["stay"], style),
                cell(list_moment(discharge["at"], date.fromisoformat(today)), style),
                cell(stay.get("person", {}).get("name", ""), style),
                cell(DISCHARGE_KIND.label(discharge["kind"]), style),
                cell(t("ui.status_voided") if voided else "", "bold" if voided else ""),
                cell(discharge["destination"], style),
            ]

        self.query_one("#done-table", RecordTable).show(done, done_row, in_memory=live)
        self.say_filtered(len(due_keys) + len(done))
        self.say_sealed()

    def _sealed_matches(self, needle: str, people: set[int]) -> Iterator[set[str]]:
        """In a worker thread: the sealed discharges the filter finds by destination
        or person, a month at a time. A discharge is sealed with its stay, so the
        people are found in the sealed stays first (a file read, not a lookup each)."""
        people = set(people)
        for rows in self.store.sealed_parts(STAYS):
            people.update(int(key) for key, stay in rows.items() if person_matches(stay, needle))
            yield set()
        for rows in self.store.sealed_parts(DISCHARGES):
            yield {key for key, one in rows.items() if discharge_matches(one, needle, people)}

    def _selected(self, table_id: str) -> int | None:
        key = self.query_one(table_id, RecordTable).current_key()
        return int(key) if key else None

    async def action_discharge(self) -> None:
        stay_id = self._selected("#due-table")
        if stay_id is not None:
            await self.open_form(lambda: DischargeFormScreen(stay_id=stay_id))

    async def action_correct(self) -> None:
        discharge_id = self._selected("#done-table")
        if discharge_id is not None:
            await self.open_form(lambda: DischargeFormScreen(discharge_id=discharge_id))

    async def action_void(self) -> None:
        discharge_id = self._selected("#done-table")
        if discharge_id is not None and not refused_as_voided(
            self, self.store, DISCHARGES, discharge_id
        ):
            await self.open_form(
                lambda: void_screen(self.store, self.mode_name, DISCHARGES, discharge_id)
            )

    @on(DataTable.RowSelected, "#due-table")
    async def _discharge_row(self, event: DataTable.RowSelected) -> None:
        event.stop()
        await self.action_discharge()
