"""What a list screen with a filter line shares (F2, F3, F4): ``/`` puts the cursor in
the filter at once, so the keys typed right after it (read in the same burst) land
there; esc clears the filter, or leaves an empty one, and goes back to the list.

A filter finds the live set's records at once; sealed history (months of it at a
point that has run for years: seconds to read) is searched in a worker thread, the
filter line saying so meanwhile, and every key keeps working. A new filter, or
leaving the screen, drops the search under way."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from textual import events, on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ..i18n import t
from ..storage.errors import StoreError
from ..widgets.form import TextField
from ..widgets.record_table import RecordTable
from .base import MainScreen

FILTER_DELAY = 0.3
HISTORY_SEARCH = "history-search"

Search = Callable[[], Iterator[set[str]]]
"""A search of sealed history: the keys found, a segment's worth at a time (a
worker checks between them whether the search is still wanted)."""


class FilteredScreen(MainScreen):
    """Subclasses bind ``slash`` to ``filter`` and ``escape`` to ``clear_filter``, yield
    :meth:`filter_line` and :meth:`filter_note`, and read :attr:`needle` in ``reload``."""

    filter_hint_key = "ui.filter_hint"

    class HistorySearched(Message):
        """The search of sealed history for ``needle`` is over: ``found`` its keys."""

        def __init__(self, needle: str, found: set[str], error: str = "") -> None:
            super().__init__()
            self.needle, self.found, self.error = needle, found, error

    def __init__(self) -> None:
        super().__init__()
        self._filter_timer: Timer | None = None
        # The filter sealed history was (or is being) searched for, and what it found.
        self._history_needle = ""
        self._history_found: set[str] = set()
        self._history_searching = False

    def filter_line(self) -> ComposeResult:
        yield TextField(placeholder=t(self.filter_hint_key), id="filter", compact=True)

    def filter_note(self) -> ComposeResult:
        yield Static("", id="filter-note", markup=False)

    @property
    def needle(self) -> str:
        """What the filter holds, to be found in a record's text (case aside)."""
        return self.query_one("#filter", Input).value.strip().lower()

    def say_filtered(self, shown: int) -> None:
        """An empty list must not look like an empty point: say why, and the way back;
        while earlier months are searched, say so."""
        needle = self.needle
        note = self.query_one("#filter-note", Static)
        note.display = bool(needle) and (self._history_searching or not shown)
        if note.display:
            key = "ui.filter_searching" if self._history_searching else "ui.filter_none"
            note.update(t(key, text=needle))

    def history_hits(self, search: Search) -> set[str]:
        """The keys of sealed records the filter finds, as far as known: none yet the
        first time a filter asks (``search`` then starts in a worker thread, and the
        list is shown again when it is over), those found the next times."""
        needle = self.needle
        if needle != self._history_needle or not needle:
            self._drop_history_search()
            self._history_needle = needle
            if needle and self.store.history_sealed():
                self._history_searching = True
                self._search_history(needle, search)
        return self._history_found

    @work(thread=True, exclusive=True, group=HISTORY_SEARCH, exit_on_error=False)
    def _search_history(self, needle: str, search: Search) -> None:
        worker = get_current_worker()
        found: set[str] = set()
        try:
            for part in search():
                if worker.is_cancelled:
                    return
                found |= part
        except StoreError as exc:  # a damaged segment: said, and the live matches stay
            self.post_message(self.HistorySearched(needle, found, str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.HistorySearched(needle, found))

    @on(HistorySearched)
    def _history_searched(self, message: HistorySearched) -> None:
        if message.needle != self._history_needle or not self._history_searching:
            return  # a filter since replaced
        self._history_searching = False
        self._history_found = message.found
        if message.error:
            self.notify(message.error, severity="error", markup=False)
        self.reload()

    def _drop_history_search(self) -> None:
        self.workers.cancel_group(self, HISTORY_SEARCH)
        self._history_needle, self._history_found = "", set()
        self._history_searching = False

    @on(events.ScreenSuspend)
    def _leave_history_search(self) -> None:
        """Left (another screen, a form): the search under way is dropped, and made
        again on coming back."""
        if self._history_searching:
            self._drop_history_search()
            self._stale = True

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
        # A search of earlier months for what the filter held is of no use now.
        if self._history_searching:
            self._drop_history_search()
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
