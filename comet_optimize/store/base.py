"""The store contract: what the optimizer needs from wherever a search lives.

Two verbs carry the whole life cycle: *read what is new* and *hold the
search's lock, read what is new, decide, append*. Everything else (counts,
the best result, who is running) is derived from the events by
`comet_optimize.state`, so a store never interprets them. The file store
(`journal.py`) and the PostgreSQL store (`postgres.py`) both implement this;
`optimizer.py` never learns which one it has.

Promises every implementation keeps:

* ``append`` inside ``locked`` is atomic, and durable once ``locked`` returns:
  from then on every later ``read_new`` in any process sees all of the events,
  in order, or (after a crash before that) none of them. Both stores make it
  durable after releasing the lock, so that the disk's flush is not part of
  the time a search is locked.
* ``read_new`` never blocks on a writer and needs no write access.
* A journal object belongs to the process that opened it. After ``fork`` the
  child must open its own (the optimizer does this; see ``Optimizer``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from comet_optimize.errors import OptimizerException

# The most one event may take when written (an experiment's end with everything it
# logged); readers refuse lines over twice this, so no journal makes them hold more.
MAX_EVENT_BYTES = 16 << 20


@dataclass(frozen=True)
class Damage:
    """A stretch of a journal that could not be read as events."""

    offset: int  # where it starts (a byte offset for files, a sequence number otherwise)
    length: int  # how long it is, in the same unit
    reason: str


class JournalGone(OptimizerException):
    """The journal this process opened is no longer the search's journal.

    It was moved, deleted or replaced (a sync tool, a restore from backup) while
    the search ran. Nothing more may be written through it, and rebuilding from
    the file now under its name would mix two histories: the caller stops.
    """


class JournalConflict(OptimizerException):
    """A decision taken inside ``locked`` could not be written as taken.

    Raised (by a store whose lock lives in a connection) when the lock was lost
    before the commit, e.g. to a server restart, and other processes appended
    meanwhile, or when the server lost events this process had read. The
    caller's view of the search is then wrong: it must rebuild its state from
    a fresh journal and decide again. Nothing it appended was written.
    """


@runtime_checkable
class Journal(Protocol):
    """One search's append-only event log."""

    damage: list[Damage]

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call, in order."""
        ...

    def locked(self) -> AbstractContextManager[list[dict[str, Any]]]:
        """Hold the search's exclusive lock; yield what others appended meanwhile."""
        ...

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append; durable once `locked` returns. Only inside `locked`, after its read."""
        ...

    def write(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Lock, read what is new, append ``events``, unlock: for events that need no
        decision. Returns what others appended before them; durable when it returns."""
        ...

    def close(self) -> None:
        ...


@runtime_checkable
class Store(Protocol):
    """Every search of one location (a folder, a database)."""

    location: str  # printable: a path, or a URL without its password

    def create(self, optimizer_id: str, config: dict[str, Any]) -> None:
        """Store the config; the search exists from then on."""
        ...

    def exists(self, optimizer_id: str) -> bool:
        ...

    def read_config(self, optimizer_id: str) -> dict[str, Any]:
        ...

    def list_ids(self) -> list[str]:
        """Ids of the searches here, oldest first."""
        ...

    def journal(self, optimizer_id: str, readonly: bool = False) -> Journal:
        """The search's journal; a read-only one can `read_new` but not lock or append."""
        ...

    def beat(self, optimizer_id: str, worker: str) -> None:
        """Record that ``worker`` (a `liveness.Worker` name) is alive now."""
        ...

    def lease_lapsed(self, optimizer_id: str, worker: str, lease: float,
                     assigned_at: float) -> bool:
        """True when ``worker`` has not beaten for ``lease`` seconds.

        Judged by one clock only (the file system's or the database server's), never
        by comparing two hosts' clocks. A worker that never beat is judged from
        ``assigned_at`` (a wall-clock time of the assigning host).
        """
        ...

    def log_folder(self, optimizer_id: str) -> str:
        """A folder on this machine for the launcher's per-worker logs."""
        ...

