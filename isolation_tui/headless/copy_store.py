"""``copy``: a whole database from one store to another (a file, PostgreSQL).

Every document is copied as stored, with the id counters and the transaction
number, so ``stats`` and ``check`` give the same on both sides. A destination that
holds anything is refused: a copy never mixes two databases.
"""

from __future__ import annotations

from ..i18n import t
from ..storage.backend import Location, backend_for
from .reports import click_echo_err, say


def run_copy(source: Location, target: Location) -> int:
    if str(source) == str(target):
        click_echo_err(t("copy.same", path=source))
        return 1
    reader = backend_for(source)(source, read_only=True)
    try:
        tables = {name: dict(rows) for name, rows in reader.tables().items()}
        max_ids = {name: reader.max_id(name) for name in tables}
        seq = reader.seq
    finally:
        reader.close()
    writer = backend_for(target)(target, create=True)
    try:
        if writer.seq or any(writer.tables().values()):
            click_echo_err(t("store.not_empty", path=target))
            return 1
        writer.restore(tables, max_ids, seq)
    finally:
        writer.close()
    documents = sum(len(rows) for rows in tables.values())
    say(t("copy.done", documents=documents, seq=seq, source=source, target=target))
    return 0
