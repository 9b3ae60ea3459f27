"""Notice a PostgreSQL server that has stopped answering in the middle of a statement.

A server whose processes are stopped (SIGSTOP, a suspended virtual machine, a
frozen container) keeps its connections open: its kernel acknowledges what we
send, answers keepalives, and nothing ever comes back. A network path that
loses one direction does the same. A worker waiting for an answer then waits
for ever, saying nothing, with its results in hand. No statement of ours
legitimately takes long (the search's lock is waited for in bounded steps), so
a statement without an answer for `silence_seconds` is looked into from a
second connection. The silence counts only while the watched thread waits: a
thread that uses the processor (parsing a long history it has just read) is
working, not waiting for the server. When that one cannot reach the server either, or reaches it
and finds our session gone or idle, waiting for us (the answer was lost on the
way), the statement's socket is shut down: the statement fails as on any lost
connection, and the store's outage handling (say so, reconnect, find out
whether the commit went through) takes over. A slow server that answers the
second connection is left to finish.

One daemon thread per process watches every statement in flight; a statement
costs it a dictionary entry (its thread's clock is only read once it has lasted
a look).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from comet_optimize.settings import seconds_from_env

SILENCE_SECONDS = 15.0  # COMET_OPTIMIZE_PG_SILENCE overrides it


def silence_seconds() -> float:
    """How long a statement may go without an answer before the server is looked into
    (at least a second: the look itself takes a connection)."""
    return max(1.0, seconds_from_env("COMET_OPTIMIZE_PG_SILENCE", SILENCE_SECONDS))


PROBE_SECONDS = 10.0  # the least time the second connection is given to answer
_BUSY_SECONDS = 0.01  # processor time between two looks that says a thread is working


def _thread_clock(thread: int) -> int | None:
    """The processor-time clock of a thread of this process (None where there is none)."""
    try:
        return time.pthread_getcpuclockid(thread)
    except (AttributeError, OSError):
        return None


def _processor_time(clock: int | None) -> float | None:
    if clock is None:
        return None
    try:
        return time.clock_gettime(clock)
    except OSError:  # the thread is gone
        return None


@dataclass
class _Watch:
    since: float  # when the statement was sent, or last found to be alive or working
    answer_lost: Callable[[float], bool]  # given how long it has waited
    cut: Callable[[], None]
    thread: int  # the watched thread; its processor-time clock is found at the first look
    clock: int | None = None
    used: float | None = None  # its processor time at the last look


class Watchdog:
    """Statements in flight, and the thread that ends those whose answer will not come."""

    def __init__(self) -> None:
        self._forget()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        # A child starts without the thread, and a parent's thread may have held the lock.
        self._lock = threading.Lock()
        self._watches: dict[int, _Watch] = {}
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watching(self, answer_lost: Callable[[float], bool], cut: Callable[[], None]
                 ) -> Iterator[None]:
        """Watch the statement(s) run in this block; ``cut`` ends their connection."""
        key = next(self._keys)
        watch = _Watch(time.monotonic(), answer_lost, cut, threading.get_ident())
        with self._lock:
            self._watches[key] = watch
            if self._thread is None:
                thread = threading.Thread(target=self._watch, daemon=True,
                                          name="comet_optimize silence watch")
                thread.start()
                self._thread = thread
        try:
            yield
        finally:
            with self._lock:
                del self._watches[key]

    def _watch(self) -> None:
        while True:
            silence = silence_seconds()
            time.sleep(min(silence / 4, 5.0))
            try:
                self._look(silence)
            except Exception:  # noqa: BLE001 - the watch must outlive any one look
                continue

    def _look(self, silence: float) -> None:
        with self._lock:
            watches = list(self._watches.items())
        for key, watch in watches:
            now = time.monotonic()
            if watch.clock is None:  # looked up here, not for each statement sent
                watch.clock = _thread_clock(watch.thread)
            used = _processor_time(watch.clock)
            if used is not None and watch.used is not None \
                    and used - watch.used >= _BUSY_SECONDS:
                watch.since = now  # working since the last look, not waiting
            watch.used = used
            if now - watch.since < silence:
                continue
            if _asked_in_time(watch.answer_lost, now - watch.since,
                              max(silence, PROBE_SECONDS)):
                with self._lock:
                    if key in self._watches:  # its statement has not returned meanwhile
                        watch.cut()
            else:
                watch.since = time.monotonic()  # alive: look again after another silence


def _asked_in_time(answer_lost: Callable[[float], bool], waited: float, patience: float
                   ) -> bool:
    """``answer_lost(waited)``, or True when it has no answer itself within ``patience``.

    The question goes to the same server over a new connection, which a frozen
    server can accept and then never answer: it is asked from a thread of its
    own, abandoned (it ends when the server wakes) if it takes too long.
    """
    verdict: list[bool] = []

    def ask() -> None:
        try:
            verdict.append(answer_lost(waited))
        except Exception:
            verdict.append(True)

    asking = threading.Thread(target=ask, daemon=True, name="comet_optimize silence probe")
    asking.start()
    asking.join(patience)
    return verdict[0] if verdict else True


watchdog = Watchdog()
