"""Stored text made safe where it leaves the program: a terminal, Markdown, HTML.

Input is cleaned as it is typed or imported, but what is stored may still hold
escape sequences, Markdown or HTML: a record from an older version, or files edited
by anyone who may write them. So text is made safe again wherever it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .rules import strip_controls

# Markdown only where it would start: a line pasted into a messaging app shows
# every backslash, so "2-3" or "#12" must stay as typed. At the start of a line
# (or of a list item's text): a heading, a list item, a thematic break, a setext
# underline, a quote, a fence. Each pattern ends where the backslash goes.
_BLOCK_STARTS = (
    re.compile(r"^(?=#{1,6}(?:[ \t]|$))"),
    re.compile(r"^(?=[-+*](?:[ \t]|$))"),
    re.compile(r"^(?=([-*_])(?:[ \t]*\1){2,}[ \t]*$)"),
    re.compile(r"^(?=(?:=+|-+)[ \t]*$)"),
    re.compile(r"^(?=>)"),
    re.compile(r"^(?=`{3,}|~{3,})"),
    re.compile(r"^\d{1,9}(?=[.)](?:[ \t]|$))"),
)
# A GitHub table needs a delimiter row: only then can "|" make cells.
_TABLE_DELIMITER = re.compile(r"^\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
# A link or image needs "](" or "][" (or a definition to refer to, which needs "]:"):
# "[低]" alone is text.
_LINK = re.compile(r"\]\(|\]\[|^\[[^\]]*\]:", re.MULTILINE)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_DELIMITERS = "*_~"


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
    return markdown_lines([text])[0]


def markdown_lines(texts: list[object]) -> list[str]:
    """Lines of plain text, one paragraph, as Markdown that shows exactly them. A
    backslash goes only before a character that would start markup where it stands:
    emphasis and strikethrough need a pair in the paragraph, a link its
    bracket before a target,
    a table a delimiter row, HTML a tag's first letter, an entity its semicolon."""
    lines = [for_terminal(text).replace("\n", " ").strip() for text in texts]
    paragraph = "\n".join(lines)
    context = _Context(
        paired=frozenset(c for c in _DELIMITERS if paragraph.count(c) >= 2),
        brackets=bool(_LINK.search(paragraph)),
        table=any("|" in line and _TABLE_DELIMITER.match(line) for line in lines),
    )
    return [_markdown(line, context) for line in lines]


@dataclass(frozen=True)
class _Context:
    paired: frozenset[str]
    brackets: bool
    table: bool


def _markdown(line: str, context: _Context) -> str:
    escaped = "".join(
        f"\\{char}" if _starts_markup(line, i, context) else char for i, char in enumerate(line)
    )
    for block in _BLOCK_STARTS:
        match = block.match(escaped)
        if match:
            return f"{escaped[: match.end()]}\\{escaped[match.end() :]}"
    return escaped


def _starts_markup(line: str, i: int, context: _Context) -> bool:
    char = line[i]
    before = line[i - 1] if i else " "
    after = line[i + 1] if i + 1 < len(line) else " "
    if char == "\\":
        return after in _PUNCTUATION
    if char == "`":
        return True
    if char in context.paired:
        # A run between spaces neither opens nor closes; "_" inside a word neither.
        if before.isspace() and after.isspace():
            return False
        return not (char == "_" and before.isalnum() and after.isalnum())
    if char in "[]":
        return context.brackets
    if char == "|":
        return context.table
    if char == "<":
        return after.isascii() and (after.isalpha() or after in "/!?")
    if char == "&":
        return bool(_ENTITY.match(line, i))
    return False
