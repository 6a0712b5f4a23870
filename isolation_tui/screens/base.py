"""What every main screen shares: the counter bar on top, the keys at the bottom."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TextArea

from ..domain.errors import FieldError, ValidationFailed
from ..i18n import t
from ..storage.errors import StoreError
from ..widgets.counter_bar import CounterBar
from ..widgets.form import ChoiceField, FieldSpec, RecordForm, TextField
from ..widgets.keys import translate_bindings
from ..widgets.mode_tabs import ModeTabs
from ..widgets.record_table import RecordTable
from .confirm import ConfirmScreen
from .too_small import TooSmallScreen, too_small

if TYPE_CHECKING:
    from ..app import IsolationApp
    from ..storage.repository import Store


class MainScreen(Screen[None]):
    """A screen of one mode. Subclasses fill the body and reload on data changes."""

    mode_name = ""
    watched_tables: frozenset[str] = frozenset()
    PALETTE: tuple[tuple[str, str, str], ...] = ()
    """This screen's actions for the command palette: (name, help, action)."""
    closes_on_leave = False
    """A view opened over a mode's main screen that closes when the user goes to
    another screen (F1–F5): coming back shows the main screen, whose footer is true."""

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self._stale = True

    @property
    def iso_app(self) -> IsolationApp:
        return cast("IsolationApp", self.app)

    @property
    def store(self) -> Store:
        return self.iso_app.store

    def compose(self) -> ComposeResult:
        yield CounterBar(id="counter-bar")
        yield ModeTabs(self.mode_name, read_only=self.store.read_only, over=self.closes_on_leave)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO: subclasses do not define it.
        self.iso_app.data_changed.subscribe(self, self._on_data_changed)
        self._show_counters()
        self.reload()
        self._stale = False
        self.focus_first()

    def on_resize(self, event: events.Resize) -> None:
        if too_small(event.size) and self.is_current:
            self.app.push_screen(TooSmallScreen())

    async def open_form(self, make: Callable[[], Screen[Any]], writes: bool = True) -> None:
        """Open a screen and wait until it is there. The letter keys that call this are
        priority bindings, run as the key arrives: whatever is typed right after then
        lands in the new form, not in this list."""
        if writes and self.iso_app.refuse_if_read_only():
            return
        await self.app.push_screen(make())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A letter typed into a text field (the filter) is text, not a command."""
        typing = isinstance(self.focused, Input | TextArea)
        return not (typing and action in self._letter_actions())

    def _letter_actions(self) -> set[str]:
        return {
            binding.action
            for bindings in self._bindings.key_to_bindings.values()
            for binding in bindings
            if len(binding.key) == 1
        }

    def has_unsaved(self) -> bool:
        """Something typed here and not saved (quitting asks first)."""
        return False

    def focus_first(self) -> None:
        """Put the cursor where work on this screen starts."""
        tables = self.query(RecordTable)
        if tables:
            self.set_focus(tables.first())

    def on_screen_resume(self) -> None:
        self._show_counters()
        if self._stale:
            self.reload()
            self._stale = False

    def _on_data_changed(self, tables: frozenset[str]) -> None:
        self._show_counters()
        if "*" in tables or tables & self.watched_tables:
            if self.is_current:
                self.reload()
            else:
                self._stale = True

    def _show_counters(self) -> None:
        app = self.iso_app
        short = "" if app.all_points else app.point or ""
        self.query_one(CounterBar).show(
            app.scope_counters, app.scope_label, short, self.store.actor.on_duty
        )

    def reload(self) -> None:
        """Show the data again (called when records this screen shows changed)."""


class FormScreen(MainScreen):
    """A form over the counter bar: ctrl+s saves, escape cancels (asking if typed in).

    Subclasses give the fields and ``save``; a rule broken shows beside its field
    and nothing is stored (each save is one transaction).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "ui.key_save", priority=True),
        Binding("escape", "cancel", "ui.key_cancel"),
        Binding("enter", "enter", "ui.key_next_field", priority=True, show=False),
        Binding("tab", "next_field", "ui.key_next_field", priority=True, show=False),
        Binding("shift+tab", "previous_field", "ui.key_next_field", priority=True, show=False),
    ]
    title_key = ""
    paste_columns: tuple[str, ...] = ()
    """The order of the cells of a spreadsheet row pasted into the form (empty: the
    fields from the cursor on)."""

    def specs(self) -> Sequence[FieldSpec]:
        raise NotImplementedError

    def initial_values(self) -> dict[str, str]:
        return {}

    def compose(self) -> ComposeResult:
        yield CounterBar(id="counter-bar")
        yield ModeTabs(self.mode_name, read_only=self.store.read_only, over=True)
        yield Static(self.heading(), id="screen-title", markup=False)
        yield RecordForm(
            self.specs(), self.initial_values(), paste_columns=self.paste_columns, id="form"
        )
        yield Static("", id="form-status", markup=False)
        yield Footer()

    def heading(self) -> str:
        return t(self.title_key)

    @property
    def form(self) -> RecordForm:
        return self.query_one(RecordForm)

    first_field = ""

    def focus_first(self) -> None:
        self.form.focus_field(self.first_field or self.form.specs[0].name)

    def has_unsaved(self) -> bool:
        return self.form.dirty

    def reload(self) -> None:
        """Another session's change may have taken the room on offer: offer again."""
        for row in self.form.rows():
            row.refresh_options()

    def action_next_field(self) -> None:
        """Tab moves on, decided when the key arrives: in a burst of typing (a fast
        typist, an ID card reader) the next keys then land in the next field."""
        focused = self.focused
        if not isinstance(focused, TextField | ChoiceField):
            raise SkipAction()
        self.focus_next()

    async def action_enter(self) -> None:
        """Enter moves on as tab does, past fields with nothing left to type, and saves
        from the last field (or from where ``saves_on_enter`` says)."""
        focused = self.focused
        if not isinstance(focused, TextField | ChoiceField):
            raise SkipAction()
        # Where enter goes depends on what was typed (a complete resident ID): let the
        # fields take the keys already sent before deciding. The keys after this one
        # wait meanwhile, so they land where enter leads.
        await self.form.settled()
        name = (focused.id or "").removeprefix("field-")
        names = [spec.name for spec in self.form.specs]
        if name == names[-1] or self.saves_on_enter(name):
            await self.action_save()
            return
        self._move_on_from(name)

    def _move_on_from(self, name: str) -> None:
        """To the next field with something left to type."""
        names = [spec.name for spec in self.form.specs]
        ahead = [n for n in names[names.index(name) + 1 :] if not self.skip_on_enter(n)]
        self.form.focus_field(ahead[0] if ahead else names[-1])

    def skip_on_enter(self, name: str) -> bool:
        """A field enter passes by (it is filled from another)."""
        return False

    def saves_on_enter(self, name: str) -> bool:
        """Enter in this field saves the form."""
        return False

    def confirm_first(self, values: dict[str, str]) -> tuple[str, dict[str, str], str] | None:
        """A question to answer before storing: (question, the values a yes adds,
        the field to go back to on a no); None: nothing to ask."""
        return None

    def on_text_field_pasted(self, event: TextField.Pasted) -> None:
        start = (event.field.id or "").removeprefix("field-")
        message, refused = self.form.paste(start, event.lines)
        self._status(message, error=refused)
        if not refused and len(event.lines) > 1:
            # Lines went down the form from here: carry on after the last one.
            names = [spec.name for spec in self.form.specs]
            last = names[min(names.index(start) + len(event.lines), len(names)) - 1]
            self._move_on_from(last)

    def action_previous_field(self) -> None:
        if not isinstance(self.focused, TextField | ChoiceField):
            raise SkipAction()
        self.focus_previous()

    def save(self, values: dict[str, str]) -> str:
        """Store the record; return the message to show. Raises on a broken rule."""
        raise NotImplementedError

    def after_save(self) -> None:
        self.dismiss()

    async def action_save(self) -> None:
        if self.iso_app.refuse_if_read_only():
            return
        await self.form.settled()
        values = self.form.values()
        question = self.confirm_first(values)
        if question is None:
            await self._store(values)
            return
        text, extra, field = question

        async def answered(yes: bool | None) -> None:
            if yes:
                await self._store(values | extra)
            else:
                self.form.focus_field(field)

        self.app.push_screen(ConfirmScreen(text), answered)

    async def _store(self, values: dict[str, str]) -> None:
        self.form.clear_errors()
        try:
            message = self.save(values)
        except (ValidationFailed, FieldError) as exc:
            errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
            self.form.show_errors(errors)
            # The line below the form has room for the whole first message (the
            # column beside a field may cut it), and for a rule about no field here.
            first = errors[0]
            label = t(f"field.{first.field}")
            where = label if label != f"field.{first.field}" else first.field
            self._status(t("ui.not_saved", field=where, message=first.message), error=True)
            return
        except StoreError as exc:
            self._status(str(exc), error=True)
            self.notify(str(exc), severity="error", markup=False)
            return
        except Exception as exc:
            # Nothing was stored (each save is one transaction); say so and keep the form.
            self.log.error(exc)
            self._status(t("ui.unexpected", error=f"{type(exc).__name__}: {exc}"), error=True)
            return
        self.iso_app.apply_changes_now()
        self.form.mark_saved()
        self._status(message)
        self.after_save()
        if self.app.screen is not self:
            # The form closed, and its status line with it: say it where it stays seen.
            self.iso_app.notify(message, markup=False)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#form-status", Static)
        status.update(message)
        status.set_class(error, "-error")

    def action_cancel(self) -> None:
        if not self.form.dirty:
            self.dismiss()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss()

        self.app.push_screen(ConfirmScreen(t("ui.discard_question")), answered)
