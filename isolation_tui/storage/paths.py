"""Where the database lives: ``--db``, else ``ISOLATION_TUI_DB``, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path, user_documents_path

from .backend import Location, parse_location

ENV_VAR = "ISOLATION_TUI_DB"


def default_db_path() -> Path:
    return user_data_path("isolation-tui", appauthor=False) / "isolation.db"


def exports_folder() -> Path:
    """Where the program writes what a user exports: ``isolation-tui/exports`` in the
    user's documents folder, or in the data folder where there is no documents
    folder (a server account often has none). Never the working directory, which
    may be anyone's."""
    documents = user_documents_path()
    base = documents / "isolation-tui" if documents.is_dir() else user_data_path("isolation-tui")
    return base / "exports"


def make_private_folder(folder: Path) -> None:
    """Make ``folder`` and its parent, when missing, readable by their owner only."""
    folder.parent.parent.mkdir(parents=True, exist_ok=True)
    for path in (folder.parent, folder):
        path.mkdir(mode=0o700, exist_ok=True)


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
