"""Is the worker that holds an assignment still alive?

A worker is named by where it runs and which process it is (`Worker`). Two
ways of telling, and we only ever declare a worker dead when we are sure:

* **Exactly**, when it runs under the same kernel and in the same PID
  namespace as we do (same host name, same boot id, same ``/proc/self/ns/pid``
  inode): its process id is looked up in ``/proc`` and its start time, in
  clock ticks since boot, must match. Ticks since boot never move when the
  wall clock is stepped (NTP), and the boot id tells a reboot apart. This runs
  for every running assignment on every suggestion, so after the first
  look (``/proc``) it is one ``poll`` of a pidfd held open for that process
  (a microsecond or two; `_ProcessWatch`).
* **By lease**, for everything else (another host, another PID namespace such
  as a container, a rebooted kernel): the worker's process keeps a heartbeat
  in the store fresh every `heartbeat_seconds`, and its assignments are
  failed once it has not beaten for the lease (`LEASE_SECONDS`, or
  ``COMET_OPTIMIZE_LEASE``). The store judges staleness by one clock only.

What the lease means: a worker that cannot beat for longer than the lease
(stopped with SIGSTOP, a debugger, a suspended VM, a cut network) is
presumed dead and its experiments may be re-assigned. If it was merely slow
and comes back, its late result is still recorded (an ``update`` event, see
`comet_optimize.state`), so a lease can cost duplicate work but never a result.
Workers on the same host and namespace are never judged by the lease.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from dataclasses import dataclass

from comet_optimize.settings import seconds_from_env

HEARTBEAT_SECONDS = 20.0
LEASE_SECONDS = 180.0


@dataclass(frozen=True)
class Worker:
    """Who holds an assignment; recorded with it in the journal."""

    host: str
    pid: int
    start: int  # start time in clock ticks since boot (Linux); centiseconds elsewhere
    boot: str  # the kernel's boot id ("" where unknown)
    pidns: int  # inode of the PID namespace (0 where unknown)

    @property
    def name(self) -> str:
        """Unique across hosts, reboots and namespaces: names its heartbeat."""
        ns = f"-{self.pidns}" if self.pidns else ""
        return f"{self.host}-{self.pid}-{self.start}{ns}"

    def to_event(self) -> dict:
        return {"host": self.host, "process": self.pid, "process_start": self.start,
                "boot": self.boot, "pidns": self.pidns}

    @classmethod
    def from_event(cls, event: dict) -> Worker:
        start = event.get("process_start", 0)
        return cls(host=str(event.get("host", "")), pid=int(event.get("process", 0)),
                   start=int(start) if isinstance(start, int) else -1,
                   boot=str(event.get("boot", "")), pidns=int(event.get("pidns", 0) or 0))


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _pidns() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


_HAS_PROC = os.path.exists("/proc/self/stat")
_BOOT_ID = _read("/proc/sys/kernel/random/boot_id")
_HOST = socket.gethostname()
_identity: tuple[int, Worker] | None = None


def _proc_start_ticks(pid: int) -> int | None:
    """Start time in ticks since boot from /proc; None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):  # killed and not yet reaped, or dead
        return None
    return int(fields[19])


def _psutil_start(pid: int) -> int | None:
    import psutil

    try:
        process = psutil.Process(pid)
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return round(process.create_time() * 100)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


_start_of = _proc_start_ticks if _HAS_PROC else _psutil_start


def this_process() -> Worker:
    """The calling process; recomputed after a fork (a new pid, maybe a new namespace)."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, Worker(_HOST, pid, _start_of(pid) or 0, _BOOT_ID, _pidns()))
    return _identity[1]


def lease_seconds() -> float:
    """The lease from ``COMET_OPTIMIZE_LEASE`` (seconds), else the default."""
    return seconds_from_env("COMET_OPTIMIZE_LEASE", LEASE_SECONDS)


def heartbeat_seconds() -> float:
    return min(HEARTBEAT_SECONDS, lease_seconds() / 4)


def same_machine_view(worker: Worker) -> bool:
    """Can this process see ``worker``'s process directly (same kernel, same PID namespace)?"""
    me = this_process()
    return (worker.host == me.host and worker.boot == me.boot and bool(me.boot)
            and worker.pidns == me.pidns and worker.start >= 0)


def process_is_gone(worker: Worker) -> bool:
    """Exact answer for a worker `same_machine_view` can see."""
    if worker.pid == os.getpid():
        return worker.start != this_process().start
    return _watch.gone(worker.pid, worker.start)


def readable_now(fds: list[int]) -> list[int]:
    """Those of ``fds`` that are readable now (a pidfd: its process has ended; a socket:
    its answer has come).

    ``poll``, not ``select``: select refuses a descriptor numbered over 1,024, and a
    script holding that many files (data loaders, a raised ulimit) gets our handles
    numbered above them; every liveness check then raised ValueError inside a
    decision, and the worker died.
    """
    waiting = select.poll()
    for fd in fds:
        waiting.register(fd, select.POLLIN)
    return [fd for fd, _ in waiting.poll(0)]


class _ProcessWatch:
    """Process handles (pidfds) of the workers this process has asked about.

    Every decision asks about every running assignment, under the search's
    lock: with 64 workers, reading /proc/<pid>/stat each time (open, read,
    parse, close) cost about a millisecond per decision. A pidfd, opened once
    and checked against the start time right after, names that very process
    (never a later one with the same id); asking whether it has ended is one
    ``poll`` with no wait. Where pidfds are missing (before Linux 5.3, other
    systems), /proc (or psutil) is read each time, as before.

    The handle is only a number, and the script may close it (``os.closerange``
    in a daemonising library) and open something else at that number; a file
    is always "readable", which would make a live worker look dead. So each
    check first makes sure the number still holds the handle that was opened
    (its inode, which names the process on kernels with a pid file system, and
    its kind elsewhere), and otherwise forgets it and asks /proc.
    """

    LIMIT = 128  # handles kept open at most; beyond, the oldest half is closed

    def __init__(self) -> None:
        self.handles: dict[tuple[int, int], tuple[int, tuple[int, int]]] = {}
        self.usable = hasattr(os, "pidfd_open") and _HAS_PROC
        self.inode_names_process: bool | None = None  # a pid file system (Linux 6.9+)?

    def gone(self, pid: int, start: int) -> bool:
        key = (pid, start)
        entry = self.handles.get(key)
        if entry is None:
            entry = self._open(pid, start)
            if entry is None:
                return _start_of(pid) != start
            if entry[0] < 0:
                return True
        fd, identity = entry
        if not self._still_the_handle(fd, identity):
            del self.handles[key]  # not closed: that number belongs to someone else now
            return _start_of(pid) != start
        ended = readable_now([fd])
        if ended:
            del self.handles[key]
            os.close(fd)
        return bool(ended)

    def gone_many(self, processes: list[tuple[int, int]]) -> set[tuple[int, int]]:
        """`gone` for many (pid, start) at once: one ``poll`` over all their handles.

        Every decision asks about every running assignment, so with 64 workers this
        was 64 ``select`` calls (and the Python around each) per decision, inside the
        search's lock."""
        ended: set[tuple[int, int]] = set()
        watched: dict[int, tuple[int, int]] = {}  # fd -> (pid, start)
        for key in set(processes):
            entry = self.handles.get(key)
            if entry is None:
                entry = self._open(*key)
                if entry is None:
                    if _start_of(key[0]) != key[1]:
                        ended.add(key)
                    continue
                if entry[0] < 0:
                    ended.add(key)
                    continue
            fd, identity = entry
            if not self._still_the_handle(fd, identity):
                del self.handles[key]  # not closed: that number belongs to someone else now
                if _start_of(key[0]) != key[1]:
                    ended.add(key)
                continue
            watched[fd] = key
        if watched:
            for fd in readable_now(list(watched)):
                key = watched[fd]
                del self.handles[key]
                os.close(fd)
                ended.add(key)
        return ended

    def _still_the_handle(self, fd: int, identity: tuple[int, int]) -> bool:
        try:
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != identity:
                return False
            return bool(self.inode_names_process) or \
                os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[pidfd]"
        except OSError:
            return False

    def _open(self, pid: int, start: int) -> tuple[int, tuple[int, int]] | None:
        """A pidfd for exactly that process, with its identity; fd -1 if the process is
        gone; None to ask /proc instead."""
        if not self.usable:
            return None
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return -1, (0, 0)
        except OSError:
            self.usable = False
            return None
        if _start_of(pid) != start:  # the id now names another process (or a zombie)
            os.close(fd)
            return -1, (0, 0)
        # The kernel gave us this number fresh: a handle still filed under it was
        # closed behind our back.
        for stale in [k for k, (number, _) in self.handles.items() if number == fd]:
            del self.handles[stale]
        if len(self.handles) >= self.LIMIT:
            for old in list(self.handles)[: self.LIMIT // 2]:
                number, identity = self.handles.pop(old)
                if self._still_the_handle(number, identity):
                    os.close(number)
        info = os.fstat(fd)
        if self.inode_names_process is None:
            self.inode_names_process = _pidfd_inodes_differ(info.st_ino)
        self.handles[(pid, start)] = entry = (fd, (info.st_dev, info.st_ino))
        return entry


def _pidfd_inodes_differ(inode: int) -> bool:
    """Whether two processes' pidfds have different inodes (a pid file system)."""
    try:
        own = os.pidfd_open(os.getpid())
    except OSError:
        return False
    try:
        return os.fstat(own).st_ino != inode
    finally:
        os.close(own)


_watch = _ProcessWatch()


# -- heartbeats


class _Heartbeats:
    """One thread per process keeps every search this process works on alive.

    One thread, not one per search: with the PostgreSQL store, each store object
    of a URL shares one connection per process (see `store.postgres`), so the
    beats of all of a process's searches go through one connection.
    """

    def __init__(self) -> None:
        self.forget_parent()

    def forget_parent(self) -> None:
        """In a forked child: no thread of the parent's survives, and its guard may be held."""
        self.guard = threading.Lock()
        self.wake = threading.Event()  # a new search, or a new interval, to take into account
        self.pid = 0
        self.searches: dict[str, tuple[object, str]] = {}
        self.thread: threading.Thread | None = None

    def start(self, store, optimizer_id: str) -> None:
        key = f"{store.location}/{optimizer_id}"
        with self.guard:
            if self.pid != os.getpid():
                self.pid, self.searches, self.thread = os.getpid(), {}, None
            if key in self.searches:
                return
            store.beat(optimizer_id, this_process().name)  # before any assignment is recorded
            self.searches[key] = (store, optimizer_id)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True,
                                               name="comet-optimize-heartbeat")
                self.thread.start()
            else:
                self.wake.set()  # its lease (COMET_OPTIMIZE_LEASE) may be shorter

    def _run(self) -> None:
        pid = os.getpid()
        while True:
            if self.wake.wait(heartbeat_seconds()):
                self.wake.clear()
            with self.guard:
                if self.pid != pid:
                    return
                searches = list(self.searches.values())
            name = this_process().name
            for store, optimizer_id in searches:
                try:
                    store.beat(optimizer_id, name)
                except Exception:  # a store that went away: the lease lapses, as it should
                    pass


_heartbeats = _Heartbeats()
os.register_at_fork(after_in_child=_heartbeats.forget_parent)


def start_heartbeat(store, optimizer_id: str) -> None:
    """Keep this process's heartbeat for one search fresh until the process ends.

    Per process: a forked child has no threads of its parent's, so it starts its
    own heartbeat under its own name.
    """
    _heartbeats.start(store, optimizer_id)


def is_dead(worker: Worker, store, optimizer_id: str, assigned_at: float) -> bool:
    """True only when we are sure: the process is gone, or its lease lapsed."""
    if same_machine_view(worker):
        return process_is_gone(worker)
    return store.lease_lapsed(optimizer_id, worker.name, lease_seconds(), assigned_at)


def dead_among(held: list[tuple[Worker, float]], store, optimizer_id: str) -> list[bool]:
    """`is_dead` for each (worker, assigned_at), the local processes asked about at once.

    What a decision asks about every running assignment: this process's identity is
    taken once, and the kernel is asked about all the processes it can see in one
    ``poll`` (`_ProcessWatch.gone_many`); the others go by their lease, one by one.
    """
    me = this_process()
    local = [worker.host == me.host and worker.boot == me.boot and bool(me.boot)
             and worker.pidns == me.pidns and worker.start >= 0 for worker, _ in held]
    others = [(worker.pid, worker.start) for (worker, _), seen in zip(held, local)
              if seen and worker.pid != me.pid]
    ended = _watch.gone_many(others) if _watch.usable else None
    dead = []
    for (worker, assigned_at), seen in zip(held, local):
        if not seen:
            dead.append(store.lease_lapsed(optimizer_id, worker.name, lease_seconds(),
                                           assigned_at))
        elif worker.pid == me.pid or ended is None:
            dead.append(process_is_gone(worker))
        else:
            dead.append((worker.pid, worker.start) in ended)
    return dead
