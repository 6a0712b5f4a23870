"""``seal``: finished history into checksummed segments beside the database."""

from __future__ import annotations

import re

from ..i18n import t
from ..storage.backend import DatabaseUrl, Location
from ..storage.index import MARKS
from ..storage.repository import open_store
from ..storage.sealing import default_until, seal_history
from .reports import click_echo_err, say

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def run_seal(db_path: Location, until: str | None) -> int:
    if until is not None and not MONTH.fullmatch(until):
        click_echo_err(t("cli.seal_bad_until", value=until))
        return 1
    if isinstance(db_path, DatabaseUrl):
        say(t("cli.seal_postgres", path=db_path))
        return 0
    store = open_store(db_path)
    try:
        until = until or default_until(store.clock().date())
        made = seal_history(store.db.storage, until, MARKS)
    finally:
        store.close()
    if not made:
        say(t("cli.seal_nothing", path=db_path, until=until))
    for name, count in made:
        say(t("cli.seal_done", path=db_path, segment=name, count=count))
    return 0
