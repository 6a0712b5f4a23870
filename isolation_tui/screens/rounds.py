"""The temperature round: everyone in isolation at the point, by floor and room.

Type a temperature (``365`` is 36.5) and press enter: it is stored at once (one
durable write) and the cursor goes to the next room, so a whole floor is entered
with digits and enter only. ``m`` marks missed, ``r`` refused; text after a space is
the symptoms (``376 咳嗽``). A value the rules refuse stores nothing and stays
selected, so typing again replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from ..domain.errors import FieldError, ValidationFailed
from ..domain.health import CHECK_STATUS, ROUND, is_fever, round_of
from ..domain.identity import who_label
from ..i18n import t
from ..storage.errors import StoreError
from ..storage.tables import CHECKS, STAYS
from ..widgets.breaking_static import BreakingStatic
from ..widgets.form import TextField
from ..widgets.record_table import RecordTable, cell
from .base import MainScreen, Outcome

# A temperature and its symptoms as a supervisor writes them (the line scrolls).
ENTRY_MAX_LENGTH = 200


class EntryField(TextField):
    """The entry line. The screen's letter keys are left to the screen's bindings
    (an input would take every printable key as text); the screen types them into
    the line itself when they are text there."""

    def __init__(self, commands: frozenset[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = commands

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in self.commands and super().check_consume_key(key, character)


class QuickEntryScreen(MainScreen):
    """A list with one entry line below it: type, enter stores for the row under the
    cursor and moves on. The letter keys act on the row when the line is empty and
    are typed as text otherwise (symptoms, a time). Keys are handled as they arrive
    (priority bindings), after the line has taken every key sent before them: a fast
    typist's next value never lands in the line before the last one is stored."""

    mode_name = "arrivals"
    columns: tuple[str, ...] = ()
    fill_column = ""
    """The free-text column that takes the width the others leave (cut with "…"; the
    line under the list says the row whole)."""
    hint_key = ""
    closes_on_leave = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "enter", "ui.key_save_next", priority=True),
        Binding("up", "move(-1)", "ui.key_prev_row", priority=True, show=False),
        Binding("down", "move(1)", "ui.key_next_row", priority=True, show=False),
        Binding("pageup", "move(-10)", "ui.key_prev_row", priority=True, show=False),
        Binding("pagedown", "move(10)", "ui.key_next_row", priority=True, show=False),
        Binding("escape", "back", "ui.key_back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._message = ""
        self._message_style = ""
        # Moved onto the row by hand (arrow keys): its entry may be replaced at once.
        self._chosen = False
        # The row and entry refused last as already entered: the same again replaces it.
        self._refused: tuple[int, str] | None = None

    def compose_body(self) -> ComposeResult:
        yield BreakingStatic("", id="screen-title", markup=False)
        yield RecordTable(self.columns, fill=self.fill_column, id="entry-table")
        with Horizontal(id="entry-line"):
            yield Static("", id="entry-who", markup=False)
            yield EntryField(
                self.letter_keys(), id="entry-value", compact=True, max_length=ENTRY_MAX_LENGTH
            )
            yield Static(self.hint(), id="entry-hint", markup=False)
        yield BreakingStatic("", id="entry-status", markup=False)

    def hint(self) -> str:
        """What to type, beside the entry line."""
        return t(self.hint_key)

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    @property
    def entry(self) -> EntryField:
        return self.query_one("#entry-value", EntryField)

    @classmethod
    def letter_keys(cls) -> frozenset[str]:
        return frozenset(key for key in cls._merge_bindings().key_to_bindings if len(key) == 1)

    @property
    def point(self) -> str | None:
        return self.iso_app.point

    def focus_first(self) -> None:
        # The list is moved from the entry line: it never takes the cursor itself.
        self.table.can_focus = False
        self.set_focus(self.entry)
        self._to_next_open(0)

    def _to_next_open(self, start: int) -> bool:
        """Put the cursor on the first row from ``start`` that still needs an entry."""
        table = self.table
        keys = [int(str(k.value)) for k in table.rows]
        for row in range(start, len(keys)):
            if not self.has_entry(keys[row]):
                table.move_cursor(row=row, animate=False)
                return True
        return False

    def has_unsaved(self) -> bool:
        return bool(self.entry.value.strip())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters are this screen's commands; the entry line gets them back as text.
        return True

    # ------------------------------------------------------------------ rows

    def current(self) -> int | None:
        key = self.table.current_key()
        return int(key) if key else None

    def action_move(self, step: int) -> None:
        """Arrow keys: the message of the last save gives way to the row's entries."""
        self._message = ""
        self._chosen = True
        self._refused = None
        self.go(step)

    def has_entry(self, key: int) -> bool:
        """Whether the row already holds what this screen enters."""
        return False

    def go(self, step: int) -> None:
        table = self.table
        if table.row_count:
            row = max(0, min(table.row_count - 1, table.cursor_row + step))
            table.move_cursor(row=row, animate=False)

    def action_back(self) -> None:
        self.dismiss()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.query_one("#entry-who", Static).update(self.who_line())
        self._show_status()

    def current_stay(self) -> dict[str, Any] | None:
        """The person the row under the cursor is about."""
        return None

    def who_line(self) -> Text:
        stay = self.current_stay()
        if stay is None:
            return Text()
        label = f"{stay['room']} {stay['person']['name']}"
        return Text(f"{label} ▸", no_wrap=True, overflow="ellipsis", style="bold")

    def row_detail(self) -> Text:
        """What is stored for the row under the cursor (shown when nothing was just said)."""
        return Text()

    # ------------------------------------------------------------------ entry

    def typed(self) -> str:
        return self.entry.value.strip()

    def type_or_act(self, char: str) -> bool:
        """For a letter key: False when it was typed into a line holding text (as a
        key would be: over a selection, in its place); True to act on the row, when
        the line is empty or holds only a refused value (selected whole)."""
        text = self.typed()
        entry = self.entry
        start, end = sorted(entry.selection)
        if not text or (start, end) == (0, len(entry.value)):
            entry.value = ""
            return True
        if start != end:
            entry.replace(char, start, end)
        else:
            entry.insert_text_at_cursor(char)
        return False

    async def action_enter(self) -> None:
        text = self.typed()
        key = self.current()
        if key is None:
            return
        if not text:
            self.action_move(1)
            return
        self.store_entry(key, text)

    def store_entry(self, key: int, text: str) -> None:
        raise NotImplementedError

    def attempt(
        self, key: int, write: Callable[[], Any], then: Callable[[Any], None], what: str = ""
    ) -> None:
        """Run one store write for row ``key`` (``what``: the entry, as typed or as
        its key), then ``then(what it returned)``; on a broken rule say why, store
        nothing, keep the text selected (typing again replaces it)."""
        if self.writing or self.iso_app.refuse_if_read_only():
            return
        if self.has_entry(key) and not self._chosen and self._refused != (key, what):
            # A burst of typing that ran past the last empty row must not overwrite
            # what is there: the row's entry is said, and the same entry again (or a
            # move onto the row by hand) replaces it. The cursor is on that row: the
            # message says what to do there, not to move onto it.
            self._refused = (key, what)
            again = "↵" if self.typed() else what
            said = t("ui.already_entered", again=again)
            self.say(" ".join(p for p in (said, self.row_detail().plain) if p), "error")
            self.entry.select_all()
            return
        self._refused = None

        def done(outcome: Outcome) -> None:
            try:
                result = outcome.result()
            except (FieldError, ValidationFailed) as exc:
                first = exc.errors[0] if isinstance(exc, ValidationFailed) else exc
                label = t(f"field.{first.field}")
                where = label if label != f"field.{first.field}" else first.field
                self.say(t("ui.not_saved", field=where, message=first.message), "error")
            except StoreError as exc:
                self.say(str(exc), "error")
            except Exception as exc:
                # What was typed must never end the program; nothing was stored (one
                # transaction per write).
                self.log.error(exc)
                self.say(t("ui.unexpected", error=f"{type(exc).__name__}: {exc}"), "error")
            else:
                then(result)
                return
            self.entry.select_all()

        self.write(write, done)

    def write_waits(self, waiting: bool) -> None:
        """The line takes nothing while its value waits to be stored."""
        self.entry.disabled = waiting
        if not waiting:
            self.set_focus(self.entry)

    def say_waiting(self) -> None:
        self.say(t("ui.saving_waiting"))

    def stored(self, message: str, style: str = "") -> None:
        """After a write: counters and list at once, the line emptied, and on to the
        next row that still needs an entry (filling in a skipped room then goes on
        where the gaps are, never over what is entered)."""
        self.iso_app.apply_changes_now()  # reloads this list too: it watches the table
        self.entry.value = ""
        self._chosen = False
        self._refused = None
        if not self._to_next_open(self.table.cursor_row + 1):
            message = f"{message} · {t('ui.all_entered')}"
        self.say(message, style)

    def say(self, message: str, style: str = "") -> None:
        """A message that stays until the cursor is moved by hand or the next entry."""
        self._message = message
        self._message_style = style
        self._show_status()

    def _show_status(self) -> None:
        status = self.query_one("#entry-status", Static)
        if self._message:
            style = {"error": "bold red", "alert": "bold reverse red"}.get(self._message_style, "")
            # Wraps (the list gives way): a refusal is read whole.
            status.update(Text(self._message, style=style))
        else:
            status.update(self.row_detail())

    def show_rows(self, keys: list[str], build: Any) -> None:
        """Show the rows; when the same people are listed, only changed cells are
        touched (a save changes one row; a rebuild would lose the place)."""
        table = self.table
        if [str(k.value) for k in table.rows] != keys or table.page:
            table.show(keys, build)
            return
        for key in keys:
            table.update_row(key, build(key))

    def title_text(self, view: str, point: str, progress: str) -> Text:
        """The view and the point first, then how far along: at 80 columns the line
        wraps rather than cut the point's name."""
        return Text(" · ".join(p for p in (view, point, progress) if p))


def entry_cell(check: dict[str, Any] | None) -> Text:
    """One round's entry as the list shows it; a fever is marked in words as well as
    colour (``!``), so it shows without colours too."""
    if check is None:
        return cell("·", "dim")
    status = check["status"]
    if status in ("missed", "refused"):
        return cell(CHECK_STATUS.label(status), "bold yellow")
    temperature = check["temperature"]
    text = f"{temperature:.1f}"
    if is_fever(temperature):
        return cell(f"{text}!", "bold red")
    if check.get("symptoms"):
        return cell(f"{text}+", "yellow")
    return cell(text)


class RoundScreen(QuickEntryScreen):
    watched_tables = frozenset({CHECKS, STAYS})
    columns = ("floor", "room", "name", "morning", "afternoon", "entered", "symptoms")
    fill_column = "symptoms"
    hint_key = "ui.round_hint"
    PALETTE = (
        ("ui.key_missed", "ui.help_missed", "mark('m')"),
        ("ui.key_refused", "ui.help_refused", "mark('r')"),
        ("ui.key_switch_round", "ui.help_switch_round", "switch_round"),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "mark('m')", "ui.key_missed", priority=True),
        Binding("r", "mark('r')", "ui.key_refused", priority=True),
        Binding("ctrl+t", "switch_round", "ui.key_switch_round", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._round: str | None = None  # None: by the clock
        self._floors: dict[str, str] = {}
        self._stays: dict[int, dict[str, Any]] = {}

    @property
    def day(self) -> str:
        return self.store.clock().date().isoformat()

    @property
    def round_name(self) -> str:
        return self._round or round_of(self.store.clock().hour)

    def check(self, stay_id: int, round_name: str) -> dict[str, Any] | None:
        check_id = self.store.health.check_of(stay_id, self.day, round_name)
        return self.store.get(CHECKS, check_id) if check_id is not None else None

    def entered_by(self, stay_id: int, round_name: str) -> str:
        """Who entered the reading as it stands (a correction's author, not the first
        entry's)."""
        check_id = self.store.health.check_of(stay_id, self.day, round_name)
        return who_label(self.store.entered_by(CHECKS, check_id)) if check_id else ""

    def reload(self) -> None:
        """Only the people now in isolation here, and for each one index look-up per
        round: the cost is the point's beds, whatever the number of checks stored."""
        code = self.point
        point = self.store.point(code) if code else None
        self._floors = {
            room["code"]: room.get("floor", "") for room in (point or {}).get("rooms", [])
        }
        # The store's order is the walk: building, floor, room.
        people = self.store.health.round_people(code) if code else []
        self._stays = dict(people)
        day, current = self.day, self.round_name
        done = fever = missed = 0
        rows: dict[str, list[Text]] = {}
        for stay_id, stay in people:
            checks = {name: self.check(stay_id, name) for name in ROUND.codes}
            mine = checks[current]
            if mine is not None:
                done += 1
                fever += is_fever(mine["temperature"])
                missed += mine["status"] in ("missed", "refused")
            # The time only: who entered it is in the line below for the row under the
            # cursor, and the symptoms keep the room (at 80 columns they were cut).
            entered = mine["at"][11:16] if mine else ""
            rows[str(stay_id)] = [
                cell(self._floors.get(stay["room"], "")),
                cell(stay["room"]),
                cell(stay["person"]["name"]),
                *(_marked(entry_cell(checks[name]), name == current) for name in ROUND.codes),
                cell(entered, "dim"),
                cell(mine["symptoms"] if mine else "", "yellow"),
            ]
        self.show_rows(list(rows), rows.__getitem__)
        name = point["name"] if point else ""
        self.query_one("#screen-title", Static).update(
            self.title_text(
                f"{t(f'ui.round_{current}')} {day[5:]}",
                name,
                t("ui.round_progress", done=done, total=len(people), fever=fever, missed=missed),
            )
        )
        if not people:
            self.say(t("ui.round_nobody", point=name or "-") if code else t("ui.choose_point"))
        self._highlighted()

    def hint(self) -> str:
        # The marks of the list explained where they show (m and r are in the footer).
        return t(
            self.hint_key, fever=t("ui.round_mark_fever"), symptoms=t("ui.round_mark_symptoms")
        )

    def has_entry(self, key: int) -> bool:
        return self.check(key, self.round_name) is not None

    def current_stay(self) -> dict[str, Any] | None:
        return self._stays.get(self.current() or 0)

    def row_detail(self) -> Text:
        stay_id = self.current()
        stay = self._stays.get(stay_id or 0)
        if stay_id is None or stay is None:
            return Text()
        parts = []
        for name in ROUND.codes:
            check = self.check(stay_id, name)
            if check is None:
                continue
            value = (
                f"{check['temperature']:.1f}"
                if check["temperature"] is not None
                else CHECK_STATUS.label(check["status"])
            )
            symptoms = f" {check['symptoms']}" if check.get("symptoms") else ""
            who = f"{check['at'][11:16]} {self.entered_by(stay_id, name)}"
            parts.append(f"{ROUND.label(name)} {value}{symptoms} ({who})")
        text = f"#{stay_id} {stay['person']['name']}: " + (
            "; ".join(parts) or t("ui.round_none_yet")
        )
        # Wraps (the list gives way): the symptoms the column cuts are read whole here.
        return Text(text, style="dim")

    def store_entry(self, key: int, text: str) -> None:
        # Anything after the first space (an IME's wide space too) is the symptoms.
        value, symptoms = [*text.split(maxsplit=1), ""][:2]
        stay = self._stays.get(key)
        if stay is None:
            return
        self.attempt(
            key,
            lambda: self.store.health.record_check(key, self.day, self.round_name, value, symptoms),
            lambda result: self._checked(key, stay, result),
            text,
        )

    def _checked(self, key: int, stay: dict[str, Any], result: tuple[Any, int | None, Any]) -> None:
        _, draft, revisited = result
        check = self.check(key, self.round_name) or {}
        who = f"{stay['room']} {stay['person']['name']}"
        # The draft the old reading raised follows the correction: say what became of it.
        after = f" · {t(f'ui.draft_{revisited[0]}', id=revisited[1])}" if revisited else ""
        # The symptoms as stored, whole: the list's column may cut them.
        symptoms = check.get("symptoms") or ""
        if draft is not None:
            shown = f"{check.get('temperature', 0):.1f}"
            said = t("ui.round_fever", who=who, value=shown, id=draft)
            self.stored(" · ".join(p for p in (said, symptoms) if p) + after, "alert")
            return
        shown = (
            f"{check['temperature']:.1f}"
            if check.get("temperature") is not None
            else CHECK_STATUS.label(check.get("status", ""))
        )
        value = f"{shown} {symptoms}".strip()
        self.stored(t("ui.round_saved", who=who, value=value) + after)

    def action_mark(self, letter: str) -> None:
        key = self.current()
        if self.type_or_act(letter) and key is not None:
            self.store_entry(key, letter)

    def action_switch_round(self) -> None:
        names = ROUND.codes
        self._round = names[(names.index(self.round_name) + 1) % len(names)]
        self.reload()
        self.say(t("ui.round_switched", round=t(f"ui.round_{self._round}")))


def _marked(text: Text, current: bool) -> Text:
    if current:
        text.stylize("underline")
    return text
