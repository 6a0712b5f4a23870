"""A message said on one line: whole when it fits, else its start up to a place where
a line may break, and a hint where the whole of it is read."""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len

ELLIPSIS = "…"
PHRASE = 2
CHARACTER = 1
# Chinese punctuation after which a line may break (and before which it may not);
# after Latin punctuation only a space breaks (a path, a time: 10:00, ./x).
_CLOSING = frozenset("，。；：、！？）》」』】")


def _breaks_after(text: str, i: int) -> int:
    """May a line end after ``text[i]``? After a space or closing punctuation, or
    before a wide (CJK) character after another or after punctuation, as Chinese is
    set; never inside a Latin word, a number, a time or a file's path. 2: between
    phrases (a space, punctuation), 1: between two Chinese characters, 0: no."""
    here, after = text[i], text[i + 1] if i + 1 < len(text) else " "
    if after.isspace() or here.isspace():
        return PHRASE
    if after in _CLOSING:
        return 0
    if here in _CLOSING:
        return PHRASE
    wide = {"W", "F"}
    if unicodedata.east_asian_width(after) not in wide:
        return 0
    # The catalogues write Chinese with Latin commas: "数据库,现为只读".
    if here in ",;:!?)":
        return PHRASE
    return CHARACTER if unicodedata.east_asian_width(here) in wide else 0


def one_line(message: str, width: int, hint: str) -> tuple[str, bool]:
    """``message`` as one line of at most ``width`` cells, and whether it was cut.
    Its lines are joined; when it does not fit, it is cut where a line may break and
    ends with ``… hint`` (the way to read the rest)."""
    flat = " ".join(part.strip() for part in message.splitlines() if part.strip())
    if cell_len(flat) <= width:
        return flat, False
    tail = f" {ELLIPSIS} {hint}"
    room = width - cell_len(tail)
    used = 0
    fits = phrase = character = 0
    for i, char in enumerate(flat):
        used += cell_len(char)
        if used > room:
            break
        fits = i + 1
        kind = _breaks_after(flat, i)
        if kind == PHRASE:
            phrase = fits
        elif kind == CHARACTER:
            character = fits
    # Between phrases unless that leaves much of the line empty; one word longer
    # than the line (a path alone): its start. The rest is read with the hint.
    cut = phrase if cell_len(flat[:phrase]) * 3 >= room * 2 else max(phrase, character)
    return flat[: cut or fits].rstrip() + tail, True
