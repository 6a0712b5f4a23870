"""Sequences read by position without being copied: what a paged list of the
past holds instead of every id."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class ByPosition(Sequence[T]):
    """A sequence that finds each item from its position (``_at``), so that a page
    reads its rows only; slices and negative positions as a list has them."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _at(self, index: int) -> T:
        """The item at ``index``, ``0 <= index < len(self)``."""

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._at(index)


class Chained(ByPosition[T]):
    """Two sequences read as one, the first's items first, without copying either."""

    def __init__(self, first: Sequence[T], second: Sequence[T]) -> None:
        self._first, self._second = first, second

    def __len__(self) -> int:
        return len(self._first) + len(self._second)

    def _at(self, index: int) -> T:
        if index < len(self._first):
            return self._first[index]
        return self._second[index - len(self._first)]
