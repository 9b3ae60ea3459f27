"""Where searches live. The file store is the default; the location comes from
``store=`` / ``--store`` / ``COMET_OPTIMIZE_STORE`` / ``~/.comet_optimize``."""

from __future__ import annotations

from comet_optimize.errors import OptimizerException
from comet_optimize.store.journal import (
    FileStore,
    Journal,
    default_root,
    is_optimizer_id,
    new_optimizer_id,
)

__all__ = ["FileStore", "Journal", "open_store", "is_optimizer_id", "new_optimizer_id"]


def open_store(location: str | None = None) -> FileStore:
    location = location or default_root()
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise OptimizerException(
            f"store {location!r}: the {scheme!r} store is not available in this version "
            f"(use a directory path)"
        )
    return FileStore(location)
