"""What every service of the store is: one subject's writing and reading (stays,
incidents, health, handovers) over the store it is given.

A service takes the store rather than being mixed into it: the store owns the
transaction, the audit and the indexes, so every write, whichever service makes
it, goes through the store's one ``transaction``, ``_create`` and ``_change`` and
is audited alike. A service never opens a transaction of its own nor writes
around the store; it only says what a change means for its subject."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .repository import Store


class Service:
    """A subject's view of the store, reached as an attribute (``store.health``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
