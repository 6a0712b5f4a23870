"""Where the database lives: ``--db``, else ``ISOLATION_TUI_DB``, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path

from .backend import Location, parse_location

ENV_VAR = "ISOLATION_TUI_DB"


def default_db_path() -> Path:
    return user_data_path("isolation-tui", appauthor=False) / "isolation.db"


def resolve_db_path(explicit: str | os.PathLike[str] | None) -> Location:
    """A file path, or a PostgreSQL connection string (``postgresql://…``)."""
    if explicit:
        return parse_location(explicit)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return parse_location(from_env)
    return default_db_path()


def database_files(db_path: Path) -> list[Path]:
    """The snapshot, the journal and the lock file: together, one database."""
    return [
        db_path,
        db_path.with_name(db_path.name + "-journal"),
        db_path.with_name(db_path.name + "-lock"),
    ]
