"""What a list screen with a filter line shares (F2, F3, F4): ``/`` puts the cursor in
the filter at once, so the keys typed right after it (read in the same burst) land
there; esc clears the filter, or leaves an empty one, and goes back to the list."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import Input, Static

from ..i18n import t
from ..widgets.form import TextField
from ..widgets.record_table import RecordTable
from .base import MainScreen

FILTER_DELAY = 0.3


class FilteredScreen(MainScreen):
    """Subclasses bind ``slash`` to ``filter`` and ``escape`` to ``clear_filter``, yield
    :meth:`filter_line` and :meth:`filter_note`, and read :attr:`needle` in ``reload``."""

    filter_hint_key = "ui.filter_hint"

    def __init__(self) -> None:
        super().__init__()
        self._filter_timer: Timer | None = None

    def filter_line(self) -> ComposeResult:
        yield TextField(placeholder=t(self.filter_hint_key), id="filter", compact=True)

    def filter_note(self) -> ComposeResult:
        yield Static("", id="filter-note", markup=False)

    @property
    def needle(self) -> str:
        """What the filter holds, to be found in a record's text (case aside)."""
        return self.query_one("#filter", Input).value.strip().lower()

    def say_filtered(self, shown: int) -> None:
        """An empty list must not look like an empty point: say why, and the way back."""
        needle = self.needle
        note = self.query_one("#filter-note", Static)
        note.display = bool(needle) and not shown
        if note.display:
            note.update(t("ui.filter_none", text=needle))

    @on(RecordTable.Paged)
    def say_sealed(self) -> None:
        """Under an unfiltered list whose first page holds only the live set: how many
        rows of past months follow (read from sealed history when their page is shown)."""
        if self.needle:
            return  # the filter's note is said by ``say_filtered``
        waiting = sum(table.waiting() for table in self.query(RecordTable))
        note = self.query_one("#filter-note", Static)
        note.display = bool(waiting)
        if waiting:
            note.update(t("ui.sealed_below", count=waiting))

    @on(Input.Changed, "#filter")
    def _filter_later(self) -> None:
        # Typing fast must not rescan the list per key: wait for a pause.
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY, self.reload)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self._to_list()

    def _to_list(self) -> None:
        # set_focus, not focus(): at once, before the next key of a burst is handled.
        self.set_focus(self.query(RecordTable).first())

    def action_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            field = self.query_one("#filter", Input)
            return bool(field.value) or self.focused is field
        return super().check_action(action, parameters)

    def action_clear_filter(self) -> None:
        """Esc: the whole list again, at once, and the cursor in it."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self.query_one("#filter", Input).value = ""
        self.reload()
        self._to_list()
