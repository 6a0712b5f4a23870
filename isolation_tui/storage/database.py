"""TinyDB wired to the journal storage through its documented extension points."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.queries import QueryLike
from tinydb.table import Document, Table

from .backend import Backend, DatabaseUrl, Location, backend_for, parse_location
from .engine import Changes

# A value orjson would write as something else (a date as text, a dataclass as an
# object) is refused instead, as TinyDB's JSON storage refuses it.
_REFUSE_OTHER_TYPES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _detached(value: Any) -> Any:
    """A copy of a stored value that shares no list or dict with the store."""
    return orjson.loads(orjson.dumps(value))


def _as_lists(value: Any) -> Any:
    """``value`` with tuples as lists (as JSON reads them back); NaN and infinities,
    which JSON cannot hold, refused."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored: JSON has no such number")
    if isinstance(value, list | tuple):
        return [_as_lists(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    return value


def _first_difference(stored: Any, given: Any) -> Any:
    """The innermost value of ``given`` that reads back as something else."""
    if isinstance(stored, dict) and isinstance(given, dict) and stored.keys() == given.keys():
        for key, item in given.items():
            if stored[key] != item:
                return _first_difference(stored[key], item)
    if isinstance(stored, list) and isinstance(given, list) and len(stored) == len(given):
        for back, item in zip(stored, given, strict=True):
            if back != item:
                return _first_difference(back, item)
    return given


def stored_form(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document exactly as it will read back after reopening, sharing nothing
    with ``doc``; ``TypeError`` or ``ValueError`` for what cannot be stored so.

    Without this, a tuple stays a tuple and NaN stays NaN until the database is
    reopened (then they read as a list and as None), and a later change to a list
    the caller still holds would change the stored document behind the journal.
    """
    stored: dict[str, Any] = orjson.loads(orjson.dumps(doc, option=_REFUSE_OTHER_TYPES))
    if stored == doc or stored == _as_lists(doc):
        return stored
    odd = _first_difference(stored, _as_lists(doc))
    # The words of json.dumps, as TinyDB's JSON storage would say it.
    raise TypeError(f"Object of type {type(odd).__name__} is not JSON serializable")


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
            self._copies[key] = _detached(self._raw[str(key)])
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
            yield str(key), stored_form(doc)
        for key, doc in self._copies.items():
            if doc != self._raw[str(key)]:
                yield str(key), stored_form(doc)


def _in_transaction(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: JournaledTable, *args: Any, **kwargs: Any) -> Any:
        if self.storage.in_transaction:  # joining is all a nested one would do
            return method(self, *args, **kwargs)
        with self.storage.transaction():
            return method(self, *args, **kwargs)

    return wrapper


class JournaledTable(Table):
    """A TinyDB table whose writes are journal entries and whose ids come from the lock."""

    _storage: Backend

    def __init__(
        self,
        storage: Backend,
        name: str,
        cache_size: int = Table.default_query_cache_capacity,
        persist_empty: bool = False,
    ) -> None:
        super().__init__(storage, name, cache_size)
        if persist_empty:
            # TinyDB 4.9 clears the table here, wiping the documents of one that
            # exists (msiemens/tinydb#636); storing it when missing is what is asked.
            self._update_table(lambda table: None)

    @property
    def storage(self) -> Backend:
        return self._storage

    # Reads and writes of one call share one transaction: ids are chosen, and rules
    # checked, against what other processes have committed.
    insert = _in_transaction(Table.insert)
    insert_multiple = _in_transaction(Table.insert_multiple)
    upsert = _in_transaction(Table.upsert)

    # Documents handed out are copies down to their lists and dicts, so changing one
    # changes neither the store nor what TinyDB's query cache (which hands out the
    # documents it keeps) returns next.

    def _own(self, doc: Document) -> Document:
        return self.document_class(_detached(doc), doc.doc_id)

    def search(self, cond: QueryLike) -> list[Document]:
        return [self._own(doc) for doc in super().search(cond)]

    def get(
        self,
        cond: QueryLike | None = None,
        doc_id: int | None = None,
        doc_ids: list[int] | None = None,
    ) -> Document | list[Document] | None:
        found = super().get(cond, doc_id, doc_ids)
        if isinstance(found, list):
            return [self._own(doc) for doc in found]
        return None if found is None else self._own(found)

    def __iter__(self) -> Iterator[Document]:
        for doc_id, doc in self._read_table().items():
            yield self.document_class(_detached(doc), self.document_id_class(doc_id))

    @_in_transaction
    def truncate(self) -> None:
        self._storage.stage_table(self.name, keep=True)
        self.clear_cache()

    @_in_transaction
    def _get_next_id(self) -> int:
        return self._storage.allocate_id(self.name)

    @_in_transaction
    def _update_table(self, updater: Callable[[dict[int, Mapping[str, Any]]], None]) -> None:
        tables = self._storage.read()
        tracked = _TrackedTable(tables.get(self.name, {}))
        updater(tracked)  # type: ignore[arg-type]
        for key, doc in list(tracked.changes()):
            self._storage.stage(self.name, key, doc)
        if self.name not in tables:
            # TinyDB stores the table even when nothing was written (persist_empty).
            self._storage.stage_table(self.name, keep=True)
        self.clear_cache()


class Database(TinyDB):
    """TinyDB over a :class:`Backend` (a file, or PostgreSQL); see it for the guarantees."""

    table_class = JournaledTable

    def __init__(
        self,
        path: str | os.PathLike[str] | Location,
        *,
        create: bool = False,
        create_dirs: bool = False,
        read_only: bool = False,
        who: str = "unknown",
    ) -> None:
        location = path if isinstance(path, DatabaseUrl) else parse_location(path)
        super().__init__(
            location,
            storage=backend_for(location),
            create=create,
            create_dirs=create_dirs,
            read_only=read_only,
            who=who,
        )
        self.storage.add_listener(self._clear_caches)

    @property
    def storage(self) -> Backend:
        return self._storage  # type: ignore[return-value]

    def table(self, name: str, **kwargs: Any) -> JournaledTable:
        return super().table(name, **kwargs)  # type: ignore[return-value]

    def transaction(self, who: str | None = None) -> Any:
        return self.storage.transaction(who)

    def refresh(self) -> Changes:
        return self.storage.refresh()

    def drop_table(self, name: str) -> None:
        """Drop one table, its name and its ids, as a journaled change.

        TinyDB's own version deletes the table from the dict ``read()`` returns (our
        live state) and writes that same dict back, so nothing reached the journal.
        """
        self._tables.pop(name, None)
        if name not in self.storage.tables():
            return
        with self.transaction():
            self.storage.stage_table(name, keep=False)

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
