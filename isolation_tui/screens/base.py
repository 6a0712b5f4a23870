"""What every main screen shares: the counter bar on top, the keys at the bottom."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Static, TextArea

from ..domain.errors import FieldError, ValidationFailed
from ..i18n import t
from ..storage.errors import StoreError
from ..widgets.breaking_static import BreakingStatic
from ..widgets.counter_bar import CounterBar
from ..widgets.form import ChoiceField, FieldSpec, RecordForm, TextField
from ..widgets.keys import translate_bindings
from ..widgets.mode_tabs import ModeTabs
from ..widgets.record_table import RecordTable
from .confirm import ConfirmScreen
from .too_small import TooSmallScreen, too_small

if TYPE_CHECKING:
    from ..app import IsolationApp
    from ..storage.backend import Backend
    from ..storage.repository import Store


WAIT_NOTICE_SECONDS = 0.3
"""A write still waiting for the writers' lock after this long says so."""


@dataclass
class Outcome:
    """What a write returned, or the error it raised (read with ``result``)."""

    value: Any = None
    error: Exception | None = None

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _attempt(work: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=work())
    except Exception as exc:
        return Outcome(error=exc)


class MainScreen(Screen[None]):
    """A screen of one mode. Subclasses fill the body and reload on data changes."""

    mode_name = ""
    watched_tables: frozenset[str] = frozenset()
    PALETTE: tuple[tuple[str, str, str], ...] = ()
    """This screen's actions for the command palette: (name, help, action)."""
    closes_on_leave = False
    """A view opened over a mode's main screen that closes when the user goes to
    another screen (F1–F5): coming back shows the main screen, whose footer is true."""

    class Written(Message):
        """A write that had to wait for another session is over (stored or refused)."""

        def __init__(self, outcome: Outcome) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self._stale = True
        self._write_done: Callable[[Outcome], None] | None = None
        self._wait_notice: Timer | None = None
        self._written: dict[str, int] = {}

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
        self._written = dict(self.store.written)
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
        self._to_written()

    def _to_written(self) -> None:
        """After a save (here or in a form over this list), the cursor is on the
        record just written, not where it was."""
        written = self.store.written
        if written == self._written:
            return
        for table in self.query(RecordTable):
            record = written.get(table.records)
            if table.records and record is not None and record != self._written.get(table.records):
                table.go_to(str(record))
        self._written = dict(written)

    @property
    def seen(self) -> bool:
        """On the terminal now: in front, or under see-through screens only (a
        question). Textual's ``is_current`` also counts the screen right under an
        opaque one, such as a list under its form."""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        return all(above.styles.background.a < 1 for above in stack[stack.index(self) + 1 :])

    def _on_data_changed(self, tables: frozenset[str]) -> None:
        """Only what is seen is drawn again: a save costs the screen in front, not
        every list and counter bar open behind it (those catch up when shown)."""
        if not self.seen:
            self._stale = self._stale or "*" in tables or bool(tables & self.watched_tables)
            return
        self._show_counters()
        if "*" in tables or tables & self.watched_tables:
            self.reload()
            self._to_written()

    def _show_counters(self) -> None:
        app = self.iso_app
        short = app.point if app.point and not app.all_points else t("ui.scope_all_key")
        self.query_one(CounterBar).show(
            app.scope_counters,
            app.scope_label,
            short,
            self.store.actor.on_duty,
            app.alerts(),
            lasting=app.lasting_state(),
        )

    def reload(self) -> None:
        """Show the data again (called when records this screen shows changed)."""

    # ------------------------------------------------------------------ writing

    @property
    def writing(self) -> bool:
        """A write of this screen waits for another session: it takes no other."""
        return self._write_done is not None

    def write(self, work: Callable[[], Any], done: Callable[[Outcome], None]) -> None:
        """Run ``work`` (store writes) under the writers' lock, then ``done(outcome)``.

        The data in memory belongs to this (the UI) thread: the screens read the
        stored documents themselves. So ``work`` always runs here, and only the
        wait for the lock leaves it: when another session holds the lock (an
        import), a worker thread waits for it, hands ``work`` back to this thread
        with the lock held, and posts :class:`Written`. Meanwhile this screen takes
        no other write, and every other screen keeps working.
        """
        if self.writing:
            return
        storage = self.store.db.storage
        try:
            with storage.writers_lock(wait=False) as held:
                outcome = _attempt(work) if held else None
        except Exception as exc:  # the lock file cannot be opened: said as a refusal
            outcome = Outcome(error=exc)
        if outcome is not None:
            done(outcome)
            return
        self._write_done = done
        self.write_waits(True)
        self._wait_notice = self.set_timer(WAIT_NOTICE_SECONDS, self.say_waiting)
        app = self.app
        self.run_worker(
            lambda: self._wait_and_write(app, storage, work),
            thread=True,
            group="write",
            exit_on_error=False,
        )

    def _wait_and_write(self, app: App[None], storage: Backend, work: Callable[[], Any]) -> None:
        """In the worker thread: wait for the lock, write on the UI thread, report."""
        try:
            with storage.writers_lock():
                outcome = app.call_from_thread(_attempt, work)
        except Exception as exc:  # the lock itself: files gone, a time limit
            outcome = Outcome(error=exc)
        self.post_message(self.Written(outcome))

    def on_main_screen_written(self, message: Written) -> None:
        done, self._write_done = self._write_done, None
        if self._wait_notice is not None:
            self._wait_notice.stop()
        self.write_waits(False)
        if done is not None:
            done(message.outcome)

    def write_waits(self, waiting: bool) -> None:
        """A write starts or stops waiting for another session."""

    def say_waiting(self) -> None:
        """Say that a write waits for another session."""
        self.notify(t("ui.saving_waiting"), markup=False)


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
        Binding("shift+tab", "previous_field", "ui.key_previous_field", priority=True, show=False),
    ]
    title_key = ""
    _typing_in: Widget | None = None
    _saved_away = False
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
        yield BreakingStatic(self.heading(), id="screen-title", markup=False)
        yield RecordForm(
            self.specs(),
            self.initial_values(),
            paste_columns=self.paste_columns,
            follow=self.follow,
            id="form",
        )
        yield BreakingStatic("", id="form-status", markup=False)
        yield Footer()

    def heading(self) -> str:
        return t(self.title_key)

    def follow(self, name: str, value: str) -> None:
        """Field ``name`` now holds ``value``: show, hide or fill what depends on it.
        Called as the value changes, so that keys typed right after (in one burst)
        meet the form as it will look."""

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
        """Tab moves on: the keys typed after it, even in the same burst, land in the
        next field (the app handles keys one at a time, see widgets/key_order.py)."""
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
        name = (focused.id or "").removeprefix("field-")
        names = [spec.name for spec in self.form.specs]
        if name == names[-1] or self.saves_on_enter(name):
            await self.action_save()
            return
        self._move_on_from(name)

    def _move_on_from(self, name: str) -> None:
        """To the next field with something left to type (a hidden one has nothing)."""
        names = [spec.name for spec in self.form.specs]
        ahead = [
            n
            for n in names[names.index(name) + 1 :]
            if not self.skip_on_enter(n) and self.form.row(n).display
        ]
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
        if self.writing or self.iso_app.refuse_if_read_only():
            return
        await self._ask_then_store(self.form.values())

    async def _ask_then_store(self, values: dict[str, str]) -> None:
        """Each question of :meth:`confirm_first` in turn (a yes adds its values and
        asks the next), then store; a no stores nothing and goes back to its field."""
        question = self.confirm_first(values)
        if question is None:
            await self._store(values)
            return
        text, extra, field = question

        async def answered(yes: bool | None) -> None:
            if yes:
                await self._ask_then_store(values | extra)
            else:
                self._status(t("ui.not_saved_asked"))
                self.form.focus_field(field)

        self.app.push_screen(ConfirmScreen(text), answered)

    async def _store(self, values: dict[str, str]) -> None:
        self.form.clear_errors()
        self.write(lambda: self.save(values), self._stored)

    def write_waits(self, waiting: bool) -> None:
        """Nothing typed while the save waits: what is stored is what was shown."""
        if waiting:
            self._typing_in = self.focused
        self.form.disabled = waiting
        if not waiting and self._typing_in is not None and self._typing_in.is_attached:
            self.set_focus(self._typing_in)

    def say_waiting(self) -> None:
        self._status(t("ui.saving_waiting"))

    def _stored(self, outcome: Outcome) -> None:
        try:
            message = outcome.result()
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
        if not self.is_current:
            # Stored while the supervisor was on another screen (the save waited):
            # say so there; the form closes or clears when they come back to it.
            self.iso_app.notify(message, markup=False)
            self._saved_away = True
            return
        self.after_save()
        if self.app.screen is not self:
            # The form closed, and its status line with it: say it where it stays seen.
            self.iso_app.notify(message, markup=False)

    @on(events.ScreenResume)
    def _after_save_away(self) -> None:
        if self._saved_away:
            self._saved_away = False
            self.after_save()

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
