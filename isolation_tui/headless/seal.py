"""``seal``: finished history into checksummed segments beside the database, by
hand or by itself: a session starts ``seal --background`` in a process of its own
when a month has turned (see ``start_background_seal``)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..i18n import t
from ..storage.backend import DatabaseUrl, Location
from ..storage.engine import JournalStorage
from ..storage.errors import StoreError
from ..storage.files import refuse_link
from ..storage.index import MARKS
from ..storage.repository import Store, open_store
from ..storage.sealing import (
    auto_seal_on,
    default_until,
    finished_by_month,
    mark_sealed_through,
    seal_due,
    seal_history,
    sealed_through,
    sealing_turn,
    set_auto_seal,
    turn_path,
    unsealed,
)
from .reports import click_echo_err, say

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _stamp(store: Store, automatic: bool) -> dict[str, str]:
    """When and by whom, as each segment's header keeps it."""
    by = {"by": str(store.actor), "at": datetime.now(UTC).isoformat(timespec="seconds")}
    return {**by, "automatic": "yes" if automatic else "no"}


def run_seal(db_path: Location, until: str | None, auto: str | None = None) -> int:
    if until is not None and not MONTH.fullmatch(until):
        click_echo_err(t("cli.seal_bad_until", value=until))
        return 1
    if isinstance(db_path, DatabaseUrl):
        say(t("cli.seal_postgres", path=db_path))
        return 0
    store = open_store(db_path)
    try:
        if auto is not None:
            set_auto_seal(store, auto == "on")
            say(t("cli.seal_auto_on" if auto == "on" else "cli.seal_auto_off", path=db_path))
            return 0
        until = until or default_until(store.clock().date())
        # After an automatic seal under way, if there is one: it may leave nothing.
        with sealing_turn(Path(db_path), wait=True):
            made = seal_history(store.db.storage, until, MARKS, _stamp(store, False))
    finally:
        store.close()
    if not made:
        say(t("cli.seal_nothing", path=db_path, until=until))
    for name, count in made:
        say(t("cli.seal_done", path=db_path, segment=name, count=count))
    return 0


def run_background_seal(db_path: Location, until: str | None) -> int:
    """The automatic seal: quietly, only when no other process seals this database
    now and it is not turned off; then it notes the month it finished for, so that
    sessions do not start it again before the next month turns."""
    if isinstance(db_path, DatabaseUrl):
        return 0
    with sealing_turn(Path(db_path), wait=False) as turn:
        if turn is None:
            return 0
        store = open_store(db_path)
        try:
            storage = store.db.storage
            until = until or default_until(store.clock().date())
            if not auto_seal_on(store) or sealed_through(Path(db_path)) == (storage.db_id, until):
                return 0
            seal_history(storage, until, MARKS, _stamp(store, True))
        finally:
            store.close()
        # Sealed through ``until`` only when nothing is left, as a session opening
        # the database now sees it: a month refused because a session changed one
        # of its records meanwhile is tried again.
        now = JournalStorage(Path(db_path), read_only=True)
        try:
            if not finished_by_month(unsealed(now), until):
                mark_sealed_through(turn, now.db_id, until)
        finally:
            now.close()
    return 0


def start_background_seal(store: Store, until: str) -> subprocess.Popen[bytes] | None:
    """From a session, when a month may have turned: start the automatic seal in a
    process of its own (so no save and no screen waits for it, and this session's
    memory keeps only the live set) when the live set holds a stay finished before
    ``until``. Nothing on PostgreSQL, in a read-only session, or when turned off."""
    storage = store.db.storage
    if not isinstance(storage, JournalStorage) or storage.read_only:
        return None
    try:
        if not auto_seal_on(store) or sealed_through(storage.path) == (storage.db_id, until):
            return None
        if not seal_due(storage, until):
            return None
        # Its turn file planted as a link or a pipe: the seal would refuse it too.
        refuse_link(turn_path(storage.path))
        command = [sys.executable, "-m", "isolation_tui", "seal", "--background"]
        return subprocess.Popen(
            [*command, "--until", until, "--db", str(storage.path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except (OSError, StoreError):
        return None  # sealing can wait for the next month; the session goes on
