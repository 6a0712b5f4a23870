"""Errors the store raises; each message says what is wrong and what to do.

Where stock TinyDB's JSON storage would raise an ``OSError`` (a missing file, a
write to a read-only database, a failed write), the store's error is one too, so
code written for TinyDB catches it.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class: the store could not do what was asked; nothing was changed."""


class StoreMissing(StoreError, FileNotFoundError):
    """The database does not exist and the caller did not ask to create it."""


class StoreCorrupt(StoreError):
    """The files on disk are damaged; the store refuses to read or write them."""


class SchemaTooNew(StoreError):
    """The data was written by a newer program with a schema this one does not know."""


class StoreWriteFailed(StoreError, OSError):
    """A write could not be made durable (disk full, read-only file, I/O error)."""


class StoreReadOnly(StoreError, PermissionError):
    """A write was attempted on a store opened read-only."""


class StoreUnsafe(StoreError):
    """A database file is not what the program made (a symbolic link, not a regular
    file): writing through it could reach another file, so nothing is done."""


class StoreDenied(StoreError, PermissionError):
    """The OS does not let this user reach the database (its folder or its files)."""


class StoreBusy(StoreError):
    """Another session held the writers' lock longer than this one would wait."""


class StoreUnavailable(StoreError, ConnectionError):
    """The database server cannot be reached; nothing was changed, try again later."""
