"""Is the worker that holds an assignment still alive?

A worker is named by its host, process id and process start time: the start
time guards against the process id having been reused by another program.

* On this host the answer is exact: the process is looked up directly. On
  Linux that reads ``/proc/<pid>/stat`` (about ten microseconds), because it
  runs for every running assignment on every suggestion; elsewhere psutil.
* On another host (workers sharing a store over a network file system) a
  worker proves it is alive with a heartbeat: a daemon thread touches a file
  named after it every `HEARTBEAT_SECONDS`. Its assignments are failed once
  that file is older than the lease, `LEASE_SECONDS` (generous, since the
  hosts' clocks may disagree a little). ``COMET_OPTIMIZE_LEASE`` overrides it.
"""

from __future__ import annotations

import os
import socket
import threading
import time

HEARTBEAT_SECONDS = 20.0
LEASE_SECONDS = 180.0

_identity: tuple[int, tuple[str, int, float]] | None = None
_boot_time: float | None = None
_HOST = socket.gethostname()
_heartbeats: dict[str, threading.Thread] = {}
_heartbeat_lock = threading.Lock()


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


def heartbeat_name(host: str, pid: int, start: float) -> str:
    return f"{host}-{pid}-{start:.2f}"


def lease_seconds() -> float:
    try:
        return float(os.environ.get("COMET_OPTIMIZE_LEASE", LEASE_SECONDS))
    except ValueError:
        return LEASE_SECONDS


def start_heartbeat(folder: str) -> None:
    """Keep this process's heartbeat file in ``folder`` fresh until the process ends."""
    with _heartbeat_lock:
        thread = _heartbeats.get(folder)
        if thread is not None and thread.is_alive():
            return
        path = os.path.join(folder, heartbeat_name(*this_process()))
        interval = min(HEARTBEAT_SECONDS, lease_seconds() / 4)

        def beat() -> None:
            while True:
                try:
                    with open(path, "a"):
                        pass
                    os.utime(path)
                except OSError:
                    pass  # a store that went away: the lease lapses, as it should
                time.sleep(interval)

        os.makedirs(folder, mode=0o700, exist_ok=True)
        open(path, "a").close()  # the first beat, before any assignment is recorded
        thread = threading.Thread(target=beat, name="comet-optimize-heartbeat", daemon=True)
        thread.start()
        _heartbeats[folder] = thread


def is_dead(host: str, pid: int, start: float, heartbeat_folder: str | None = None,
            assigned_at: float | None = None) -> bool:
    """True only when we are sure: the process is gone, or its heartbeat lease lapsed."""
    if host != _HOST:
        if heartbeat_folder is None:
            return False
        lease = lease_seconds()
        path = os.path.join(heartbeat_folder, heartbeat_name(host, pid, start))
        try:
            last = os.stat(path).st_mtime
        except OSError:
            last = assigned_at  # no heartbeat yet: the lease runs from the assignment
        return last is not None and time.time() - last > lease
    if pid == os.getpid():
        return abs(start - this_process()[2]) > 0.015
    actual = _start_time(pid)
    return actual is None or abs(actual - start) > 0.015
