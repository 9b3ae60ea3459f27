"""A decision's statements sent to PostgreSQL as one libpq pipeline of prepared statements.

Why not psycopg's cursors: each statement through a cursor costs about 0.1 ms
of Python (a cursor object, the query's conversion, parameter adapters, result
loaders), a decision sends six, and every worker of a busy search makes one per
experiment, so on a machine whose cores are all busy that was a third of the
CPU an experiment cost. Here each statement is prepared once per connection
under a fixed name and sent straight to libpq (``psycopg.pq``), its parameters
already in the wire format; results come back as bytes. Failures are psycopg's
own exceptions (`psycopg.errors`), so the store's handling of outages, lock
timeouts and interruptions is the same as for a cursor.

Imported only by the PostgreSQL store, hence only when psycopg is installed.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import errors, generators, pq

_SYNC = pq.ExecStatus.PIPELINE_SYNC
_FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED)
TEXT, BINARY = 0, 1
_TEXT_OID = 25


@dataclass(frozen=True)
class Statement:
    """A statement with ``$n`` placeholders, prepared under ``name`` on first use."""

    name: bytes
    sql: bytes
    formats: tuple[int, ...] | None = None  # of the parameters (None: all text)


Command = tuple[Statement, Sequence[bytes | None] | None]


def text_array(items: Sequence[str]) -> bytes:
    """A one-dimensional ``text[]`` in PostgreSQL's binary format (no quoting to do)."""
    parts = [struct.pack("!iiiii", 1, 0, _TEXT_OID, len(items), 1)]
    for item in items:
        data = item.encode()
        parts.append(struct.pack("!i", len(data)))
        parts.append(data)
    return b"".join(parts)


def run(conn, prepared: set[bytes], commands: Sequence[Command],
        prepare_only: Sequence[Statement] = ()) -> list[pq.PGresult]:
    """Send ``commands`` in one round trip; their results, in order.

    ``prepared`` holds the names already prepared on this connection (the
    caller keeps one set per connection); statements not in it are prepared in
    the same pipeline (``prepare_only`` too, without running them). The first
    failed statement is raised as psycopg raises it, once every result has been
    read, so the connection stays usable (in an aborted transaction, if one was
    open). A connection that fails mid-way is
    left as it is, for the caller's outage handling to drop or abandon.
    """
    pgconn = conn.pgconn
    with conn.lock:
        pgconn.enter_pipeline_mode()
        clean = False
        try:
            preparing: list[bytes] = []  # their results come first
            for statement in [*prepare_only, *(statement for statement, _ in commands)]:
                if statement.name not in prepared and statement.name not in preparing:
                    pgconn.send_prepare(statement.name, statement.sql)
                    preparing.append(statement.name)
            for statement, params in commands:
                pgconn.send_query_prepared(statement.name, params, statement.formats)
            pgconn.pipeline_sync()
            conn.wait(generators.send(pgconn))
            results: list[pq.PGresult] = []
            while True:
                fetched = conn.wait(generators.fetch_many(pgconn))
                if not fetched or fetched[0].status == _SYNC:
                    break
                results.append(fetched[-1])
            clean = True
        finally:
            if clean:
                pgconn.exit_pipeline_mode()
            else:
                with contextlib.suppress(Exception):
                    pgconn.exit_pipeline_mode()
    failure = None
    for index, result in enumerate(results):
        if result.status in _FAILED:
            failure = failure or result
        elif index < len(preparing):
            prepared.add(preparing[index])
    if failure is not None:
        if failure.status == pq.ExecStatus.PIPELINE_ABORTED:
            raise errors.OperationalError("the pipeline was aborted")
        raise errors.error_from_result(failure, encoding=conn.info.encoding)
    return results[len(preparing):]


def prepare(conn, prepared: set[bytes], statements: Sequence[Statement]) -> None:
    """Prepare those of ``statements`` not yet prepared on this connection, in one round trip.

    A decision otherwise prepares each statement the first time it sends it, and
    the statements of its second round trip are sent while it holds the search's
    lock; the PostgreSQL store calls this before it asks for the lock.
    """
    if any(statement.name not in prepared for statement in statements):
        run(conn, prepared, [], prepare_only=statements)


def rows(result: pq.PGresult) -> list[tuple[bytes | None, ...]]:
    """The rows of a result, each value as bytes in the text format (None for NULL)."""
    width = result.nfields
    get = result.get_value
    return [tuple(get(row, column) for column in range(width))
            for row in range(result.ntuples)]
