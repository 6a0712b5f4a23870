"""Text that wraps as a reader expects, in Chinese too: Textual wraps at spaces only,
so a Chinese phrase longer than what is left of a line goes whole to the next line
and is cut there by width, a date or a closing mark included."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.app import RenderResult as WidgetRenderResult
from textual.widgets import Static

from .message_line import wrap_offsets


class _Wrapped:
    """``text`` cut into lines at the width it is drawn at."""

    def __init__(self, text: Text) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max(1, options.max_width)
        lines: list[Text] = []
        for line in self.text.split("\n", allow_blank=True):
            lines.extend(part.copy() for part in line.divide(wrap_offsets(line.plain, width)))
        for line in lines:
            line.rstrip()
        yield Text("\n").join(lines)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, max(1, self.text.cell_len))


class BreakingStatic(Static):
    """A Static of literal text (a message, an error) wrapped by :func:`wrap_offsets`;
    its content stays the text as given."""

    def render(self) -> WidgetRenderResult:
        content = self.content
        if isinstance(content, str):
            content = Text(content)
        if isinstance(content, Text):
            return _Wrapped(content)
        return super().render()
