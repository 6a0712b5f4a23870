"""Errors the store raises; each message says what is wrong and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store could not do what was asked; nothing was changed."""


class StoreMissing(StoreError):
    """The database does not exist and the caller did not ask to create it."""


class StoreCorrupt(StoreError):
    """The files on disk are damaged; the store refuses to read or write them."""


class SchemaTooNew(StoreError):
    """The data was written by a newer program with a schema this one does not know."""


class StoreWriteFailed(StoreError):
    """A write could not be made durable (disk full, read-only file, I/O error)."""


class StoreReadOnly(StoreError):
    """A write was attempted on a store opened read-only."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached; nothing was changed, try again later."""
