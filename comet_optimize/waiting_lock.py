"""A re-entrant lock that knows which threads are waiting for it.

A signal handler runs in the main thread between two bytecodes, and also in the
middle of that thread's wait for a lock. A handler that asks for the same lock
there waits inside the first wait; the next signal runs it again inside its own
wait, and so on: a timer that logs every few milliseconds while another thread
holds the optimizer reached the recursion limit. Whoever asks for the lock can
tell that its thread is already waiting for it (`waiting_here`) and leave the
work for later; ``on_free`` runs when a thread lets go of the lock entirely, so
that work is done as soon as the interrupted wait has had its turn, whatever that
wait was for (a decision, a status, a fork).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class WaitingLock:
    """``threading.RLock``, plus which threads are blocked in ``acquire``."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting: dict[int, int] = {}  # thread id -> nested waits
        self._held: dict[int, int] = {}  # thread id -> depth of its hold
        self.on_free: Callable[[], None] | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.get_ident()
        if not blocking:
            got = self._lock.acquire(False)
        else:
            self._waiting[me] = self._waiting.get(me, 0) + 1
            try:
                got = self._lock.acquire(True, timeout)
            finally:
                left = self._waiting.get(me, 1) - 1
                if left:
                    self._waiting[me] = left
                else:
                    self._waiting.pop(me, None)
        if got:
            self._held[me] = self._held.get(me, 0) + 1
        return got

    def release(self) -> bool:
        """Let go once; True when this thread no longer holds the lock at all."""
        me = threading.get_ident()
        left = self._held.get(me, 1) - 1
        if left:
            self._held[me] = left
        else:
            self._held.pop(me, None)
        self._lock.release()
        return not left

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, error_type: object, *_: object) -> None:
        if self.release() and error_type is None and self.on_free is not None \
                and not self.waiting_here():
            self.on_free()

    def waiting_here(self) -> bool:
        """Whether this thread is inside a wait for this lock (so: in a signal handler)."""
        return threading.get_ident() in self._waiting
