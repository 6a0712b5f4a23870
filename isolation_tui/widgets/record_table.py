"""A table of records that shows every value literally and pages long lists.

DataTable reads plain strings as markup, so every cell is wrapped in ``Text``: a
name like ``[red]x[/]`` shows as typed and can never break rendering. Only one
page of rows is ever built, so a list of 100,000 records costs what a page costs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey

from ..domain.sequences import ByPosition
from ..i18n import t
from .keys import translate_bindings

PAGE_SIZE = 200
# Free-text columns get a fixed width so a long value cannot push the table past 80.
WIDTHS = {"name": 16, "destination": 24, "summary": 30, "origin": 16}
FILL_MIN_WIDTH = 10


def widest(labels: Iterable[str]) -> int:
    """The width of the longest of ``labels`` on a terminal (a Chinese character is 2)."""
    return max((cell_len(label) for label in labels), default=0)


class NewestFirst(ByPosition[str]):
    """Record ids stored oldest first, read newest first as row keys, without copying
    them (only the page shown is ever read)."""

    def __init__(self, keys: Sequence[int]) -> None:
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    def _at(self, index: int) -> str:
        return str(self._keys[len(self) - 1 - index])


def _same(a: Text, b: Text) -> bool:
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def cell(value: Any, style: str = "") -> Text:
    return Text(str(value), style=style, no_wrap=True, overflow="ellipsis")


class RecordTable(DataTable[Text]):
    """Rows keyed by record id; ``pgdn`` past the last row loads the next page."""

    class Paged(Message):
        """A page was built (an empty one highlights no row to say so)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+right", "page(1)", "ui.key_next_page", show=False),
        Binding("ctrl+left", "page(-1)", "ui.key_prev_page", show=False),
        Binding("home,ctrl+home", "end(False)", "ui.key_top", show=False),
        Binding("end,ctrl+end", "end(True)", "ui.key_bottom", show=False),
    ]

    def __init__(
        self,
        columns: Sequence[str],
        widths: Mapping[str, int] | None = None,
        fill: str = "",
        records: str = "",
        **kwargs: Any,
    ) -> None:
        """``widths``: columns of a set width (a coded value: its longest label), so
        the table looks the same whatever rows it shows; ``fill``: the column that
        takes the width left, so the whole row fits the screen; ``records``: the
        table whose record ids are the row keys (a save puts the cursor on its record)."""
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        translate_bindings(self)
        self._column_keys = list(columns)
        self._widths = {**WIDTHS, **(widths or {})}
        self._fill = fill
        self.records = records
        self._seen: dict[str, int] = {}  # the widest cell shown so far, by column
        self._keys: Sequence[str] = ()
        self._build_row: Callable[[str], Sequence[Text]] = lambda _key: ()
        self.page = 0
        self._head = -1  # the first page's length when not PAGE_SIZE (see ``show``)

    def on_mount(self) -> None:
        for key in self._column_keys:
            label = t(f"ui.col_{key}")
            width = self._widths.get(key)
            self.add_column(
                label, key=key, width=None if width is None else max(width, cell_len(label))
            )

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Give the fill column what the others leave of the table's width. The others
        are measured here from the rows shown (the table itself measures them later),
        so a wider number never pushes the last column off the screen."""
        if not self._fill or not self.size.width:
            return
        fill = self.columns[ColumnKey(self._fill)]
        others = sum(
            max(column.content_width, self._seen.get(column.key.value or "", 0))
            if column.auto_width
            else column.width
            for column in self.ordered_columns
            if column is not fill
        )
        padding = 2 * self.cell_padding * len(self.columns)
        # The vertical scrollbar's room is kept whether or not it shows now.
        room = self.size.width - self.styles.scrollbar_size_vertical - others - padding
        if fill.width != max(FILL_MIN_WIDTH, room) or fill.auto_width:
            fill.width = max(FILL_MIN_WIDTH, room)
            fill.auto_width = False
            self._require_update_dimensions = True
            self.refresh()

    def show(
        self,
        keys: Sequence[str],
        build_row: Callable[[str], Sequence[Text]],
        keep_cursor: bool = True,
        in_memory: int | None = None,
    ) -> None:
        """Show rows ``keys`` (already in order); ``build_row`` is called for one page
        only. ``in_memory``: how many of the first keys are read from memory (the
        live set); when fewer than a page, they are the first page on their own, and
        the rows read from sealed history come on the next ones."""
        current = self.current_key() if keep_cursor else None
        self._keys = keys
        self._build_row = build_row
        # None stands for "all": a first page of none (nothing live) is kept too.
        self._head = (
            in_memory if in_memory is not None and in_memory < min(PAGE_SIZE, len(keys)) else -1
        )
        self.page = min(self.page, self._pages() - 1)
        self._build(current)

    def _pages(self) -> int:
        if self._head < 0:
            return max(1, (len(self._keys) + PAGE_SIZE - 1) // PAGE_SIZE)
        return 1 + max(1, (len(self._keys) - self._head + PAGE_SIZE - 1) // PAGE_SIZE)

    def _bounds(self, page: int) -> tuple[int, int]:
        """Where page ``page`` starts and ends in the keys."""
        if self._head >= 0:
            start = 0 if page == 0 else self._head + (page - 1) * PAGE_SIZE
            end = self._head if page == 0 else start + PAGE_SIZE
        else:
            start, end = page * PAGE_SIZE, (page + 1) * PAGE_SIZE
        return start, min(end, len(self._keys))

    def _page_of(self, index: int) -> int:
        if self._head < 0:
            return index // PAGE_SIZE
        return 0 if index < self._head else 1 + (index - self._head) // PAGE_SIZE

    def _build(self, current: str | None) -> None:
        self.clear()
        start, end = self._bounds(self.page)
        for key in self._keys[start:end]:
            cells = self._build_row(key)
            self.add_row(*cells, key=key)
            self._measure(cells)
        self._fit()
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)
        self.post_message(self.Paged())

    def waiting(self) -> int:
        """How many rows, read from sealed history, follow the first page's live ones
        while that page is shown (none otherwise)."""
        return len(self._keys) - self._head if self._head >= 0 and self.page == 0 else 0

    def _measure(self, cells: Sequence[Text]) -> None:
        if self._fill:
            for name, text in zip(self._column_keys, cells, strict=False):
                self._seen[name] = max(self._seen.get(name, 0), text.cell_len)

    def update_row(self, key: str, cells: Sequence[Text]) -> None:
        """Row ``key`` shows ``cells``; only the cells that changed are drawn again (the
        cursor stays), and the column that fills still leaves the others their room."""
        for column, before, after in zip(
            self.ordered_columns, self.get_row(key), cells, strict=True
        ):
            if not _same(before, after):
                self.update_cell(key, column.key, after, update_width=True)
        self._measure(cells)
        self._fit()

    def update_cell(
        self, row_key: Any, column_key: Any, value: Text, *, update_width: bool = False
    ) -> None:
        """One cell changed in place (a reading entered): a wider value takes its room
        from the fill column, so the row still fits the screen."""
        super().update_cell(row_key, column_key, value, update_width=update_width)
        name = column_key.value if isinstance(column_key, ColumnKey) else column_key
        if self._fill and value.cell_len > self._seen.get(name, 0):
            self._seen[name] = value.cell_len
            self._fit()

    def action_page(self, step: int) -> None:
        page = max(0, min(self._pages() - 1, self.page + step))
        if page != self.page:
            self.page = page
            self._build(None)
            first, last = self._bounds(page)
            self.notify(t("ui.page", first=first + 1, last=last, total=len(self._keys)), timeout=3)

    def action_cursor_down(self) -> None:
        """Down (or page down) from the last row goes on to the next page's first."""
        last_row = not self.row_count or self.cursor_row == self.row_count - 1
        if last_row and self.page < self._pages() - 1:
            self.action_page(1)
            return
        super().action_cursor_down()

    def action_page_down(self) -> None:
        if not self.row_count or self.cursor_row == self.row_count - 1:
            self.action_cursor_down()
            return
        super().action_page_down()

    def action_cursor_up(self) -> None:
        """Up from the first row goes back to the previous page's last."""
        if self.row_count and self.cursor_row == 0 and self.page:
            self.action_page(-1)
            if self.row_count:
                self.move_cursor(row=self.row_count - 1, animate=False)
            return
        super().action_cursor_up()

    def action_end(self, last: bool) -> None:
        """Home and end: the first or the last row of the whole list, not of the page."""
        page = self._pages() - 1 if last else 0
        if page != self.page:
            self.page = page
            self._build(None)
        if self.row_count:
            self.move_cursor(row=self.row_count - 1 if last else 0, animate=False)

    def go_to(self, key: str) -> None:
        """The cursor on row ``key``, on whichever page it is (none: left as it is)."""
        if key not in self.rows:
            index = next((i for i, k in enumerate(self._keys) if k == key), None)
            if index is None:
                return
            self.page = self._page_of(index)
            self._build(None)
        self.move_cursor(row=self.get_row_index(key), animate=False)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None
