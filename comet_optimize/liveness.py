"""Is the worker that holds an assignment still alive?

A worker is named by its host, process id and process start time: the start
time guards against the process id having been reused by another program.
On this host the answer is exact; for another host we cannot tell yet (a
heartbeat lease is the store's job), so such assignments stay running.

On Linux the check reads ``/proc/<pid>/stat`` directly (about ten
microseconds), because it runs for every running assignment on every
suggestion; elsewhere it asks psutil.
"""

from __future__ import annotations

import os
import socket

_identity: tuple[int, tuple[str, int, float]] | None = None
_boot_time: float | None = None
_HOST = socket.gethostname()


def _proc_start_time(pid: int) -> float | None:
    """Start time from /proc; None if the process is gone or a zombie."""
    global _boot_time
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):  # killed and not yet reaped, or dead
        return None
    if _boot_time is None:
        import psutil

        _boot_time = psutil.boot_time()
    return round(_boot_time + int(fields[19]) / os.sysconf("SC_CLK_TCK"), 2)


def _psutil_start_time(pid: int) -> float | None:
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return round(process.create_time(), 2)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


_start_time = _proc_start_time if os.path.exists("/proc/self/stat") else _psutil_start_time


def this_process() -> tuple[str, int, float]:
    """(host, pid, start time) of the calling process; recomputed after a fork."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, (_HOST, pid, _start_time(pid) or 0.0))
    return _identity[1]


def is_dead(host: str, pid: int, start: float) -> bool:
    """True only when we are sure: same host, and the process is gone or was replaced."""
    if host != _HOST:
        return False
    if pid == os.getpid():
        return abs(start - this_process()[2]) > 0.015
    actual = _start_time(pid)
    return actual is None or abs(actual - start) > 0.015
