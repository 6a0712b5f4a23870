"""Stored text made safe where it leaves the program: a terminal, Markdown, HTML.

Input is cleaned as it is typed or imported, but what is stored may still hold
escape sequences, Markdown or HTML: a record from an older version, or files edited
by anyone who may write them. So text is made safe again wherever it is shown.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .rules import strip_controls

# Characters that start inline Markdown: emphasis, code, links and images, tables,
# strikethrough, and the backslash that escapes them. ``<``, ``>`` and ``&`` become
# HTML entities instead, so no raw HTML or autolink can start either.
_MD_INLINE = re.compile(r"([\\`*_\[\]!|~])")
# What can make a line a heading, a list item or a setext underline (a thematic
# break needs ``-`` or ``*`` too): its first character, or a number's ``.`` or ``)``.
_MD_BLOCK = re.compile(r"^(\d{1,9}(?=[.)])|(?=[#+=-]))")


def for_terminal(text: object) -> str:
    """Text a terminal prints as it is: without control characters (C0, DEL and C1:
    ESC, BEL, CSI…) or bidi overrides; line breaks kept."""
    return "\n".join(strip_controls(line) for line in str(text).split("\n"))


def for_terminal_deep(value: Any) -> Any:
    """:func:`for_terminal` over every string of a JSON-like value, keys included."""
    if isinstance(value, str):
        return for_terminal(value)
    if isinstance(value, dict):
        return {for_terminal_deep(k): for_terminal_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [for_terminal_deep(v) for v in value]
    return value


def markdown_line(text: object) -> str:
    """One line of plain text as Markdown that shows exactly that text: no link,
    image, emphasis, code, HTML or block (heading, list, quote) can start in it."""
    line = for_terminal(text).replace("\n", " ").strip()
    line = html.escape(_MD_INLINE.sub(r"\\\1", line), quote=False)
    return _MD_BLOCK.sub(r"\1\\", line, count=1)
