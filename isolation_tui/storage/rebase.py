"""Renumbering a rehearsed batch of changes after what others stored meanwhile.

A rehearsal (outside the writers' lock) gives its new documents the ids that follow
the highest of each table it saw. When other sessions stored documents of the same
table before the batch got the lock, the batch's new ids move up by as many, and so
must every reference to them inside the batch: a planned test's stay, a stay's
discharge, an incident's people, an audit entry's record and the record copies it
keeps. Ids the rehearsal did not hand out (existing records) never move.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .backend import Changed, Doc, Rebase, Rehearsed
from .tables import AUDIT, CHECKS, DISCHARGES, INCIDENTS, STAYS, SUPPLIES, TESTS

# Fields holding ids of another table's records, by the table of the document.
REFERENCES: dict[str, dict[str, str]] = {
    STAYS: {"discharge": DISCHARGES},
    DISCHARGES: {"stay": STAYS},
    INCIDENTS: {"stays": STAYS},
    CHECKS: {"stay": STAYS},
    TESTS: {"stay": STAYS},
    SUPPLIES: {"pair": SUPPLIES},
}

Op = list[Any]


class Renumber:
    """Moves the ids a rehearsal handed out (above ``max_before``) by ``shift``."""

    def __init__(self, max_before: dict[str, int], shift: dict[str, int]) -> None:
        self.max_before = max_before
        self.shift = {table: moved for table, moved in shift.items() if moved}

    def id(self, table: str, number: Any) -> Any:
        moved = self.shift.get(table)
        if moved and isinstance(number, int) and number > self.max_before.get(table, 0):
            return number + moved
        return number

    def doc(self, table: str, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if doc is None:
            return None
        fields = REFERENCES.get(table, {})
        if table == AUDIT:
            record_table = doc.get("table", "")
            if not self.shift.get(record_table):
                return doc
            return {
                **doc,
                "record": self.id(record_table, doc.get("record")),
                "before": self.doc(record_table, doc.get("before")),
                "after": self.doc(record_table, doc.get("after")),
            }
        if not any(name in doc and self.shift.get(target) for name, target in fields.items()):
            return doc
        out = dict(doc)
        for name, target in fields.items():
            value = out.get(name)
            if isinstance(value, list):
                out[name] = [self.id(target, item) for item in value]
            elif name in out:
                out[name] = self.id(target, value)
        return out

    def ops(self, ops: list[Op]) -> list[Op]:
        """The batch renumbered; an op that does not change is kept as it is."""
        if not self.shift:
            return ops
        renumbered = []
        for op in ops:
            table, key, doc = op
            if key is None:
                # Emptying or dropping a table: no id to move (see ``_rebase``).
                renumbered.append(op)
                continue
            new_key = str(self.id(table, int(key)))
            new_doc = self.doc(table, doc)
            renumbered.append(
                op if new_key == key and new_doc is doc else [table, new_key, new_doc]
            )
        return renumbered


# Whether one document others changed (its table, before, after) changes what a
# rehearsal's rows decided.
Affects = Callable[[str, Doc | None, Doc | None], bool]


def rebase_unless_read(reads: Collection[str] | None, affects: Affects | None = None) -> Rebase:
    """What :meth:`JournalStorage.commit_rehearsed` needs: the batch renumbered, or
    None when others changed a table it read (``reads``; None: any table at all).
    With ``affects``, a change to a table it read counts only when one of the
    documents changed affects what the rows decided (when the backend says which)."""

    def rebase(
        rehearsed: Rehearsed,
        changed: set[str],
        shift: dict[str, int],
        documents: list[Changed] | None = None,
    ) -> list[Op] | None:
        if reads is None:
            return None
        read = changed & set(reads)
        if read and (
            affects is None
            or documents is None
            or any(
                affects(table, before, after)
                for table, _, before, after in documents
                if table in read
            )
        ):
            return None
        return Renumber(rehearsed.max_ids, shift).ops(rehearsed.ops)

    return rebase
