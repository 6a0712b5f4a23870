"""The last step before the terminal: no stored text may act on it.

Rich and Textual drop a few control characters (bell, backspace, carriage return)
but pass ESC, C1 controls and bidi overrides through, so a stored name holding
``ESC]0;…`` would retitle the supervisor's terminal and ``ESC[2J`` clear it. Every
line the program draws passes this filter; Textual's own sequences are not text and
are left alone.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from ..domain.display import for_terminal


class ControlCharacterFilter(LineFilter):
    """Control characters and bidi overrides out of the text of every line. They take
    no cells, so the layout stays as it was."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        # isprintable() is False for every character for_terminal removes (and some it
        # keeps): a cheap test, since almost every line has nothing to remove.
        if all(control or text.isprintable() for text, _, control in segments):
            return segments
        return [
            segment
            if segment.control or segment.text.isprintable()
            else Segment(for_terminal(segment.text), segment.style)
            for segment in segments
        ]
