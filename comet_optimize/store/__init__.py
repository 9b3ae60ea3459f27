"""Where searches live. The file store is the default; the location comes from
``store=`` / ``--store`` / ``COMET_OPTIMIZE_STORE`` / ``~/.comet_optimize``.

A ``postgresql://`` (or ``postgres://``) URL selects the PostgreSQL store;
libpq fills in what the URL leaves out from its ``PG*`` variables and
``~/.pgpass``. Its driver is imported only then."""

from __future__ import annotations

import os

from comet_optimize.echo import show
from comet_optimize.errors import OptimizerException
from comet_optimize.store.base import Damage, JournalConflict, Store
from comet_optimize.store.journal import (
    FileStore,
    Journal,
    check_optimizer_id,
    default_root,
    is_optimizer_id,
    new_optimizer_id,
)

__all__ = ["Damage", "FileStore", "Journal", "JournalConflict", "Store", "open_store",
           "check_optimizer_id", "is_optimizer_id", "new_optimizer_id", "is_postgres_url",
           "printable_location"]


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def printable_location(location: str) -> str:
    """A store location fit to print: a URL loses its password; a path is itself."""
    if is_postgres_url(location):
        from comet_optimize.store.postgres import printable_url

        return printable_url(location)
    return location


def open_store(location: str | os.PathLike[str] | None = None) -> Store:
    location = _location_text(location) or default_root()
    if is_postgres_url(location):
        from comet_optimize.store.postgres import PostgresStore

        return PostgresStore(location)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise OptimizerException(
            f"store {location.split('@')[-1]!r}: unknown kind of store {scheme!r} "
            f"(use a directory path or a postgresql:// URL)"
        )
    return FileStore(location)


def _location_text(location: object) -> str:
    """A store location given as text or a path object, or one sentence saying what it is."""
    if location is None:
        return ""
    if isinstance(location, (str, os.PathLike)):
        try:
            location = os.fspath(location)
        except TypeError:
            pass  # a PathLike that gives bytes: refused below
    if not isinstance(location, str):
        raise OptimizerException(f"store must be a folder path or a postgresql:// URL "
                                 f"(got {type(location).__name__})")
    if "\0" in location:
        raise OptimizerException(f"store {show(location)}: a location cannot contain a NUL "
                                 f"character")
    return location
