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


def cell(value: Any, style: str = "") -> Text:
    return Text(str(value), style=style, no_wrap=True, overflow="ellipsis")


class RecordTable(DataTable[Text]):
    """Rows keyed by record id; ``pgdn`` past the last row loads the next page."""

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
    ) -> None:
        """Show rows ``keys`` (already in order); ``build_row`` is called for one page only."""
        current = self.current_key() if keep_cursor else None
        self._keys = keys
        self._build_row = build_row
        self.page = min(self.page, self._pages() - 1)
        self._build(current)

    def _pages(self) -> int:
        return max(1, (len(self._keys) + PAGE_SIZE - 1) // PAGE_SIZE)

    def _build(self, current: str | None) -> None:
        self.clear()
        start = self.page * PAGE_SIZE
        for key in self._keys[start : start + PAGE_SIZE]:
            cells = self._build_row(key)
            self.add_row(*cells, key=key)
            if self._fill:
                for name, text in zip(self._column_keys, cells, strict=False):
                    self._seen[name] = max(self._seen.get(name, 0), text.cell_len)
        self._fit()
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)

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
            first = page * PAGE_SIZE + 1
            last = min(len(self._keys), first + PAGE_SIZE - 1)
            self.notify(t("ui.page", first=first, last=last, total=len(self._keys)), timeout=3)

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
            self.page = index // PAGE_SIZE
            self._build(None)
        self.move_cursor(row=self.get_row_index(key), animate=False)

    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except CellDoesNotExist:
            return None
