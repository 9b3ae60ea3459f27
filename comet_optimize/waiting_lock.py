"""A re-entrant lock that knows which threads are waiting for it.

A signal handler runs in the main thread between two bytecodes, and also in the
middle of that thread's wait for a lock. A handler that asks for the same lock
there waits inside the first wait; the next signal runs it again inside its own
wait, and so on: a timer that logs every few milliseconds while another thread
holds the optimizer reached the recursion limit. Whoever asks for the lock can
tell that its thread is already waiting for it (`waiting_here`) and leave the
work to that wait, which does it once it has the lock.
"""

from __future__ import annotations

import threading


class WaitingLock:
    """``threading.RLock``, plus which threads are blocked in ``acquire``."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting: dict[int, int] = {}  # thread id -> nested waits

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking:
            return self._lock.acquire(False)
        me = threading.get_ident()
        self._waiting[me] = self._waiting.get(me, 0) + 1
        try:
            return self._lock.acquire(True, timeout)
        finally:
            left = self._waiting.get(me, 1) - 1
            if left:
                self._waiting[me] = left
            else:
                self._waiting.pop(me, None)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self._lock.release()

    def waiting_here(self) -> bool:
        """Whether this thread is inside a wait for this lock (so: in a signal handler)."""
        return threading.get_ident() in self._waiting
