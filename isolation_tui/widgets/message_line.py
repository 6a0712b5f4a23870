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
_CLOSING = frozenset("，。；：、！？）》」』】”’")
# Marks after which a line may not break: they open what follows.
_OPENING = frozenset("（《「『【“‘([")


def _breaks_after(text: str, i: int) -> int:
    """May a line end after ``text[i]``? After a space or closing punctuation, or
    before a wide (CJK) character after another or after punctuation, as Chinese is
    set, or after a path's "/"; never inside a Latin word, a number or a time.
    2: between phrases (a space, punctuation), 1: between two Chinese characters or
    two folders of a path, 0: no."""
    here, after = text[i], text[i + 1] if i + 1 < len(text) else " "
    if after.isspace() or here.isspace():
        return PHRASE
    if after in _CLOSING or here in _OPENING:
        return 0
    if here in _CLOSING:
        return PHRASE
    if here == "/" and i and text[i - 1] != " ":
        return CHARACTER  # between the folders of a path: its start is worth showing
    wide = {"W", "F"}
    # After a Latin comma closing a Chinese phrase: "第 14 天,2026-11-28".
    if here in ",;:!?)" and i and unicodedata.east_asian_width(text[i - 1]) in wide:
        return PHRASE
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


def wrap_offsets(text: str, width: int) -> list[int]:
    """Where to cut ``text`` (one line) into lines of at most ``width`` cells: after
    spaces (which then end the line), between Chinese characters and after
    punctuation, never before a closing mark nor inside a word, a number, a date or a
    path, unless one is longer than a whole line (then it is folded)."""
    offsets: list[int] = []
    start = used = 0
    allowed = 0  # the last place on this line where it may be cut
    for i, char in enumerate(text):
        size = cell_len(char)
        if not char.isspace() and used + size > width and i > start:
            cut = allowed if allowed > start else i
            offsets.append(cut)
            used = cell_len(text[cut:i])
            start = allowed = cut
        used += size
        if i + 1 < len(text) and not text[i + 1].isspace() and _breaks_after(text, i):
            allowed = i + 1
    return offsets
