"""``--help`` wrapped for a terminal in Chinese as in English.

click wraps help with :mod:`textwrap`, which counts characters (a Chinese character
takes two columns) and breaks at spaces only: a Chinese line ran past 80 columns and
the terminal cut it anywhere (``(默`` / ``认:$ISOL`` / ``ATION_TUI_DB``). click has no
setting for this; its documented way to change how help is written is the context's
``formatter_class``, which :class:`WideHelpFormatter` is.

Lines break at spaces and between two Chinese characters, never inside a run of
other characters (an option name, an environment variable, a path, a time), never
before closing punctuation nor after opening punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import click
from rich.cells import cell_len

# No line starts with these (they close what came before) ...
CLOSING = frozenset("，。、；：？！）」』】》〉…,.;:?!)]}%")
# ... nor ends with these (they open what comes after).
OPENING = frozenset("（「『【《〈([{$")

_PIECES = re.compile(r"\s+|[^\s\x00-\x7f]|[\x21-\x7e]+")


def _wide(piece: str) -> bool:
    return cell_len(piece) > len(piece)


def _units(paragraph: str) -> Iterator[tuple[bool, str]]:
    """Pieces that no line break may split, each with whether a space comes before it."""
    unit = ""
    before = gap = False  # a space before ``unit``; a space since it
    for piece in _PIECES.findall(paragraph):
        if piece.isspace():
            gap = True
        elif unit and not gap and not _may_break(unit, piece):
            unit += piece
        else:
            if unit:
                yield before, unit
            before, unit, gap = gap, piece, False
    if unit:
        yield before, unit


def _may_break(before: str, after: str) -> bool:
    """Between two pieces with no space between them: only where one is Chinese."""
    if before[-1] in OPENING or after[0] in CLOSING:
        return False
    return _wide(before[-1]) or _wide(after[0])


def _fitted(units: Iterable[tuple[bool, str]], width: int) -> Iterator[tuple[bool, str]]:
    """A unit wider than a whole line (a command's list of choices, ``{a|b|c}``) is
    broken after a ``|``, and only there."""
    for spaced, unit in units:
        if cell_len(unit) <= width or "|" not in unit:
            yield spaced, unit
            continue
        for index, part in enumerate(re.findall(r"[^|]*\|?", unit)[:-1]):
            yield spaced and index == 0, part


def wrap_paragraph(paragraph: str, width: int, first_width: int | None = None) -> list[str]:
    """``paragraph`` in lines of ``width`` columns (the first: ``first_width``)."""
    lines: list[str] = []
    line = ""
    room = width if first_width is None else first_width
    for spaced, unit in _fitted(_units(paragraph), min(width, room)):
        joined = f"{line}{' ' if spaced and line else ''}{unit}"
        if line and cell_len(joined) > room:
            lines.append(line)
            line, room = unit, width
        else:
            line = joined
    if line:
        lines.append(line)
    return lines


def wrap(text: str, width: int, first: str = "", rest: str = "") -> str:
    """``text`` in lines of at most ``width`` columns, indents included; paragraphs
    (separated by a blank line) kept apart."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if out:
            out.append("")
        lines = wrap_paragraph(
            " ".join(paragraph.split()),
            max(width - cell_len(rest), 10),
            max(width - cell_len(first), 10),
        )
        out += [(first if i == 0 else rest) + line for i, line in enumerate(lines)]
        first = rest
    return "\n".join(out)


class WideHelpFormatter(click.HelpFormatter):
    """click's help layout, with lines measured in terminal columns and broken as
    :func:`wrap` does."""

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        self.write(wrap(text, self.width, indent, indent))
        self.write("\n")

    def write_dl(
        self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_col = min(max((cell_len(term) for term, _ in rows), default=0), col_max)
        first_col += col_spacing
        for term, definition in rows:
            self.write(f"{'':>{self.current_indent}}{term}")
            if not definition:
                self.write("\n")
                continue
            if cell_len(term) <= first_col - col_spacing:
                self.write(" " * (first_col - cell_len(term)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(definition, max(self.width - first_col - 2, 10)).splitlines()
            indent = " " * (first_col + self.current_indent)
            self.write(
                "\n".join([lines[0], *(indent + line if line else "" for line in lines[1:])])
            )
            self.write("\n")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        head = f"{prefix or 'Usage: ':>{self.current_indent}}{prog}"
        indent = " " * min(cell_len(head) + 1, self.width // 2)
        self.write(wrap(f"{head} {args}".rstrip(), self.width, "", indent))
        self.write("\n")


class WideContext(click.Context):
    formatter_class = WideHelpFormatter
