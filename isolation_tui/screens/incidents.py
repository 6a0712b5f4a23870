"""F4 Incidents: open ones first by severity; open, act on, close and reopen them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..domain.activity import changed_fields, describe
from ..domain.codes import INCIDENT_KIND, INCIDENT_STATUS, SEVERITY
from ..domain.errors import FieldError
from ..domain.health import incident_summary
from ..domain.identity import who_label
from ..domain.sequences import Chained
from ..domain.timeparse import short_time
from ..i18n import t
from ..storage.errors import StoreError
from ..storage.tables import INCIDENTS, STAYS
from ..widgets.form import FieldSpec
from ..widgets.record_table import NewestFirst, RecordTable, cell, widest
from .actions import REASON, refused_as_voided
from .base import Outcome
from .filtered import FilteredScreen
from .incident_form import IncidentFormScreen
from .prompt_form import PromptFormScreen

SEVERITY_STYLE = {4: "bold red", 3: "red", 2: "yellow", 1: ""}
ID_WIDTH = 5  # up to 99,999 incidents


def kind_in_list(kind: str) -> str:
    """The kind in one word, so the summary beside it has room for who and the reading
    (the pane below names the kind in full)."""
    return t(f"incident_kind_short.{kind}") if kind in INCIDENT_KIND.codes else kind


def searchable(incident: dict[str, Any], name_of: Callable[[int], str]) -> str:
    """What the filter looks in: the summary, the kind, the people, who was told."""
    people = (name_of(i) for i in incident["stays"])
    return " ".join(
        [
            incident_summary(incident),
            INCIDENT_KIND.label(incident["kind"]),
            *people,
            incident["reported_to"],
        ]
    ).lower()


def incident_row(key: str, incident: dict[str, Any], today: date) -> list[Text]:
    handled = incident["status"] == "handled"
    style = (
        "dim" if handled or incident.get("voided") else SEVERITY_STYLE.get(incident["severity"], "")
    )
    status_style = style
    if incident.get("voided"):
        status = t("ui.status_voided")
    elif incident["status"] == "draft":
        # Noticed by the program (a fever, a positive test): a person confirms or voids it.
        status, status_style = t("ui.status_draft"), "bold reverse"
    else:
        status = INCIDENT_STATUS.label(incident["status"])
    return [
        cell(key, style),
        cell(short_time(incident["occurred_at"], today), style),
        cell(kind_in_list(incident["kind"]), style),
        cell(SEVERITY.label(str(incident["severity"])), style),
        cell(status, status_style),
        cell(incident_summary(incident), style),
    ]


class IncidentsScreen(FilteredScreen):
    mode_name = "incidents"
    watched_tables = frozenset({INCIDENTS})
    PALETTE = (
        ("ui.key_new_incident", "ui.help_new_incident", "new"),
        ("ui.key_add_action", "ui.help_add_action", "act"),
        ("ui.key_close_incident", "ui.help_close_incident", "close"),
        ("ui.key_reopen", "ui.help_reopen", "reopen"),
        ("ui.key_confirm", "ui.help_confirm_incident", "confirm"),
        ("ui.key_void", "ui.help_void_incident", "void"),
        ("ui.key_filter", "ui.help_filter_incidents", "filter"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "ui.key_new_incident", priority=True),
        Binding("a", "act", "ui.key_add_action", priority=True),
        Binding("h", "close", "ui.key_close_incident", priority=True),
        Binding("r", "reopen", "ui.key_reopen", priority=True),
        Binding("c", "confirm", "ui.key_confirm", priority=True),
        Binding("v", "void", "ui.key_void", priority=True),
        # Not in the footer, which has no room left at 80 columns: the filter line
        # says it, and the palette has it.
        Binding("slash", "filter", "ui.key_filter", show=False),
        Binding("escape", "clear_filter", "ui.key_clear_filter", show=False),
    ]
    filter_hint_key = "ui.filter_hint_incidents"

    def compose_body(self) -> ComposeResult:
        # Every column but the summary as wide as its longest value can be: the table
        # looks the same after any action, and the summary takes what is left of 80.
        statuses = [INCIDENT_STATUS.label(c) for c in ("open", "handled")]
        widths = {
            "id": ID_WIDTH,
            "occurred": len("11-29 08:00"),
            "kind": widest(kind_in_list(c) for c in INCIDENT_KIND.codes),
            "severity": widest(SEVERITY.label(c) for c in SEVERITY.codes),
            "status": widest([*statuses, t("ui.status_draft"), t("ui.status_voided")]),
        }
        yield from self.filter_line()
        yield RecordTable(
            ("id", "occurred", "kind", "severity", "status", "summary"),
            widths=widths,
            fill="summary",
            records=INCIDENTS,
            id="incidents-table",
        )
        yield from self.filter_note()
        with VerticalScroll(id="incident-detail"):
            yield Static(id="incident-text", markup=False)

    def reload(self) -> None:
        """The live incidents (drafts, open, then handled, the most severe first),
        then those sealed with their month, newest first: the live ones fill the
        first page, and a sealed one is read from its month when its page is shown."""
        point = None if self.iso_app.all_points else self.iso_app.point
        live = self.store.live_rows(INCIDENTS)
        keys = [k for k, i in live.items() if point is None or i["point"] == point]
        sealed: Sequence[str] = NewestFirst(self.store.sealed_ids(INCIDENTS, point))
        if needle := self.needle:
            # The live set's at once; earlier months' when the worker has read them.
            found = {k for k, i in live.items() if needle in searchable(i, self._name_of)}
            found |= self.history_hits(lambda: self._sealed_matches(needle))
            keys = [k for k in keys if k in found]
            sealed = [k for k in sealed if k in found]
        keys.sort(
            key=lambda k: (
                bool(live[k].get("voided")),
                live[k]["status"] != "draft",  # drafts first: they wait for a person
                live[k]["status"] == "handled",
                -live[k]["severity"],
                live[k]["occurred_at"],
            )
        )
        today = self.store.clock().date()
        self.query_one(RecordTable).show(
            Chained(keys, sealed),
            lambda key: incident_row(key, self._incident(key), today),
            in_memory=None if needle else len(keys),  # what a filter finds, at once
        )
        self.say_filtered(len(keys) + len(sealed))
        self.say_sealed()
        self._show_detail()

    def _sealed_matches(self, needle: str) -> Iterator[set[str]]:
        """In a worker thread: the sealed incidents the filter finds, a month at a time."""
        for rows in self.store.sealed_parts(INCIDENTS):
            yield {k for k, i in rows.items() if needle in searchable(i, self._name_of)}

    def _incident(self, key: str) -> dict[str, Any]:
        """A listed incident: from the live set, or read from the month holding it."""
        incident = self.store.get(INCIDENTS, int(key))
        assert incident is not None, key  # listed ids are stored ids: nothing is deleted
        return incident

    def _name_of(self, stay_id: int) -> str:
        return (self.store.get(STAYS, stay_id) or {}).get("person", {}).get("name", "")

    def _selected(self) -> int | None:
        key = self.query_one(RecordTable).current_key()
        return int(key) if key else None

    @on(DataTable.RowHighlighted)
    @on(RecordTable.Paged)
    def _show_detail(self) -> None:
        incident_id = self._selected()
        incident = self.store.get(INCIDENTS, incident_id) if incident_id else None
        text = Text()
        if incident is not None:
            people = t("ui.list_separator").join(
                f"#{i} {self._name_of(i)}" for i in incident["stays"]
            )
            kind = INCIDENT_KIND.label(incident["kind"])
            text.append(f"#{incident_id} {kind} · {incident_summary(incident)}\n", style="bold")
            text.append(f"{t('field.people')}: {people or '-'}\n")
            text.append(f"{t('field.reported_to')}: {incident['reported_to'] or '-'}\n")
            today = self.store.clock().date()
            for action in incident["actions"]:
                when = short_time(action["at"], today)
                text.append(f"  {when} {who_label(action)}: {action['what']}\n")
            if incident["status"] == "handled":
                handled = f"{short_time(incident['handled_at'], today)} {incident['resolution']}"
                text.append(f"{t('field.resolution')}: {handled}\n")
            for entry in self.store.history(INCIDENTS, incident_id):  # type: ignore[arg-type]
                if entry["action"] in ("close", "reopen", "void", "correct"):
                    text.append(f"  {describe(entry, incident)}\n", style="dim")
                    for change in changed_fields(entry):
                        text.append(f"      {change}\n", style="dim")
        self.query_one("#incident-text", Static).update(text)

    async def _prompt(self, title_key: str, specs: list[FieldSpec], save: Any) -> None:
        incident_id = self._selected()
        if incident_id is None:
            return
        title = t(title_key, id=incident_id)
        await self.open_form(
            lambda: PromptFormScreen(
                self.mode_name, title, specs, lambda values: save(incident_id, values)
            )
        )

    async def action_new(self) -> None:
        await self.open_form(IncidentFormScreen)

    async def action_act(self) -> None:
        def save(incident_id: int, values: dict[str, str]) -> str:
            self.store.incidents.add_action(incident_id, values["what"])
            return t("ui.saved_action", id=incident_id)

        await self._prompt("ui.title_add_action", [FieldSpec("what")], save)

    async def action_close(self) -> None:
        def save(incident_id: int, values: dict[str, str]) -> str:
            self.store.incidents.close(incident_id, values["resolution"], values["handled_at"])
            return t("ui.saved_close", id=incident_id)

        specs = [FieldSpec("resolution"), FieldSpec("handled_at", hint="ui.hint_time")]
        await self._prompt("ui.title_close_incident", specs, save)

    async def action_reopen(self) -> None:
        def save(incident_id: int, values: dict[str, str]) -> str:
            self.store.incidents.reopen(incident_id, values["reason"])
            return t("ui.saved_reopen", id=incident_id)

        await self._prompt("ui.title_reopen", [REASON], save)

    async def action_confirm(self) -> None:
        """A draft becomes an open incident: no form, the person has looked at it."""
        incident_id = self._selected()
        if incident_id is None or self.iso_app.refuse_if_read_only():
            return
        self.write(
            lambda: self.store.incidents.confirm(incident_id),
            lambda outcome: self._confirmed(incident_id, outcome),
        )

    def _confirmed(self, incident_id: int, outcome: Outcome) -> None:
        try:
            outcome.result()
        except FieldError as exc:
            self.notify(exc.message, severity="warning", markup=False)
            return
        except StoreError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.iso_app.apply_changes_now()
        # The confirmed one moves down among the open ones; the next draft is on top.
        table = self.query_one(RecordTable)
        if table.row_count:
            table.move_cursor(row=0, animate=False)
        self.notify(t("ui.saved_confirm", id=incident_id), markup=False)

    async def action_void(self) -> None:
        """Void (a draft raised by mistake, or any incident entered in error), with a reason."""
        incident_id = self._selected()
        incident = self.store.get(INCIDENTS, incident_id) if incident_id else None
        if incident_id is None or incident is None:
            return
        if refused_as_voided(self, self.store, INCIDENTS, incident_id):
            return

        def save(values: dict[str, str]) -> str:
            self.store.stays.void(INCIDENTS, incident_id, values["reason"])
            return t("ui.saved_void", id=incident_id)

        title = t(
            "ui.title_void",
            what=t(f"activity.table_{INCIDENTS}"),
            id=incident_id,
            whose=incident_summary(incident),
        )
        await self.open_form(lambda: PromptFormScreen(self.mode_name, title, [REASON], save))
