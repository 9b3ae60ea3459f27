"""The PostgreSQL store: one search shared by workers on many machines.

Tables (created on first use, in the connection's current schema)::

    comet_optimize_meta        key/value; 'schema_version'
    comet_optimize_searches    id, config (JSON text), created; ordered by an identity
    comet_optimize_events      seq (identity), search, batch (uuid), body (one JSON event)
    comet_optimize_heartbeats  search, worker, beat (the server's now())

A decision is one transaction: ``BEGIN``, ``pg_advisory_xact_lock`` on the
search, read the events with ``seq`` above the last one this process saw,
decide, insert, ``COMMIT``. Since every writer of a search holds its lock
from before its inserts until its commit, a search's rows commit in ``seq``
order and a reader that asks for ``seq > last`` never skips one.

The commit runs with ``synchronous_commit = off`` (for that transaction
only) so the lock is released before the write-ahead log reaches the disk;
`append`'s promise of durability is then kept *outside* the lock by a tiny
synchronous commit sent right behind the ``COMMIT``, in the same round trip,
which flushes the log up to (and past) ours. Concurrent workers share those
flushes, so the lock is held for two round trips instead of two round trips
and a disk flush, and a decision costs two round trips in all. Each round
trip is one libpq pipeline of statements prepared once per connection
(`comet_optimize.store.pipeline`), not psycopg cursors, whose Python cost per
statement was half a decision's client CPU. Event bodies go as one binary
text array (a text-format array costs a regex pass over every quote of every
event). With named prepared statements, a pooler in front of the server
must keep a session per client (PgBouncer's session mode, or 1.21+ with
``max_prepared_statements``), as psycopg's own automatic preparing needed.

Outages: once connected, a dropped connection or a restarted server is
retried with bounded backoff. Each appended batch carries a uuid; after an
outage the journal looks for its batch among the rows after the ones it had
seen, so a commit whose acknowledgment was lost is not applied twice. When
the lock was lost and another process appended meanwhile, the decision can no
longer be written as taken: `JournalConflict` tells the caller to reload and
decide again.

psycopg (3) is imported only here, and this module only when a
``postgresql://`` location is used.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import socket
import struct
import termios
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode

from comet_optimize import jsontext, messages
from comet_optimize.errors import OptimizerException
from comet_optimize.events import SCHEMA_VERSION as EVENTS_SCHEMA
from comet_optimize.events import parse_event, parse_json, schema_of
from comet_optimize.liveness import readable_now
from comet_optimize.settings import seconds_from_env
from comet_optimize.store.base import Damage, JournalConflict
from comet_optimize.store.journal import _lock_warning_seconds, check_optimizer_id
from comet_optimize.store.silence import silence_seconds, watchdog

try:
    import psycopg
except ImportError:  # pragma: no cover - exercised by a subprocess test
    psycopg = None
else:
    # psycopg logs what it ignores while a connection dies; our one line says it all. An
    # application that configures logging still gets these records (they propagate).
    logging.getLogger("psycopg").addHandler(logging.NullHandler())

SCHEMA_VERSION = 1  # of the tables; refuse a store whose version is newer
_LOCK_SPACE = 0x636F6D65  # advisory-lock class id of this program ("come")
_DDL_LOCK = 0
RETRY_SECONDS = 300.0  # how long an outage is waited out; COMET_OPTIMIZE_PG_RETRY overrides
HOLD_SECONDS = 60.0  # the longest a stopped process can hold a search; COMET_OPTIMIZE_PG_HOLD
# Commit under the lock with a synchronous flush instead (the slower design, kept for
# benchmarks/pg_throughput.py to measure the difference).
_SYNC_COMMIT = os.environ.get("COMET_OPTIMIZE_PG_SYNC_COMMIT") == "1"

T = TypeVar("T")

_DDL = [
    """CREATE TABLE IF NOT EXISTS comet_optimize_meta (
        key text PRIMARY KEY,
        value text NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS comet_optimize_searches (
        ordinal bigint GENERATED ALWAYS AS IDENTITY,
        id text PRIMARY KEY,
        config text NOT NULL,
        created timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS comet_optimize_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        search text NOT NULL,
        batch uuid NOT NULL,
        body text NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS comet_optimize_events_search
        ON comet_optimize_events (search, seq)""",
    """CREATE TABLE IF NOT EXISTS comet_optimize_heartbeats (
        search text NOT NULL,
        worker text NOT NULL,
        beat timestamptz NOT NULL,
        PRIMARY KEY (search, worker))""",
]

# One statement: this transaction's commit does not wait for the disk; the lock, waited
# for at most the given time (0: for ever), after which the caller says who holds it.
_LOCK = ("SELECT set_config('synchronous_commit', %s, true), "
         "set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s, %s), "
         "set_config('lock_timeout', '0', true)")
# Who holds a search's lock (the application name says which process on which host).
_HOLDER = ("SELECT a.pid, a.application_name, host(a.client_addr), a.state, "
           "extract(epoch FROM now() - a.state_change)::float8, "
           "extract(epoch FROM now() - a.xact_start)::float8 "
           "FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
           "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
           "AND l.classid::bigint = %s AND l.objid::bigint = %s "
           "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
# A host that vanishes while it holds a search's lock would keep it until the server's
# TCP gives up (hours, by default): the server probes an idle peer after 10 s instead,
# so the session and its lock end about 25 s after the host went away. A process that
# is alive but stopped (SIGSTOP, a debugger, a suspended VM) keeps its connection up:
# see `PostgresJournal._deal_with_the_holder`.
# A role or database may set limits meant for people's queries; ours are bounded by our
# own rules (the lock's wait, the stopped holder's patience), and the read-decide-append
# relies on READ COMMITTED under the advisory lock. Left to the role, a serializable
# default failed writes ("could not serialize access"), an idle-in-transaction timeout
# shorter than a decision killed the session mid-decision again and again, and a
# statement timeout was taken for an outage: each time a finished result was lost.
# (The statement timeout is lifted before these, alone: `_lift_statement_timeout`.)
_SESSION = ("SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
            "SET tcp_keepalives_count = 3; SET lock_timeout = 0; "
            "SET idle_in_transaction_session_timeout = 0; "
            "SET default_transaction_isolation = 'read committed'; "
            # The flush after a decision waits for the disk only if the session's commits
            # do: a role's `off` made every append return before it was durable. Stronger
            # levels (remote_write, remote_apply) are the administrator's, and kept.
            "SELECT set_config('synchronous_commit', 'on', false) "
            "WHERE current_setting('synchronous_commit') = 'off'")
# PostgreSQL 14's limit on an idle session, and 17's on a whole transaction: the same
# reasoning, where they exist. A role's idle_session_timeout ended our sessions between
# experiments, and every worker said "lost the connection" once an experiment.
_SESSION_14 = "SET idle_session_timeout = 0"
_SESSION_17 = "SET transaction_timeout = 0"
# What a session is doing, as its server sees it (`_Connection._answer_lost`).
_SESSION_STATE = ("SELECT state, extract(epoch FROM clock_timestamp() - state_change)::float8 "
                  "FROM pg_stat_activity WHERE pid = %s")
_IDLE = ("idle", "idle in transaction", "idle in transaction (aborted)")
# A synchronous commit of its own, sent right after a decision's COMMIT in the same
# round trip: it waits for the write-ahead log to reach the disk up to (and past) that
# commit, which is thus durable without the lock being held meanwhile. It must write to
# the log, or its commit does not wait at all (a transaction that only takes an id,
# pg_current_xact_id(), commits without a flush): a tiny transactional log message does.
_FLUSH = "SELECT pg_logical_emit_message(true, 'comet_optimize', '')"
# After an outage: the batch tells whether our own commit had gone through.
_SELECT_NEW_BATCHES = ("SELECT seq, batch, body FROM comet_optimize_events "
                       "WHERE search = %s AND seq > %s ORDER BY seq")


# The same statements, prepared once per connection and sent by `pipeline.run` (the
# statements of every decision; see `comet_optimize.store.pipeline` for why).
if psycopg is not None:
    from comet_optimize.store import pipeline
    from comet_optimize.store.pipeline import BINARY, TEXT, Command, Statement

    _P_BEGIN = Statement(b"comet_optimize_begin", b"BEGIN")
    _P_LOCK = Statement(b"comet_optimize_lock", (
        b"SELECT set_config('synchronous_commit', $1, true), "
        b"set_config('lock_timeout', $2, true), pg_advisory_xact_lock($3, $4), "
        b"set_config('lock_timeout', '0', true)"))
    _P_SELECT_NEW = Statement(b"comet_optimize_new", (
        b"SELECT seq, body FROM comet_optimize_events "
        b"WHERE search = $1 AND seq > $2 ORDER BY seq"))
    _P_INSERT = Statement(b"comet_optimize_insert", (
        b"INSERT INTO comet_optimize_events (search, batch, body) "
        b"SELECT $1::text, $2::uuid, body FROM unnest($3::text[]) WITH ORDINALITY AS u(body, n) "
        b"ORDER BY n RETURNING seq"), (TEXT, TEXT, BINARY))
    _P_COMMIT = Statement(b"comet_optimize_commit", b"COMMIT")
    _P_FLUSH = Statement(b"comet_optimize_flush", _FLUSH.encode())
    # Prepared before a connection's first decision asks for the lock (see `locked`).
    _P_DECISION = (_P_BEGIN, _P_LOCK, _P_SELECT_NEW, _P_INSERT, _P_COMMIT, _P_FLUSH)


def _require_driver() -> None:
    if psycopg is None:
        raise OptimizerException(
            "a postgresql:// store needs psycopg 3: pip install 'comet_optimize[postgres]'"
        )


def printable_url(url: str) -> str:
    """The URL without its password (in the user part or as a ``password=`` parameter)."""
    scheme, _, rest = url.partition("://")
    path_start = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:path_start], rest[path_start:]
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    if "?" in tail and "password" in tail.lower():
        path, query = tail.split("?", 1)
        pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                 if k.lower() != "password"]
        tail = path + ("?" + urlencode(pairs) if pairs else "")
    return f"{scheme}://{netloc}{tail}"


# Where libpq may echo a password: a URI it could not parse, or a keyword=value pair.
_URI_PASSWORD = re.compile(r"(postgres(?:ql)?://[^\s/?#@:]*:)[^\s@/]*@", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)",
                               re.IGNORECASE)


def scrub_password(text: object, password: str | None) -> str:
    """A message from the driver, on one line, with no password in it.

    Wherever a URI or a ``password=`` pair shows one, any password is hidden; the
    given one is hidden elsewhere only as a whole word: replacing every occurrence
    of a short password mangled the message ("***ort 1 failed") and showed where
    its letters were.
    """
    text = " ".join(str(text).split())
    text = _URI_PASSWORD.sub(r"\1***@", text)
    text = _KEYWORD_PASSWORD.sub(r"\1***", text)
    for form in {password, quote(password or "", safe="")} - {None, ""}:
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text


def _refuse_raw_characters_in_the_user_part(url: str) -> None:
    """A ``@ / ? #`` left raw in the password splits the URL elsewhere than its owner
    meant: libpq then takes part of the password for the host (and says so in its
    error), and what we print as the URL without the password would hold some of it.
    Refused in a sentence that does not repeat the URL."""
    rest = url.partition("://")[2]
    ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
    netloc = rest[:min(ends, default=len(rest))]
    if netloc.count("@") > 1:
        raw = True
    elif "@" in netloc or "@" not in rest or rest.startswith("["):
        raw = False
    else:  # user:secret/with/slashes@host: the first '/' came before the '@'
        head = rest[:rest.find("@")]
        after = head.split(":", 1)[1] if ":" in head else ""
        cuts = [i for i in (after.find(c) for c in "/?#") if i >= 0]
        raw = ":" in head and not after[:min(cuts, default=len(after))].isdigit()
    if raw:
        raise OptimizerException(
            "the store URL's user name or password holds a '@', '/', '?' or '#' that is "
            "not percent-encoded (write %40, %2F, %3F, %23), which splits the URL in the "
            "wrong place; or keep the password in ~/.pgpass or PGPASSWORD")


def _password_of(url: str) -> str | None:
    rest = url.partition("://")[2]
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        return unquote(netloc.rsplit("@", 1)[0].split(":", 1)[1]) or None
    if "?" in rest:
        for key, value in parse_qsl(rest.split("?", 1)[1]):
            if key.lower() == "password":
                return value or None
    return None


def hold_seconds() -> float:
    """How long a session may sit idle inside its transaction, holding a search's lock,
    before a worker waiting for the lock ends it: COMET_OPTIMIZE_PG_HOLD, default
    `HOLD_SECONDS`."""
    return seconds_from_env("COMET_OPTIMIZE_PG_HOLD", HOLD_SECONDS)


def _application_name() -> str:
    """Names this process to the server, so a worker waiting for the lock can say who holds it."""
    from comet_optimize.liveness import this_process

    me = this_process()
    return f"comet_optimize {me.pid} {me.host}"[:63]


def _retry_seconds() -> float:
    return seconds_from_env("COMET_OPTIMIZE_PG_RETRY", RETRY_SECONDS, zero_allowed=True)


def _lock_key(optimizer_id: str) -> int:
    """A 32-bit advisory-lock key for a search (a collision only serialises two searches)."""
    return int(optimizer_id[:8], 16) - (1 << 31)


# Every connection this process opened, so that a forked child can disown them (below).
_connections: weakref.WeakSet[_Connection] = weakref.WeakSet()


def _disown_after_fork() -> None:
    """In a forked child, point the inherited sockets at /dev/null and forget them.

    Closing an inherited connection normally would send the server a goodbye on
    the socket the parent still uses, ending the parent's session; after this,
    whatever the child does with them goes nowhere.
    """
    for connection in list(_connections):
        connection.disown()


os.register_at_fork(after_in_child=_disown_after_fork)


class _Connection:
    """One libpq connection that survives forks and outages.

    The first connection of a process must succeed (a wrong password or a
    server that is down is an error at once); after that, losing it is an
    outage, waited out by `retrying`. "After that" counts any connection this
    process made to the same URL (a journal's first connection, when the
    store's has just read the config), and a worker that `comet optimize`
    started after reaching the store itself (`STORE_REACHED`): a server
    restarting just then must not kill the workers of a running search.
    """

    def __init__(self, url: str, location: str, password: str | None):
        self._url = url
        self.location = location
        self._password = password
        self._conn = None
        self._socket: tuple[int, int] | None = None  # what its descriptor names
        self._pid = -1
        self.prepared: set[bytes] = set()  # statements prepared on the live connection
        self._warned = False
        self._silenced = False  # the watchdog ended the connection: its server was silent
        # Serialises this connection's users (the heartbeat thread shares the store's).
        self.mutex = threading.RLock()
        _connections.add(self)

    def scrub(self, text: str) -> str:
        return scrub_password(text, self._password)

    def disown(self) -> None:
        # A thread of the parent may have held the mutex at the fork: the child's copy
        # would stay locked forever.
        self.mutex = threading.RLock()
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, conn.fileno())
            finally:
                os.close(null)
        except (OSError, ValueError, psycopg.Error):
            pass
        _orphan(conn)

    def get(self):
        """The live connection of this process, connecting if needed."""
        if self._pid != os.getpid() and self._conn is not None:
            self.disown()
        if self._conn is not None and not self._conn.closed:
            if _identity(self._conn) == self._socket:
                return self._conn
            # The script closed our socket (a daemonizing library closes every descriptor)
            # and its number now names a file of its own: libpq must never close or write
            # that number, so the old connection is kept, unused, for good.
            _orphan(self._conn)
            self._conn = None
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                                   application_name=_application_name(), keepalives=1,
                                   keepalives_idle=10, keepalives_interval=5,
                                   keepalives_count=3, **_primary_unless_told(self._url))
            self._socket = _identity(conn)
            with self.watched(conn):  # a server may stop answering right after it accepted
                _lift_statement_timeout(conn)
                conn.execute(_SESSION)
                if conn.info.server_version >= 140000:
                    conn.execute(_SESSION_14)
                if conn.info.server_version >= 170000:
                    conn.execute(_SESSION_17)
        except psycopg.Error as error:
            # A refused login is no outage: waiting will not bring the password back.
            if _reached_before(self._url) and not _refused_login(error):
                raise _Outage(error) from None
            raise OptimizerException(
                f"cannot connect to the store {self.location}: {self.scrub(error)}"
            ) from None
        self._conn, self._pid = conn, os.getpid()
        _reached.add(self._url)
        self.prepared = set()
        return conn

    def __del__(self) -> None:
        # The last store or journal using it is gone: say goodbye to the server now, rather
        # than leave psycopg to find the connection open (a ResourceWarning, which a
        # script's tests may run as errors) or the server to notice the socket closing.
        conn, self._conn = getattr(self, "_conn", None), None
        if conn is not None:
            try:  # late in the interpreter's shutdown this module's globals may be gone
                self._close(conn)
            except Exception:
                pass

    def _close(self, conn) -> None:
        """Close ``conn`` if its descriptor is still its socket in this process; else keep
        it for good (`_orphan`): libpq's goodbye would go to, and its close would close,
        a file of the script's that took the number (or the parent's socket)."""
        if self._pid != os.getpid() or _identity(conn) != self._socket:
            _orphan(conn)
        else:
            with contextlib.suppress(Exception):
                conn.close()

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._close(conn)

    def abandon(self) -> None:
        """Drop a connection interrupted mid-conversation, and let its server side settle.

        An exception raised by a signal handler (Ctrl-C, or a script's own) can
        stop us between sending a COMMIT and reading its answer. Closing the
        connection ends the session; waiting until its server process is gone
        means the COMMIT has been applied or not before anyone reads again.
        """
        conn, self._conn = self._conn, None
        if conn is None:
            return
        backend = None
        with contextlib.suppress(Exception):
            backend = conn.info.backend_pid
        self._close(conn)
        if not backend:
            return
        deadline = time.monotonic() + 10.0
        with contextlib.suppress(Exception), psycopg.connect(
                self._url, autocommit=True, connect_timeout=5) as probe:
            while time.monotonic() < deadline and probe.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone():
                time.sleep(0.005)

    def is_outage(self, error: BaseException) -> bool:
        if isinstance(error, _Outage):
            return True
        if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
            # A standby (the old primary's replica during a failover) is read-only until
            # it is promoted: wait for a primary as for a restart. A session read-only by
            # its role's or database's defaults is no outage: that is said at once.
            return not self._read_only_by_default()
        if not isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError,
                                  psycopg.errors.IdleInTransactionSessionTimeout)):
            return False
        state = getattr(error, "sqlstate", None)
        # 25P03: a server-wide idle_in_transaction_session_timeout ended the session.
        # 53: the server is out of disk, memory or connections, which an administrator
        # (or the end of someone else's job) frees: wait, as the file store waits for space.
        return (self._conn is None or self._conn.closed or state is None
                or state[:2] in ("08", "57", "53") or state == "25P03")

    def _read_only_by_default(self) -> bool:
        conn = self._conn
        if conn is None or conn.closed:
            return False
        told = conn.info.parameter_status("default_transaction_read_only")  # servers >= 14
        if told is not None:
            return told == "on"
        try:
            conn.execute("ROLLBACK")
            return conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
        except psycopg.Error:
            return False

    def watched(self, conn) -> contextlib.AbstractContextManager[None]:
        """Watch what is sent on ``conn`` in this block for a server gone silent (`silence`)."""
        return watchdog.watching(lambda waited: self._answer_lost(conn, waited),
                                 lambda: self._cut(conn))

    def _answer_lost(self, conn, waited: float) -> bool:
        """Asked from a second connection: will ``conn``'s statement never be answered?"""
        try:
            fd = conn.fileno()
            if readable_now([fd]):
                return False  # the answer has come; it is being read
            backend, host, port = conn.info.backend_pid, conn.info.host, conn.info.port
        except (OSError, ValueError, psycopg.Error):
            return False
        try:  # that very server (of a URL's several), primary or not
            with psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                                 application_name=_application_name(), host=host,
                                 port=port, target_session_attrs="any") as probe:
                row = probe.execute(_SESSION_STATE, (backend,)).fetchone()
        except psycopg.Error as error:
            # No answer at all is a server gone silent; a refusal (too many connections,
            # say) is an answer from a server that is working.
            return getattr(error, "sqlstate", None) is None
        if row is None:
            # Gone, or never a server process of its own: a pooler (PgBouncer) gives its
            # clients made-up ones. Not ours to judge: a frozen server fails the probe.
            return False
        state, idle = row
        if _unsent(fd):
            return False  # still sending a long statement to a server that is there
        # Idle, waiting for the rest of our statement or for our next one, while we wait
        # for its answer: what one of us sent was lost on the way.
        return state in _IDLE and idle is not None and idle >= min(1.0, waited / 2)

    def _cut(self, conn) -> None:
        if _identity(conn) != self._socket:
            return  # not the socket it connected (the script reused the descriptor)
        try:
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                sock.shutdown(socket.SHUT_RDWR)  # wakes libpq: the connection is lost
        except (OSError, ValueError, psycopg.Error):
            return
        self._silenced = True

    def retrying(self, work: Callable[[Any], T], recover: Callable[[Any], T] | None = None,
                 eager: bool = False) -> T:
        """Run ``work(conn)``; through an outage, reconnect and run ``recover`` (or work) again.

        Backoff doubles from 50 ms to 2 s, for at most COMET_OPTIMIZE_PG_RETRY
        seconds; one line on stderr says that we wait. ``eager`` (a decision
        waiting to be written) keeps retrying every 20 ms instead, so that it is
        usually back before the others decide anew on a store without it.
        """
        deadline = None
        delay = 0.02 if eager else 0.05
        attempt = work
        while True:
            try:
                conn = self.get()
                with self.watched(conn):
                    result = attempt(conn)
                if self._silenced:  # cut just as its answer came: that socket is done for
                    self._silenced = False
                    self.drop()
                self._warned = False
                return result
            except (psycopg.Error, _Outage) as error:
                if not self.is_outage(error):
                    raise
                self.drop()
                reason = self.scrub(_reason(error))
                if self._silenced:
                    reason = f"no answer from the server for {silence_seconds():g} s"
                    self._silenced = False
                now = time.monotonic()
                if deadline is None:
                    deadline = now + _retry_seconds()
                    if not self._warned:
                        what = ("cannot record anything in the store" if
                                _lacks_resources(error) else "lost the connection to the store")
                        _warn(f"{what} {self.location} ({reason}); "
                              f"retrying for up to {_retry_seconds():.0f} s")
                        self._warned = True
                if now >= deadline:
                    state = ("could not record anything" if _lacks_resources(error)
                             else "has been unreachable")
                    raise OptimizerException(
                        f"the store {self.location} {state} for "
                        f"{_retry_seconds():.0f} s: {reason}"
                    ) from None
                time.sleep(min(delay, max(0.0, deadline - now)))
                delay = delay if eager else min(delay * 2, 2.0)
                attempt = recover or work
            except BaseException:  # interrupted mid-conversation: the session's state is unknown
                self.abandon()
                raise


# URLs this process has connected to (see `_Connection`).
_reached: set[str] = set()
# Set by the launcher for its workers: it reached the store before starting them.
STORE_REACHED = "COMET_OPTIMIZE_STORE_REACHED"


def _reached_before(url: str) -> bool:
    return url in _reached or os.environ.get(STORE_REACHED) == "1"


_orphans: list[Any] = []


def _orphan(conn) -> None:
    """Keep a connection that must never be closed: its descriptor is no longer its socket
    (a forked child's copy, pointed at /dev/null, or a number the script reused)."""
    # Closing would write to, and close, a descriptor that is not ours: such a connection
    # stays referenced for good, and psycopg is told its staying open is on purpose (it
    # does not warn about a pooled connection; ``None`` is what it sets out of a pool).
    conn._pool = None
    _orphans.append(conn)
    # Kept past the interpreter's exit too: libpq's finaliser would end the connection
    # then, on that number. One reference that is never released.
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn.pgconn))


# The connection every store object of one URL shares in this process (configs, lists,
# heartbeats, leases: short statements, never a transaction left open), for as long as
# one of them lives; journals have their own, since a decision holds its connection for
# a whole transaction.
_store_connections: weakref.WeakValueDictionary[str, _Connection] = \
    weakref.WeakValueDictionary()
_store_connections_guard = threading.Lock()


def _unsent(fd: int) -> int:
    """Bytes of ours in the socket's send queue that the other end has not taken yet."""
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0" * 4))[0]
    except OSError:
        return 0


def _identity(conn) -> tuple[int, int] | None:
    """The device and inode behind a connection's descriptor (None when it has none)."""
    try:
        info = os.fstat(conn.fileno())
    except (OSError, ValueError, psycopg.Error):
        return None
    return info.st_dev, info.st_ino


def _lift_statement_timeout(conn) -> None:
    """Set our session's statement timeout to none, first and alone.

    A role may give its sessions a tiny ``statement_timeout``; it applies to our own
    ``SET`` too, which a busy machine can keep waiting past it. Once this one statement
    has gone through, the others run without a limit.
    """
    for attempt in range(_TIMEOUT_LIFT_ATTEMPTS):
        try:
            conn.execute("SET statement_timeout = 0")
            return
        except psycopg.errors.QueryCanceled:
            if attempt + 1 == _TIMEOUT_LIFT_ATTEMPTS:
                raise


_TIMEOUT_LIFT_ATTEMPTS = 50


def _lacks_resources(error: BaseException) -> bool:
    """The server is out of disk, memory or connections (SQLSTATE class 53)."""
    return (getattr(error, "sqlstate", None) or "")[:2] == "53"


def _primary_unless_told(url: str) -> dict[str, str]:
    """Ask libpq for a primary among the URL's hosts, unless the user chose otherwise.

    With several hosts (a primary and its standbys), libpq's default takes the
    first that answers: after a failover that may be a read-only standby.
    """
    if psycopg.pq.version() < 140000 or os.environ.get("PGTARGETSESSIONATTRS"):
        return {}  # an older libpq does not know "primary"
    try:
        told = "target_session_attrs" in psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return {}  # connect() says what is wrong with the URL
    return {} if told else {"target_session_attrs": "primary"}


def _store_connection(url: str, location: str, password: str | None) -> _Connection:
    with _store_connections_guard:
        connection = _store_connections.get(url)
        if connection is None:
            connection = _store_connections[url] = _Connection(url, location, password)
        return connection


def _forget_store_connections_guard() -> None:
    global _store_connections_guard
    _store_connections_guard = threading.Lock()  # a parent's thread may have held it


os.register_at_fork(after_in_child=_forget_store_connections_guard)


class _Outage(Exception):
    """A connection attempt failed after this process had been connected before."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))


_warn = messages.warning


def _refused_login(error: BaseException) -> bool:
    """The server (class 28) or libpq itself ("no password supplied") refused the login."""
    state = getattr(error, "sqlstate", None)
    text = str(error)
    return (state is not None and state.startswith("28")) or "fe_sendauth" in text \
        or "password authentication failed" in text \
        or re.search(r'(role|database) ".*" does not exist', text) is not None


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0] if "\n" in text else text


def _sql_error(connection: _Connection, error: Exception, doing: str) -> OptimizerException:
    hint = ""
    if getattr(error, "sqlstate", None) in _POOLED_STATEMENT_STATES:
        hint = ("; is a connection pooler in transaction mode in front of the server? It "
                "gives each transaction any server session, which loses the statements "
                "this store prepares: use session mode (or PgBouncer 1.21+ with "
                "max_prepared_statements)")
    return OptimizerException(f"the store {connection.location} refused to {doing}: "
                              f"{connection.scrub(_reason(error))}{hint}")


# A statement prepared on this connection missing, or one prepared already: the server
# session behind the connection changed under it.
_POOLED_STATEMENT_STATES = ("26000", "42P05")


class PostgresJournal:
    """One search's events in ``comet_optimize_events``; see the module docstring."""

    def __init__(self, url: str, location: str, password: str | None, optimizer_id: str,
                 readonly: bool = False):
        _require_driver()
        self.optimizer_id = optimizer_id
        self.readonly = readonly
        self.location = location
        self.damage: list[Damage] = []
        self._db = _Connection(url, location, password)
        self._key = _lock_key(optimizer_id)
        self._last = 0  # the highest seq folded in (or deliberately skipped)
        self._ready: list[dict[str, Any]] = []  # read during a recovery, not yet returned
        self._pending: tuple[uuid.UUID, list[str]] | None = None
        self._in_transaction = False

    def __repr__(self) -> str:
        return f"PostgresJournal({self.location!r}, {self.optimizer_id!r})"

    def close(self) -> None:
        self._db.drop()

    # -- reading

    def _fold(self, rows: list[tuple[int, Any]], encoding: str | None = None
              ) -> list[dict[str, Any]]:
        """Parse rows of (seq, body) into events, after any read during a recovery.

        Every worker folds every event of its search, so this runs workers x events
        times: it is kept to the parse and little else. Bodies are text, or bytes in
        ``encoding`` (a row that is not valid text is damage, like one that is not JSON).
        """
        events = self._ready
        self._ready = []
        loads = parse_event  # json.loads, for a third less
        for seq, body in rows:
            try:
                event = loads(body if encoding is None else body.decode(encoding))
            except ValueError:
                event = None
            if type(event) is dict:  # what JSON gives: no subclass to look for
                event["_at"] = seq  # where it is, for messages (the file store gives a byte)
                version = event.get("v")
                if type(version) is int and version > EVENTS_SCHEMA:  # newer_schema, inline
                    raise OptimizerException(
                        f"the search {self.optimizer_id} in {self.location} was written by a "
                        f"newer comet_optimize (an event of journal schema {version}, row "
                        f"{seq}; this version reads schema {EVENTS_SCHEMA}): upgrade "
                        f"comet_optimize wherever this store is used")
                events.append(event)
            else:
                self.damage.append(Damage(seq, 1, "not a JSON object"))
        if rows:
            self._last = max(self._last, rows[-1][0])  # rows come in seq order
        return events

    def _check_not_behind(self, conn) -> None:
        """After an outage: the last row we saw must still exist, or the server lost commits."""
        if self._last and conn.execute(
                "SELECT 1 FROM comet_optimize_events WHERE seq = %s", (self._last,)
        ).fetchone() is None:
            raise JournalConflict(
                f"the store {self.location} lost events this process had read "
                f"(a server crash?): reload the search {self.optimizer_id}"
            )

    def _select_new(self, conn, before: list[Command]) -> list[dict[str, Any]]:
        """Run ``before``, then read the rows after the last one seen, in one round trip;
        the new events."""
        results = pipeline.run(conn, self._db.prepared, [
            *before, (_P_SELECT_NEW, [self.optimizer_id.encode(), str(self._last).encode()])])
        result = results[-1]
        value = result.get_value
        rows = [(int(value(row, 0)), value(row, 1)) for row in range(result.ntuples)]
        return self._fold(rows, conn.info.encoding)

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call, in order; takes no lock."""
        with self._db.mutex:
            def work(conn):
                return self._select_new(conn, [])

            def recover(conn):
                self._check_not_behind(conn)
                return work(conn)

            try:
                return self._db.retrying(work, recover)
            except psycopg.Error as error:
                raise _sql_error(self._db, error, "read the events") from None

    # -- deciding

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[dict[str, Any]]]:
        """BEGIN, lock the search, read what is new; at exit insert what was appended, COMMIT."""
        if self.readonly:
            raise OptimizerException(f"the journal of {self.optimizer_id} was opened read-only")
        with self._db.mutex:
            if self._in_transaction:
                raise OptimizerException("locked() is not reentrant")

            # Wait quietly for the lock up to COMET_OPTIMIZE_LOCK_WARNING seconds; then
            # say who holds it, once, and wait on (see `_deal_with_the_holder`).
            patience = [_lock_warning_seconds()]
            since, said = time.monotonic(), [False]

            def begin(conn):
                # A new connection's statements are prepared first, in a round trip of
                # their own; otherwise the insert, COMMIT and flush would be prepared
                # when first sent, with the lock held.
                pipeline.prepare(conn, self._db.prepared, _P_DECISION)
                lock = [b"on" if _SYNC_COMMIT else b"off",
                        f"{max(patience[0], 0.001) * 1000:.0f}".encode(),
                        str(_LOCK_SPACE).encode(), str(self._key).encode()]
                return self._select_new(conn, [(_P_BEGIN, None), (_P_LOCK, lock)])

            def begin_again(conn):
                self._check_not_behind(conn)
                return begin(conn)

            while True:
                try:
                    events = self._db.retrying(begin, begin_again)
                    break
                except psycopg.errors.LockNotAvailable:
                    self._rollback()
                    patience[0] = self._deal_with_the_holder(time.monotonic() - since, said)
                except psycopg.Error as error:
                    self._rollback()
                    raise _sql_error(self._db, error, "lock the search") from None
            self._in_transaction = True
            self._pending = None
            try:
                yield events
            except BaseException:
                self._in_transaction = False
                self._pending = None
                self._rollback()
                raise
            self._in_transaction = False
            pending, self._pending = self._pending, None
            self._commit(pending)

    def _deal_with_the_holder(self, waited: float, said: list[bool]) -> float:
        """After a long wait for the lock: say who holds it (once); end a stopped holder.

        A long queue of busy workers is not worth a word: only a holder that has
        held the lock for `_lock_warning_seconds` itself is named (``said``
        records that it was). A holder whose session has sat idle inside its
        transaction for `hold_seconds` (a process stopped with SIGSTOP, a
        debugger, a suspended VM: its connection stays up, so keepalives never
        end it) has its session ended with ``pg_terminate_backend``, which
        releases the lock. When it resumes, its commit finds the connection
        gone, and `_commit` records its decision once or has it decided again,
        so nothing it was writing is lost or written twice. Returns how long to
        wait for the lock next. (The server's idle_in_transaction_session_timeout
        would be simpler, but it never fires after psycopg's pipelines, which
        end with a flush request after their Sync.)
        """
        def holder(conn):
            return conn.execute(_HOLDER, (_LOCK_SPACE, self._key & 0xFFFFFFFF)).fetchone()

        try:
            row = self._db.retrying(holder)
        except psycopg.Error:
            row = None
        hold, patience = hold_seconds(), _lock_warning_seconds()
        if row is None:
            return patience  # released meanwhile
        session, name, address, state, idle, held = row
        idle, held = idle or 0.0, held or 0.0
        parts = (name or "").split(" ", 2)
        ours = len(parts) == 3 and parts[0] == "comet_optimize"
        who = (f"process {parts[1]} on {parts[2]}" if ours
               else f"server session {session} ({name or 'no application name'})")
        if address:
            who += f" (connected from {address})"
        stalled = state in ("idle in transaction", "idle in transaction (aborted)")
        if held >= patience and not said[0]:
            said[0] = True
            doing = f", idle in its transaction for {idle:.0f} s" if stalled else ""
            _warn(f"waited {waited:.0f} s for the lock of the search {self.optimizer_id} in "
                  f"{self.location}, held by {who} for {held:.0f} s{doing}; still waiting "
                  f"(is that process stopped? after {hold:.0f} s idle its session is "
                  f"ended: COMET_OPTIMIZE_PG_HOLD)")
        if not stalled or not ours:
            return patience
        if idle < hold:
            return max(0.05, min(hold - idle, patience))

        def terminate(conn):
            return conn.execute("SELECT pg_terminate_backend(%s)", (session,)).fetchone()

        try:
            ended = self._db.retrying(terminate)
        except psycopg.Error as error:
            _warn(f"could not end the session of {who} ({self._db.scrub(_reason(error))}); "
                  f"still waiting for the lock of the search {self.optimizer_id}")
            return hold
        if ended and ended[0]:
            _warn(f"ended the session of {who}: it had held the lock of the search "
                  f"{self.optimizer_id} idle for {idle:.0f} s (COMET_OPTIMIZE_PG_HOLD); "
                  f"when it resumes it records its decision again")
        return 0.5

    def append(self, events: list[dict[str, Any]]) -> None:
        """Queue events for the commit at the end of `locked` (durable when that returns)."""
        if not self._in_transaction:
            raise OptimizerException("append() outside locked()")
        if not events:
            return
        bodies = _encode(events)
        if self._pending is None:
            self._pending = (uuid.uuid4(), bodies)
        else:
            self._pending[1].extend(bodies)

    def _rollback(self) -> None:
        conn = self._db._conn
        if conn is not None and not conn.closed:
            try:
                with self._db.watched(conn):
                    conn.execute("ROLLBACK")
            except psycopg.Error:
                self._db.drop()
            except BaseException:
                self._db.abandon()
                raise

    def _commit(self, pending: tuple[uuid.UUID, list[str]] | None) -> None:
        seen = self._last

        def insert_and_commit(conn):
            commands: list[Command] = []
            if pending is not None:
                commands.append((_P_INSERT, [self.optimizer_id.encode(), str(pending[0]).encode(),
                                             pipeline.text_array(pending[1])]))
            commands.append((_P_COMMIT, None))  # releases the lock
            if pending is not None and not _SYNC_COMMIT:
                commands.append((_P_FLUSH, None))  # durability, outside the lock, same trip
            results = pipeline.run(conn, self._db.prepared, commands)
            if pending is not None:
                inserted = [int(row[0]) for row in pipeline.rows(results[0])]
                self._last = max(self._last, *inserted)

        def recover(conn):
            # The transaction died with the connection: find out whether it committed.
            self._last = seen
            self._check_not_behind(conn)
            if pending is None:
                return  # nothing was written; the lock went with the connection
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(_LOCK, ("on", "0", _LOCK_SPACE, self._key))
                cursor = conn.execute(_SELECT_NEW_BATCHES, (self.optimizer_id, seen))
            rows = cursor.fetchall()
            others = [(seq, body) for seq, batch, body in rows if batch != pending[0]]
            if len(others) < len(rows):  # it had committed; keep what others wrote after it
                conn.execute("COMMIT")
                if not _SYNC_COMMIT:
                    conn.execute(_FLUSH)  # it may not have reached the disk yet
                self._ready = self._fold(others)
                self._last = max(self._last, rows[-1][0])
                return
            if rows:  # the lock was lost and others decided meanwhile
                conn.execute("ROLLBACK")
                self._ready = self._fold(others)
                raise JournalConflict(
                    f"the connection to the store {self.location} was lost while deciding, "
                    f"and other workers wrote meanwhile: reload the search {self.optimizer_id}"
                )
            insert_and_commit(conn)

        try:
            self._db.retrying(insert_and_commit, recover, eager=pending is not None)
        except psycopg.Error as error:
            self._rollback()
            raise _sql_error(self._db, error, "record the events") from None


    def write(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append events that need no decision, in one round trip; what others appended
        before them.

        ``BEGIN``, the lock, the read of what is new, the insert, ``COMMIT`` and the
        flush go in one pipeline, so the lock is held for the server's work alone,
        never across a round trip to this process. The caller took no decision on
        what it had read, so there is nothing to take back when others wrote first:
        it folds what is returned, then its own events, as the journal orders them.
        After an outage, the batch's uuid says whether the commit had gone through;
        events others appended after ours are returned by the next read.
        """
        if self.readonly:
            raise OptimizerException(f"the journal of {self.optimizer_id} was opened read-only")
        if not events:
            return self.read_new()
        bodies = _encode(events)
        batch = uuid.uuid4()
        with self._db.mutex:
            if self._in_transaction:
                raise OptimizerException("write() inside locked()")
            seen = self._last
            patience = [_lock_warning_seconds()]
            since, said = time.monotonic(), [False]

            def work(conn):
                pipeline.prepare(conn, self._db.prepared, _P_DECISION)
                lock = [b"on" if _SYNC_COMMIT else b"off",
                        f"{max(patience[0], 0.001) * 1000:.0f}".encode(),
                        str(_LOCK_SPACE).encode(), str(self._key).encode()]
                commands: list[Command] = [
                    (_P_BEGIN, None), (_P_LOCK, lock),
                    (_P_SELECT_NEW, [self.optimizer_id.encode(), str(self._last).encode()]),
                    (_P_INSERT, [self.optimizer_id.encode(), str(batch).encode(),
                                 pipeline.text_array(bodies)]),
                    (_P_COMMIT, None)]
                if not _SYNC_COMMIT:
                    commands.append((_P_FLUSH, None))
                results = pipeline.run(conn, self._db.prepared, commands)
                new, inserted = results[2], pipeline.rows(results[3])
                value = new.get_value
                rows = [(int(value(row, 0)), value(row, 1)) for row in range(new.ntuples)]
                before = self._fold(rows, conn.info.encoding)
                self._last = max(self._last, *(int(row[0]) for row in inserted))
                return before

            def recover(conn):
                # The connection died with the pipeline: find out whether it committed.
                self._last = seen
                self._check_not_behind(conn)
                with conn.pipeline():
                    conn.execute("BEGIN")
                    conn.execute(_LOCK, ("on", "0", _LOCK_SPACE, self._key))
                    cursor = conn.execute(_SELECT_NEW_BATCHES, (self.optimizer_id, seen))
                rows = cursor.fetchall()
                ours = [seq for seq, found, _ in rows if found == batch]
                if ours:  # committed: what others wrote after it is the next read's
                    conn.execute("COMMIT")
                    if not _SYNC_COMMIT:
                        conn.execute(_FLUSH)  # it may not have reached the disk yet
                    first = min(ours)
                    before = self._fold([(seq, body) for seq, _, body in rows if seq < first])
                    self._ready = self._fold([(seq, body) for seq, found, body in rows
                                              if seq > first and found != batch])
                    self._last = max(seq for seq, _, _ in rows)
                    return before
                cursor = conn.execute(
                    "INSERT INTO comet_optimize_events (search, batch, body) "
                    "SELECT %s, %s, body FROM unnest(%s::text[]) WITH ORDINALITY AS u(body, n) "
                    "ORDER BY n RETURNING seq", (self.optimizer_id, batch, bodies))
                inserted = [row[0] for row in cursor.fetchall()]
                conn.execute("COMMIT")
                if not _SYNC_COMMIT:
                    conn.execute(_FLUSH)
                before = self._fold([(seq, body) for seq, _, body in rows])
                self._last = max(self._last, *inserted)
                return before

            while True:
                try:
                    return self._db.retrying(work, recover, eager=True)
                except psycopg.errors.LockNotAvailable:
                    self._rollback()
                    patience[0] = self._deal_with_the_holder(time.monotonic() - since, said)
                except psycopg.Error as error:
                    self._rollback()
                    raise _sql_error(self._db, error, "record the events") from None


def _encode(events: list[dict[str, Any]]) -> list[str]:
    """Event bodies as the journal holds them (strict, as in the file store: no NaN tokens,
    nothing json does not know); an event may give a ``v`` of its own."""
    try:
        return [jsontext.line({"v": schema_of(event), **event}) for event in events]
    except (TypeError, ValueError) as error:
        raise OptimizerException(f"cannot record an event: {error}") from None


class PostgresStore:
    """Every search of one PostgreSQL database (or schema)."""

    def __init__(self, url: str):
        _refuse_raw_characters_in_the_user_part(url)
        _require_driver()
        self._url = url
        self.location = printable_url(url)
        self._password = _password_of(url)
        self._db = _store_connection(url, self.location, self._password)
        self._schema_ok = False
        self._beats: dict[str, tuple[float, float, dict[str, float]]] = {}
        # Connect now: a wrong password, a server that is down or a schema from the future
        # is an error at once, whatever the command.
        # Not so for a store this process, or the launcher that started it, has reached:
        # a server restarting then is waited out (see `_Connection`).
        with self._db.mutex:
            if _reached_before(url):
                self._db.retrying(lambda conn: None)
            else:
                self._db.get()
        self._ensure_schema(create=False)

    def __repr__(self) -> str:
        return f"PostgresStore({self.location!r})"

    @property
    def url(self) -> str:
        """The URL to hand to workers (with the password): never print it."""
        return self._url

    # -- the schema

    def _ensure_schema(self, create: bool) -> bool:
        """True when the tables exist (creating them if ``create``); refuse a newer schema."""
        if self._schema_ok:
            return True

        def version(conn):
            try:
                row = conn.execute("SELECT value FROM comet_optimize_meta "
                                   "WHERE key = 'schema_version'").fetchone()
            except psycopg.errors.UndefinedTable:
                return None
            return row[0] if row else None

        found = self._run(version, "read the schema version")
        if found is None:
            if not create:
                return False
            self._run(_create_tables, "create the tables (see docs/cluster.md for privileges)")
            found = self._run(version, "read the schema version")
        try:
            number = int(found)
        except (TypeError, ValueError):
            raise OptimizerException(
                f"the store {self.location} has an unreadable schema version {found!r}"
            ) from None
        if number > SCHEMA_VERSION:
            raise OptimizerException(
                f"the store {self.location} has schema version {number}, newer than this "
                f"comet_optimize understands ({SCHEMA_VERSION}): upgrade comet_optimize"
            )
        self._schema_ok = True
        return True

    def _run(self, work: Callable[[Any], T], doing: str) -> T:
        with self._db.mutex:
            try:
                return self._db.retrying(work)
            except psycopg.Error as error:
                raise _sql_error(self._db, error, doing) from None

    # -- searches

    def create(self, optimizer_id: str, config: dict[str, Any]) -> None:
        check_optimizer_id(optimizer_id)
        self._ensure_schema(create=True)
        text = jsontext.indented(config, sort_keys=True)

        def insert(conn):
            conn.execute("INSERT INTO comet_optimize_searches (id, config) VALUES (%s, %s) "
                         "ON CONFLICT (id) DO NOTHING", (optimizer_id, text))

        self._run(insert, "store the config")
        if self.read_config(optimizer_id) != jsontext.parse(text):
            raise OptimizerException(
                f"the search {optimizer_id} already exists in the store {self.location}"
            )

    def exists(self, optimizer_id: str) -> bool:
        check_optimizer_id(optimizer_id)
        if not self._ensure_schema(create=False):
            return False
        return self._run(lambda conn: conn.execute(
            "SELECT 1 FROM comet_optimize_searches WHERE id = %s", (optimizer_id,)
        ).fetchone() is not None, "look up the search")

    def read_config(self, optimizer_id: str) -> dict[str, Any]:
        check_optimizer_id(optimizer_id)
        row = None
        if self._ensure_schema(create=False):
            row = self._run(lambda conn: conn.execute(
                "SELECT config FROM comet_optimize_searches WHERE id = %s", (optimizer_id,)
            ).fetchone(), "read the config")
        if row is None:
            raise OptimizerException(
                f"unknown optimizer id {optimizer_id} (not found in the store {self.location})"
            )
        try:
            config = parse_json(row[0])
        except ValueError as error:
            raise OptimizerException(
                f"{self.location}: cannot read the stored config of {optimizer_id} ({error})"
            ) from None
        if not isinstance(config, dict):
            raise OptimizerException(
                f"{self.location}: cannot read the stored config of {optimizer_id} "
                f"(not a JSON object)")
        return config

    def list_ids(self) -> list[str]:
        if not self._ensure_schema(create=False):
            return []
        rows = self._run(lambda conn: conn.execute(
            "SELECT id FROM comet_optimize_searches ORDER BY ordinal").fetchall(),
            "list the searches")
        return [row[0] for row in rows]

    def journal(self, optimizer_id: str, readonly: bool = False) -> PostgresJournal:
        check_optimizer_id(optimizer_id)
        self._ensure_schema(create=False)
        return PostgresJournal(self._url, self.location, self._password, optimizer_id, readonly)

    def check_writable(self, optimizer_id: str) -> None:
        """Refuse, before workers start, a store they could not write to: a role without
        the privilege, or whose sessions are read-only by default. The launcher attached
        the search and read it, then every worker died at its first write. Proved by a
        heartbeat written and rolled back. (A standby is not refused: its writes are
        waited out until it is promoted, as in a failover; docs/cluster.md.)"""
        self._ensure_schema(create=False)

        def probe(conn) -> None:
            if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                return
            with conn.transaction(force_rollback=True):
                # The heartbeat exactly as workers write it (an upsert needs UPDATE too).
                conn.execute(
                    "INSERT INTO comet_optimize_heartbeats (search, worker, beat) "
                    "VALUES (%s, %s, now()) ON CONFLICT (search, worker) "
                    "DO UPDATE SET beat = now()",
                    (optimizer_id, "comet optimize: write check"))
            # Events are only asked about: a row rolled back would still take a number.
            if not conn.execute("SELECT has_table_privilege("
                                "'comet_optimize_events', 'INSERT')").fetchone()[0]:
                raise OptimizerException(
                    f"the store {self.location} refused to let a worker write: permission "
                    f"denied for table comet_optimize_events (INSERT)")

        try:
            self._run(probe, "let a worker write")
        except OptimizerException as error:
            raise OptimizerException(f"{error}: workers could not record results, so none "
                                     f"was started") from None

    # -- liveness, on the server's clock

    def beat(self, optimizer_id: str, worker: str) -> None:
        self._ensure_schema(create=True)
        self._run(lambda conn: conn.execute(
            "INSERT INTO comet_optimize_heartbeats (search, worker, beat) VALUES (%s, %s, now()) "
            "ON CONFLICT (search, worker) DO UPDATE SET beat = now()",
            (optimizer_id, worker)), "record a heartbeat")

    def lease_lapsed(self, optimizer_id: str, worker: str, lease: float,
                     assigned_at: float) -> bool:
        """Judged on the server's clock; heartbeat ages are fetched at most once a second."""
        fetched, server_now, ages = self._beats.get(optimizer_id, (-1e9, 0.0, {}))
        elapsed = time.monotonic() - fetched
        if elapsed > 1.0:
            rows = self._run(lambda conn: conn.execute(
                "SELECT extract(epoch FROM now())::float8, worker, "
                "extract(epoch FROM now() - beat)::float8 "
                "FROM (SELECT 1) AS one LEFT JOIN comet_optimize_heartbeats "
                "ON search = %s", (optimizer_id,)).fetchall(), "read the heartbeats")
            fetched, elapsed = time.monotonic(), 0.0
            server_now = rows[0][0]
            ages = {row[1]: row[2] for row in rows if row[1] is not None}
            self._beats[optimizer_id] = (fetched, server_now, ages)
        if worker in ages:
            return ages[worker] + elapsed > lease
        return server_now + elapsed - assigned_at > lease

    def log_folder(self, optimizer_id: str) -> str:
        """Logs stay on the worker's machine: $COMET_OPTIMIZE_LOGS/<id>, by default
        ~/.comet_optimize/logs/<id> (folders 0700)."""
        check_optimizer_id(optimizer_id)
        root = os.environ.get("COMET_OPTIMIZE_LOGS") or os.path.join(
            os.path.expanduser("~"), ".comet_optimize", "logs")
        path = os.path.join(root, optimizer_id)
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
        return path


def _create_tables(conn) -> None:
    """Serialised by an advisory lock, so that 50 processes starting at once do not race."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_SPACE, _DDL_LOCK))
        for statement in _DDL:
            conn.execute(statement)
        conn.execute("INSERT INTO comet_optimize_meta (key, value) VALUES "
                     "('schema_version', %s) ON CONFLICT (key) DO NOTHING",
                     (str(SCHEMA_VERSION),))


