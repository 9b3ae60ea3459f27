"""The embedded store: one folder per optimizer, an append-only JSON-lines journal.

Layout under the store root::

    <root>/<optimizer id>/config.json     written once, atomically
    <root>/<optimizer id>/journal.jsonl   one event per line, appended under a lock
    <root>/<optimizer id>/logs/           per-worker logs of the launcher
    <root>/<optimizer id>/heartbeats/     one file per worker process, touched while it lives

Folders the store creates are 0700 and its files 0600; a root that already
exists keeps its mode (it may be a shared or a project folder: it is not ours).

Every decision that depends on the journal (which parameter set to hand out
next) is taken while holding an exclusive ``flock`` on the journal, after
reading whatever other processes appended since this process last looked.
Appends are a single ``write`` on an ``O_APPEND`` descriptor, so a crash
leaves at worst one torn last line; readers only consume complete lines, and
the next writer seals a torn fragment with a newline so that it is skipped
rather than glued onto a valid event.

The ``fdatasync`` that makes an append durable runs after the lock is
released, before `Journal.locked` returns (as the PostgreSQL store flushes its
log outside its lock): a flush costs 0.5-4 ms on a virtual disk, and inside
the lock it capped a search at one decision per flush. Nothing is weakened:
``fdatasync`` flushes the whole file, so a process that read our events and
appended after them has made ours durable by the time its own flush returns,
and no process tells its caller about a decision before its own flush. After
a crash of the machine the journal thus holds a prefix of what was written,
never a later event without an earlier one.

Readers (``status``, ``list``, ``export``) never take the lock and open the
journal read-only, so a stopped writer cannot freeze them and a read-only
copy of a store can be inspected.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn

from comet_optimize import echo, jsontext, messages, safe_files
from comet_optimize import events as events_schema
from comet_optimize.errors import OptimizerException
from comet_optimize.events import parse_event, parse_json
from comet_optimize.settings import seconds_from_env
from comet_optimize.store.base import MAX_EVENT_BYTES, Damage, JournalGone

SCHEMA_VERSION = events_schema.SCHEMA_VERSION  # the newest an event may have
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
LOCK_WAIT_WARNING_SECONDS = 5.0  # COMET_OPTIMIZE_LOCK_WARNING overrides it


DISK_FULL_WAIT_SECONDS = 120.0  # COMET_OPTIMIZE_DISK_WAIT overrides it
# Reads go in bounded pieces: a journal ending in gigabytes of garbage without a
# newline must not be held in memory (nor re-read on every call).
READ_CHUNK_BYTES = 4 << 20
MAX_LINE_BYTES = 2 * MAX_EVENT_BYTES
_TOO_LONG = f"a line over {MAX_LINE_BYTES >> 20} MiB, not an event"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_ASCII_SPACE = " \t\n\r\x0b\x0c"  # what bytes.strip() strips (str.strip() strips more)


def _disk_wait_seconds() -> float:
    return seconds_from_env("COMET_OPTIMIZE_DISK_WAIT", DISK_FULL_WAIT_SECONDS,
                            zero_allowed=True)


def _lock_warning_seconds() -> float:
    return seconds_from_env("COMET_OPTIMIZE_LOCK_WARNING", LOCK_WAIT_WARNING_SECONDS,
                            zero_allowed=True)


def new_optimizer_id() -> str:
    return uuid.uuid4().hex


def is_optimizer_id(text: str) -> bool:
    return isinstance(text, str) and _ID_PATTERN.fullmatch(text) is not None


def check_optimizer_id(optimizer_id: Any) -> None:
    """Refuse anything but an optimizer id before it names a folder or a row."""
    if not is_optimizer_id(optimizer_id):
        raise OptimizerException(f"invalid optimizer id {echo.show(optimizer_id)} "
                                 f"(expected 32 lowercase hex characters)")


def default_root() -> str:
    return os.environ.get("COMET_OPTIMIZE_STORE") or os.path.join(
        os.path.expanduser("~"), ".comet_optimize"
    )


def expand_root(location: str) -> str:
    """An absolute store path; ``~user`` must name a real user (never a literal folder)."""
    if location.startswith("~"):
        expanded = os.path.expanduser(location)
        if expanded.startswith("~"):
            user = location[1:].split("/", 1)[0]
            raise OptimizerException(
                f"store {location!r}: there is no user {user!r} to expand '~{user}' for")
        location = expanded
    return os.path.abspath(location)


def _make_private_dir(path: str, link_allowed: bool = False) -> None:
    """Create ``path`` (0700) if missing; never change the mode of one that exists.

    Only the store's root may be a symbolic link (to a bigger disk, say): a link
    inside a search would lead its writes out of it (`safe_files.make_folders`).
    """
    if not link_allowed:
        safe_files.make_folders(os.path.dirname(path), os.path.basename(path))
        return
    try:
        os.mkdir(path, 0o700)
    except FileExistsError as error:
        if not os.path.isdir(path):
            error.strerror = "it exists and is not a folder"
            raise
        return
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


_warn = messages.warning


def _lock_holders(fd: int) -> list[int]:
    """Processes holding a lock on the file behind ``fd``, from /proc/locks (Linux)."""
    info = os.fstat(fd)
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    holders = []
    try:
        with open("/proc/locks") as handle:
            for line in handle:
                fields = line.split()
                if "->" in fields or len(fields) < 6:
                    continue  # a waiter, not a holder
                if fields[5] == wanted:
                    holders.append(int(fields[4]))
    except (OSError, ValueError):
        pass
    return holders


class _LockWatch:
    """One thread per process that says when a writer has waited long for the lock.

    Blocking in ``flock`` is the fastest way to wait; this watcher makes a long
    wait visible (once per wait) without a timer per decision.
    """

    def __init__(self) -> None:
        self._waits: dict[int, tuple[float, Journal]] = {}
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def waiting(self, journal: Journal) -> int:
        token = id(journal) ^ threading.get_ident()
        with self._guard:
            self._waits[token] = (time.monotonic(), journal)
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._watch, daemon=True,
                                                name="comet-optimize-lock-watch")
                self._thread.start()
        return token

    def done(self, token: int) -> None:
        with self._guard:
            self._waits.pop(token, None)

    def _watch(self) -> None:
        said: set[int] = set()
        limit = _lock_warning_seconds()
        while True:
            time.sleep(min(1.0, limit / 4))
            now = time.monotonic()
            with self._guard:
                waits = list(self._waits.items())
            said &= {token for token, _ in waits}
            for token, (since, journal) in waits:
                if token not in said and now - since > limit:
                    said.add(token)
                    journal.say_who_holds_the_lock(now - since)


_lock_watch = _LockWatch()


class Journal:
    """One optimizer's event log: incremental reads, locked decide-and-append.

    Belongs to one process: after ``fork`` the child notices its new pid and opens
    its own descriptor, since a descriptor inherited from the parent shares the
    parent's lock and would let the two write at once.
    """

    def __init__(self, path: str, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self._fd = -1
        self._pid = 0
        self._identity: tuple[int, int] | None = None  # the file opened first, for good
        self._open()
        self._offset = 0  # bytes consumed: just after a newline, unless _skipping
        self._torn = False  # the bytes after _offset are an incomplete line
        self._skipping = False  # _offset is inside a line too long to be an event,
        self._skip_from = 0  # which began here
        self._unsynced = False  # appended under the lock, flushed once it is released
        self.damage: list[Damage] = []

    def _open(self) -> None:
        flags = os.O_RDONLY if self.readonly else os.O_RDWR | os.O_APPEND | os.O_CREAT
        try:
            self._fd = safe_files.open_plain(self.path, flags)
            info = os.fstat(self._fd)
        except OSError as error:
            raise OptimizerException(
                f"{self.path}: cannot open the journal ({error.strerror})") from None
        identity = (info.st_dev, info.st_ino)
        if self._identity not in (None, identity):
            # Reopened (after a fork, or a script closing our descriptor) to find another
            # file: what we have read and where we are in it belong to the one we opened.
            os.close(self._fd)
            self._fd = -1
            self._refuse_a_replaced_journal()
        self._identity = identity
        self._pid = os.getpid()

    def _check_still_at_path(self) -> None:
        """Stop when the journal's name no longer leads to the file we hold.

        A sync tool, a restore from backup or a clean-up may move, delete or replace
        the journal while the search runs: appending to the file we hold would then
        record results where no reader looks, and our lock would no longer exclude
        those who open the new file.
        """
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except OSError:
            self._refuse_a_replaced_journal()
        if (named.st_dev, named.st_ino) != self._identity:
            self._refuse_a_replaced_journal()

    def _refuse_a_replaced_journal(self) -> NoReturn:
        raise JournalGone(
            f"{self.path}: the journal was moved, deleted or replaced while this process used "
            f"it; nothing more is recorded by this process (put the original file back, or "
            f"resume the search from what the journal now holds)")

    def _ours(self) -> os.stat_result | None:
        """The journal's status through our descriptor, or None when the number is no
        longer the journal: the script may have closed it (a daemonizing library closes
        every descriptor) and opened a file of its own there. Never write to that."""
        try:
            info = os.fstat(self._fd)
        except OSError:
            return None
        return info if (info.st_dev, info.st_ino) == self._identity else None

    def _own_descriptor(self) -> tuple[int, os.stat_result]:
        """This process's descriptor of the journal, and its status (size included)."""
        if self._pid != os.getpid():  # a forked child: never use the parent's descriptor
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._open()
        info = self._ours()
        if info is None:
            self._open()  # the old number is someone else's now: left alone
            info = os.fstat(self._fd)
        return self._fd, info

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid() and self._ours() is not None:
            os.close(self._fd)
        self._fd = -1

    def __del__(self) -> None:
        # A script may make an Optimizer per experiment: each one's descriptor goes with
        # it, or a long run reaches the limit of open files.
        with contextlib.suppress(Exception):
            self.close()

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call (complete lines only); no lock needed.

        Each event carries ``_at``, its byte offset, for error messages. A line
        that is not an event is recorded in `damage` and skipped; NUL bytes that a
        crash left before a line are damage too, and the event after them is kept.
        """
        events: list[dict[str, Any]] = []
        return self._parse(*self._read_lines(events), events)

    def _read_lines(self, events: list[dict[str, Any]] | None = None
                    ) -> tuple[list[tuple[bytes, int]], list[Damage]]:
        """The complete lines appended since the last read, and the damage seen on the
        way; the position moves past them. Parsed into ``events`` piece by piece (a
        long read never holds more than a piece of bytes), or, without ``events``,
        returned as (bytes, offset) pieces for `_parse`: a writer reads under its lock
        and parses after it."""
        fd, info = self._own_descriptor()
        size = info.st_size
        pieces: list[tuple[bytes, int]] = []
        damage: list[Damage] = []
        if size <= self._offset:
            self._torn = self._skipping
            return pieces, damage
        data = b""
        while self._offset < size:
            del data  # free the previous piece before reading the next
            data = os.pread(fd, min(size - self._offset, READ_CHUNK_BYTES + MAX_LINE_BYTES),
                            self._offset)
            if not data:
                break
            if self._skipping:  # inside a line too long to be an event: drop up to its end
                newline = data.find(b"\n")
                if newline < 0:
                    self._offset += len(data)
                    continue
                self._skipping = False
                self._offset += newline + 1
                self._measure_the_skipped_line(damage)
                continue
            end = data.rfind(b"\n") + 1
            if end == 0:
                if len(data) > MAX_LINE_BYTES:  # no event is this long: damage, skipped
                    damage.append(Damage(self._offset, len(data), _TOO_LONG))
                    self._skip_from = self._offset
                    self._skipping = True
                    self._offset += len(data)
                    continue
                break  # an incomplete last line: read again once it is whole
            if events is None:
                pieces.append((data[:end] if end < len(data) else data, self._offset))
            else:
                self._parse_lines(data[:end], self._offset, events, damage)
            self._offset += end
        self._torn = self._skipping or self._offset < size
        return pieces, damage

    def _parse(self, pieces: list[tuple[bytes, int]], damage: list[Damage],
               events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        events = [] if events is None else events
        for data, position in pieces:
            self._parse_lines(data, position, events, damage)
        self.damage.extend(damage)
        return events

    def _measure_the_skipped_line(self, damage: list[Damage]) -> None:
        """The damage a skip recorded when it began (in this read or an earlier one) gets
        the whole line's length."""
        found = damage if damage and damage[-1].offset == self._skip_from else self.damage
        found[-1] = Damage(self._skip_from, self._offset - 1 - self._skip_from, _TOO_LONG)

    def _parse_lines(self, data: bytes, position: int, events: list[dict[str, Any]],
                     damage: list[Damage]) -> None:
        """Every worker parses every event of its search, so the read is decoded once, as
        latin-1 (a character per byte: offsets stay byte offsets), and an ASCII line (every
        line our writers write: JSON escapes the rest) goes to `events.parse_event`; any
        other line is parsed from its bytes, as UTF-8, by `jsontext.parse`."""
        refuse = self._refuse_a_newer_schema
        for line in data.decode("latin-1").split("\n")[:-1]:
            at = position
            position += len(line) + 1
            body = line.lstrip("\0")
            if len(body) < len(line):
                damage.append(Damage(at, len(line) - len(body), "NUL bytes"))
                at += len(line) - len(body)
            if not body.strip(_ASCII_SPACE):
                continue
            if len(body) > MAX_LINE_BYTES:
                damage.append(Damage(at, len(body), _TOO_LONG))
                continue
            try:
                event = (parse_event(body) if body.isascii()
                         else parse_json(body.encode("latin-1")))
            except ValueError:
                event = None
            if type(event) is not dict:
                damage.append(Damage(at, len(body), "not a JSON event"))
                continue
            version = event.get("v")
            if version != 1 and version != SCHEMA_VERSION:
                refuse(version, at)
            event["_at"] = at
            events.append(event)

    def _refuse_a_newer_schema(self, version: Any, at: int) -> None:
        """An event a newer comet_optimize wrote may mean something this one cannot
        know: stop rather than misread it (every call, until upgraded)."""
        if events_schema.newer_schema(version):
            raise OptimizerException(
                f"{self.path}: written by a newer comet_optimize (an event of journal schema "
                f"{version} at byte {at}; this version reads schema {SCHEMA_VERSION}): "
                f"upgrade comet_optimize wherever this store is used")

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[dict[str, Any]]]:
        """Hold the exclusive lock; yield the events others appended meanwhile."""
        if self.readonly:
            raise OptimizerException(f"{self.path}: opened read-only, cannot record anything")
        fd, _ = self._own_descriptor()
        self._take_lock(fd)
        try:
            self._check_still_at_path()
            yield self.read_new()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            if self._unsynced:
                self._sync(fd)

    def _take_lock(self, fd: int) -> None:
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                token = _lock_watch.waiting(self)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                finally:
                    _lock_watch.done(token)
        except OSError as error:
            raise _cannot_lock(self.path, error) from None

    def _sync(self, fd: int) -> None:
        """Make what `append` wrote durable (outside the lock: see the module docstring)."""
        self._unsynced = False
        try:
            os.fdatasync(fd)
        except OSError as error:
            # Too late to take the events back (others may have read them and appended):
            # say that they may not survive a crash of the machine.
            raise OptimizerException(
                f"{self.path}: cannot flush the journal to disk ({error.strerror}); the last "
                f"events may be lost if the machine crashes") from None

    def say_who_holds_the_lock(self, waited: float) -> None:
        holders = [pid for pid in _lock_holders(self._fd) if pid != os.getpid()]
        who = (f"process {', '.join(map(str, holders))} on this host" if holders
               else "another process (perhaps on another host)")
        _warn(f"waited {waited:.0f} s for the lock of {self.path}, held by {who}; "
              f"still waiting (is that process stopped?)")

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append events; durable once `locked` returns. Call only inside `locked`, after
        its read."""
        if not events:
            return
        payload = encode_events(events)
        if self._torn:
            payload = b"\n" + payload
        fd, info = self._own_descriptor()
        start = info.st_size  # the end: nobody else writes while we hold the lock
        deadline = None
        while True:
            try:
                _write_all(fd, payload)
                break
            except OSError as error:
                # Nothing half-written stays behind: the journal ends where it ended.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                if error.errno not in _DISK_FULL:
                    raise OptimizerException(
                        f"{self.path}: cannot append to the journal ({error.strerror})"
                    ) from None
                # A full disk is often freed soon (a checkpoint deleted, a quota
                # raised): wait for it rather than lose the result in hand.
                now = time.monotonic()
                if deadline is None:
                    wait = _disk_wait_seconds()
                    deadline = now + wait
                    _warn(f"{self.path}: cannot append to the journal ({error.strerror}); "
                          f"retrying for up to {wait:.0f} s (COMET_OPTIMIZE_DISK_WAIT) so that "
                          f"nothing is lost: free some space")
                if now >= deadline:
                    raise OptimizerException(
                        f"{self.path}: cannot append to the journal ({error.strerror}), "
                        f"still after waiting for space") from None
                time.sleep(min(1.0, deadline - now))
        self._torn = self._skipping = False
        self._unsynced = True
        self._offset = os.fstat(fd).st_size

    def write(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append events that need no decision; what others appended before them (durable
        when this returns, as after `locked`). What others appended is read under the
        lock but parsed after it: nothing here depends on it."""
        if self.readonly:
            raise OptimizerException(f"{self.path}: opened read-only, cannot record anything")
        fd, _ = self._own_descriptor()
        self._take_lock(fd)
        try:
            self._check_still_at_path()
            before = self._read_lines()
            self.append(events)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            if self._unsynced:
                self._sync(fd)
        return self._parse(*before)


def _write_all(fd: int, payload: bytes) -> None:
    written = os.write(fd, payload)
    while written < len(payload):  # a short write: finish it, still under the lock
        written += os.write(fd, payload[written:])


def encode_events(events: list[dict[str, Any]]) -> bytes:
    """JSON lines, strict (no NaN tokens, no objects json does not know)."""
    try:
        return "".join(
            jsontext.line({"v": events_schema.schema_of(event), **event}) + "\n"
            for event in events
        ).encode()
    except (TypeError, ValueError) as error:
        raise OptimizerException(f"cannot record an event: {error}") from None


def _cannot_lock(path: str, error: OSError) -> Exception:
    """What a failed ``flock`` means. An NFS mount whose lock service is not running
    answers ENOLCK ("No locks available"); some network and FUSE file systems have no
    flock at all. Without the lock, workers would overwrite each other's decisions."""
    if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
        return error
    return OptimizerException(
        f"{path}: the file system cannot lock files ({error.strerror}), and a folder store "
        f"needs that lock to keep workers from overwriting each other: put the store on a "
        f"local disk (--store), or use a PostgreSQL store")


def _search_folder_around(root: str) -> str | None:
    """The search folder that is, or holds, this store root, if one does.

    A search's folder holds its own files (config, journal, heartbeats, logs,
    assets). People pass one as the store by mistake (the summary prints paths
    inside it); a search created there would change that search's folder.
    """
    folder = os.path.realpath(root)
    while True:
        if is_optimizer_id(os.path.basename(folder)) and all(
                os.path.isfile(os.path.join(folder, name))
                for name in ("journal.jsonl", "config.json")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


class FileStore:
    """The folder that holds every optimizer of one store root."""

    def __init__(self, root: str | None = None):
        self.root = expand_root(root or default_root())
        self.location = self.root

    def __repr__(self) -> str:
        return f"FileStore({self.root!r})"

    def folder(self, optimizer_id: str) -> str:
        check_optimizer_id(optimizer_id)
        return os.path.join(self.root, optimizer_id)

    def exists(self, optimizer_id: str) -> bool:
        return os.path.isfile(os.path.join(self.folder(optimizer_id), "config.json"))

    def check_locking(self) -> None:
        """Refuse at once a store on a file system that cannot lock files (see
        `_cannot_lock`), before anything is created: the store's folder, or the
        nearest one above it that exists, is locked and let go."""
        folder = self.root
        while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return  # unreadable: what is wrong with it is said when it is used
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            pass  # somebody holds it: locks work
        except OSError as error:
            raise _cannot_lock(self.root, error) from None
        finally:
            os.close(fd)

    def _prepare_root(self) -> None:
        existed = os.path.isdir(self.root)
        os.makedirs(os.path.dirname(self.root), exist_ok=True)
        _make_private_dir(self.root, link_allowed=True)
        if existed:
            mode = os.stat(self.root).st_mode
            if mode & (stat.S_IWGRP | stat.S_IWOTH):
                _warn(f"the store {self.root} is writable by other users "
                      f"(mode {stat.S_IMODE(mode):o}); its searches are private, it is not")

    def create(self, optimizer_id: str, config: dict[str, Any]) -> None:
        """Write the config atomically; the optimizer exists once config.json does."""
        folder = self.folder(optimizer_id)
        around = _search_folder_around(self.root)
        if around:
            raise OptimizerException(
                f"the store {self.root} is inside the folder of the search "
                f"{os.path.basename(around)}, which holds that search's own files only; "
                f"give the store that holds it ({os.path.dirname(around)}) or another folder")
        try:
            self._prepare_root()
            _make_private_dir(folder)
            tmp = os.path.join(folder, "config.json.tmp")
            if os.path.lexists(tmp):
                os.unlink(tmp)  # left by a crash, or planted: never written through
            fd = safe_files.open_plain(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            with open(fd, "w", encoding="utf-8") as handle:
                handle.write(jsontext.indented(config))
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.close(safe_files.open_plain(os.path.join(folder, "journal.jsonl"),
                                           os.O_WRONLY | os.O_CREAT))
            os.replace(tmp, os.path.join(folder, "config.json"))
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as error:
            raise OptimizerException(
                f"cannot write to the store {self.root} "
                f"({safe_files.describe(error)})") from None

    def read_config(self, optimizer_id: str) -> dict[str, Any]:
        path = os.path.join(self.folder(optimizer_id), "config.json")
        try:
            config = parse_json(safe_files.read_plain(path, MAX_EVENT_BYTES).decode("utf-8"))
        except FileNotFoundError:
            if os.path.isdir(os.path.dirname(path)):
                raise OptimizerException(
                    f"{os.path.dirname(path)}: this search was never fully created "
                    f"(it has no config.json)") from None
            raise OptimizerException(
                f"unknown optimizer id {optimizer_id} (not found in the store {self.root})"
            ) from None
        except OSError as error:
            raise OptimizerException(
                f"{path}: cannot read the stored config ({error.strerror})") from None
        except ValueError as error:
            raise OptimizerException(
                f"{path}: cannot read the stored config ({str(error)[:80]})") from None
        if not isinstance(config, dict):
            raise OptimizerException(f"{path}: the stored config is not a JSON object")
        return config

    def journal(self, optimizer_id: str, readonly: bool = False) -> Journal:
        return Journal(os.path.join(self.folder(optimizer_id), "journal.jsonl"), readonly)

    # -- liveness

    def _heartbeat_folder(self, optimizer_id: str) -> str:
        return os.path.join(self.folder(optimizer_id), "heartbeats")

    def beat(self, optimizer_id: str, worker: str) -> None:
        folder = self._heartbeat_folder(optimizer_id)
        path = os.path.join(folder, worker)
        try:
            try:
                os.utime(path, follow_symlinks=False)
            except FileNotFoundError:
                _make_private_dir(folder)
                os.close(safe_files.open_plain(path, os.O_WRONLY | os.O_CREAT))
            if not safe_files.is_plain(path):  # a planted link: beat on a file of our own
                os.unlink(path)
                os.close(safe_files.open_plain(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except OSError as error:
            raise OptimizerException(
                f"cannot write the heartbeat {path} ({safe_files.describe(error)})") from None

    def lease_lapsed(self, optimizer_id: str, worker: str, lease: float,
                     assigned_at: float) -> bool:
        """Compares the worker's heartbeat with a file touched now, on the same file system.

        Both times come from the clock of whoever stamps the files (the file server
        for a network file system), so hosts whose clocks disagree still agree here.
        """
        folder = self._heartbeat_folder(optimizer_id)
        try:
            last = os.lstat(os.path.join(folder, worker)).st_mtime
        except OSError:
            return time.time() - assigned_at > lease  # never beat: from the assignment
        clock = os.path.join(folder, ".clock")
        try:
            self.beat(optimizer_id, ".clock")
            now = os.lstat(clock).st_mtime
        except (OSError, OptimizerException):
            now = time.time()
        return now - last > lease

    def log_folder(self, optimizer_id: str) -> str:
        path = os.path.join(self.folder(optimizer_id), "logs")
        try:
            _make_private_dir(path)
        except OSError as error:
            raise OptimizerException(
                f"cannot make the folder for the workers' logs ({safe_files.describe(error)})"
            ) from None
        return path

    def list_ids(self) -> list[str]:
        """Optimizer ids in this store, oldest first."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        ids = []
        for name in names:
            if not is_optimizer_id(name):
                continue
            try:
                ids.append((os.path.getmtime(os.path.join(self.root, name, "config.json")),
                            name))
            except OSError:
                ids.append((0.0, name))  # half-created: listed, `status` says what is wrong
        return [name for _, name in sorted(ids)]
