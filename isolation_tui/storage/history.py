"""Lists of the past over sealed history without reading it: the ids a list pages
through come from the segments' headers (``keys`` and ``at``, see ``segments`` and
``sealing``), merged with the live set's; a row reads its document when shown."""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..domain.sequences import ByPosition


class MergedIds(ByPosition[int]):
    """Two ascending sequences of ids with none in common, read as one ascending
    sequence without copying either: a list's page costs its rows, not the history."""

    def __init__(self, first: Sequence[int], second: Sequence[int]) -> None:
        self._first, self._second = first, second

    def __len__(self) -> int:
        return len(self._first) + len(self._second)

    def _at(self, index: int) -> int:
        a, b = self._first, self._second
        # How many of the first ``index + 1`` ids come from ``a``: the smallest
        # ``taken`` for which a[taken] is not below the id of ``b`` it would pass.
        low, high = max(0, index - len(b)), min(index, len(a))
        while low < high:
            taken = (low + high) // 2
            if a[taken] < b[index - taken - 1]:
                low = taken + 1
            else:
                high = taken
        here = [a[low]] if low < len(a) else []
        if index - low < len(b):
            here.append(b[index - low])
        return min(here)

    def __contains__(self, value: object) -> bool:
        return any(_has(part, value) for part in (self._first, self._second))

    def newer_than_first(self) -> int:
        """How many ids of the second come after every id of the first: with the
        sealed ids first and the live set's second, the newest rows that a list
        reads from memory."""
        if not self._first:
            return len(self._second)
        return len(self._second) - bisect.bisect_right(self._second, self._first[-1])


def in_memory(ids: Sequence[int]) -> int | None:
    """Of ``ids`` (``Store.record_ids``) read newest first, how many come before the
    first sealed one (None: all of them)."""
    return ids.newer_than_first() if isinstance(ids, MergedIds) else None


def _has(ids: Sequence[int], value: object) -> bool:
    if not isinstance(value, int):
        return False
    at = bisect.bisect_left(ids, value)
    return at < len(ids) and ids[at] == value


def _expand(runs: Sequence[int]) -> Iterable[int]:
    for first, last in zip(runs[::2], runs[1::2], strict=True):
        yield from range(first, last + 1)


def sealed_ids(
    headers: Sequence[Mapping[str, Any]], replaced: Mapping[str, Any], table: str, point: str | None
) -> array[int] | None:
    """The ids of ``table`` (at ``point``; None: every point) sealed and not in the
    live set, ascending; None when a segment sealed before headers kept them does
    not say (the history must then be read to know)."""
    parts = []
    for header in headers:
        if point is None:
            index = header.get("keys")
            runs = None if index is None else index.get(table, [])
        else:
            by_point = header.get("at", {}).get(table)
            runs = None if by_point is None else by_point.get(point, [])
        if runs is None:
            return None
        parts.append(_expand(runs))
    # A sealed document changed since is in the live set (or was removed).
    gone = {int(key) for key in replaced.get(table, {})}
    return array("q", (number for number in heapq.merge(*parts) if number not in gone))
