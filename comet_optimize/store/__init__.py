"""Where searches live. The file store is the default; the location comes from
``store=`` / ``--store`` / ``COMET_OPTIMIZE_STORE`` / ``~/.comet_optimize``.

A ``postgresql://`` (or ``postgres://``) URL selects the PostgreSQL store;
libpq fills in what the URL leaves out from its ``PG*`` variables and
``~/.pgpass``. Its driver is imported only then."""

from __future__ import annotations

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


def open_store(location: str | None = None) -> Store:
    location = location or default_root()
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
