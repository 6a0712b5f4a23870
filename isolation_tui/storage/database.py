"""TinyDB wired to the journal storage through its documented extension points."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.table import Table

from .engine import Changes, JournalStorage


class _TrackedTable(MutableMapping[int, Any]):
    """What TinyDB's updaters see: records which documents they add, change or drop.

    TinyDB updates documents in place (``table[id].update(...)``), so reads hand out
    private copies and a copy that differs afterwards counts as changed.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._copies: dict[int, Any] = {}
        self._written: dict[int, Any] = {}
        self._deleted: set[int] = set()

    def __getitem__(self, key: int) -> Any:
        if key in self._written:
            return self._written[key]
        if key in self._deleted:
            raise KeyError(key)
        if key not in self._copies:
            self._copies[key] = orjson.loads(orjson.dumps(self._raw[str(key)]))
        return self._copies[key]

    def __setitem__(self, key: int, value: Any) -> None:
        self._deleted.discard(key)
        self._copies.pop(key, None)
        self._written[key] = value

    def __delitem__(self, key: int) -> None:
        if key not in self:
            raise KeyError(key)
        self._written.pop(key, None)
        self._copies.pop(key, None)
        self._deleted.add(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        if key in self._written:
            return True
        return key not in self._deleted and str(key) in self._raw

    def __iter__(self) -> Iterator[int]:
        keys = [int(k) for k in self._raw if int(k) not in self._deleted]
        keys.extend(k for k in self._written if str(k) not in self._raw)
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def clear(self) -> None:
        self._deleted.update(int(k) for k in self._raw)
        self._written.clear()
        self._copies.clear()

    def changes(self) -> Iterator[tuple[str, Any]]:
        for key in self._deleted:
            if str(key) in self._raw:
                yield str(key), None
        for key, doc in self._written.items():
            yield str(key), dict(doc)
        for key, doc in self._copies.items():
            if doc != self._raw[str(key)]:
                yield str(key), doc


def _in_transaction(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: JournaledTable, *args: Any, **kwargs: Any) -> Any:
        with self.storage.transaction():
            return method(self, *args, **kwargs)

    return wrapper


class JournaledTable(Table):
    """A TinyDB table whose writes are journal entries and whose ids come from the lock."""

    _storage: JournalStorage

    @property
    def storage(self) -> JournalStorage:
        return self._storage

    insert = _in_transaction(Table.insert)
    insert_multiple = _in_transaction(Table.insert_multiple)
    update = _in_transaction(Table.update)
    update_multiple = _in_transaction(Table.update_multiple)
    upsert = _in_transaction(Table.upsert)
    remove = _in_transaction(Table.remove)
    truncate = _in_transaction(Table.truncate)

    def _get_next_id(self) -> int:
        return self._storage.allocate_id(self.name)

    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        raw = self._storage.read().get(self.name, {})
        tracked = _TrackedTable(raw)
        updater(tracked)  # type: ignore[arg-type]
        for key, doc in list(tracked.changes()):
            self._storage.stage(self.name, key, doc)
        self.clear_cache()


class Database(TinyDB):
    """TinyDB over :class:`JournalStorage`; see that class for the guarantees."""

    table_class = JournaledTable
    default_table_name = "meta"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        read_only: bool = False,
        who: str = "unknown",
    ) -> None:
        super().__init__(path, storage=JournalStorage, create=create, read_only=read_only, who=who)
        self.storage.add_listener(self._clear_caches)

    @property
    def storage(self) -> JournalStorage:
        return self._storage  # type: ignore[return-value]

    def table(self, name: str, **kwargs: Any) -> JournaledTable:
        return super().table(name, **kwargs)  # type: ignore[return-value]

    def transaction(self, who: str | None = None) -> Any:
        return self.storage.transaction(who)

    def refresh(self) -> Changes:
        return self.storage.refresh()

    def drop_table(self, name: str) -> None:
        """Drop one table as a journaled change.

        TinyDB's own version deletes the table from the dict ``read()`` returns (our
        live state) and writes that same dict back, so nothing reached the journal.
        """
        self._tables.pop(name, None)
        rows = self.storage.tables().get(name)
        if rows is None:
            return
        with self.transaction():
            for key in list(rows):
                self.storage.stage(name, key, None)
        if not self.storage.tables().get(name):
            self.storage.tables().pop(name, None)

    def _clear_caches(self, changes: Changes) -> None:
        # Only the tables that changed: an import stages tens of thousands of
        # documents, and clearing every table's cache for each cost a tenth of it.
        tables = self._tables
        if changes.reloaded:
            for table in tables.values():
                table.clear_cache()
            return
        for name, _ in changes.keys if tables else ():
            table = tables.get(name)
            if table is not None:
                table.clear_cache()
