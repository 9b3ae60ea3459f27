"""Is the worker that holds an assignment still alive?

A worker is named by its host, process id and process start time: the start
time guards against the process id having been reused by another program.
On this host the answer is exact; for another host we cannot tell yet (a
heartbeat lease is the store's job), so such assignments stay running.
"""

from __future__ import annotations

import os
import socket
import time

_identity: tuple[int, tuple[str, int, float]] | None = None
_alive_cache: dict[tuple[int, float], float] = {}
_ALIVE_CACHE_SECONDS = 1.0


def _start_time(pid: int) -> float | None:
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped
                return None
            return round(process.create_time(), 2)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def this_process() -> tuple[str, int, float]:
    """(host, pid, start time) of the calling process; recomputed after a fork."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, (socket.gethostname(), pid, _start_time(pid) or 0.0))
    return _identity[1]


def is_dead(host: str, pid: int, start: float) -> bool:
    """True only when we are sure: same host, and the process is gone or was replaced."""
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return round(start, 2) != this_process()[2]
    now = time.monotonic()
    checked = _alive_cache.get((pid, start))
    if checked is not None and now - checked < _ALIVE_CACHE_SECONDS:
        return False
    actual = _start_time(pid)
    if actual is None or abs(actual - start) > 0.015:
        _alive_cache.pop((pid, start), None)
        return True
    _alive_cache[(pid, start)] = now
    return False
