"""The embedded store: one folder per optimizer, an append-only JSON-lines journal.

Layout under the store root (directories 0700)::

    <root>/<optimizer id>/config.json     written once, atomically
    <root>/<optimizer id>/journal.jsonl   one event per line, appended under a lock
    <root>/<optimizer id>/logs/           per-worker logs of the launcher
    <root>/<optimizer id>/heartbeats/     one file per worker process, touched while it lives

Every decision that depends on the journal (which parameter set to hand out
next) is taken while holding an exclusive ``flock`` on the journal, after
reading whatever other processes appended since this process last looked.
Appends are a single ``write`` on an ``O_APPEND`` descriptor followed by
``fdatasync``, so a crash leaves at worst one torn last line; readers only
consume complete lines, and the next writer seals a torn fragment with a
newline so that it is skipped rather than glued onto a valid event.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

from comet_optimize.errors import OptimizerException

SCHEMA_VERSION = 1
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def new_optimizer_id() -> str:
    return uuid.uuid4().hex


def is_optimizer_id(text: str) -> bool:
    return isinstance(text, str) and _ID_PATTERN.fullmatch(text) is not None


def default_root() -> str:
    return os.environ.get("COMET_OPTIMIZE_STORE") or os.path.join(
        os.path.expanduser("~"), ".comet_optimize"
    )


def _make_private_dir(path: str) -> None:
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


class Journal:
    """One optimizer's event log: incremental reads, locked decide-and-append."""

    def __init__(self, path: str):
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise OptimizerException(f"{path}: cannot open the journal ({error.strerror})") \
                from None
        self._offset = 0  # bytes consumed: always just after a newline
        self._torn = False  # the bytes after _offset are an incomplete line
        self.skipped_lines = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call (complete lines only); no lock needed."""
        size = os.fstat(self._fd).st_size
        if size <= self._offset:
            self._torn = False
            return []
        data = os.pread(self._fd, size - self._offset, self._offset)
        end = data.rfind(b"\n") + 1
        self._torn = end < len(data)
        self._offset += end
        events = []
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.skipped_lines += 1  # a fragment sealed after a crash
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    @contextlib.contextmanager
    def locked(self) -> Iterator[list[dict[str, Any]]]:
        """Hold the exclusive lock; yield the events others appended meanwhile."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield self.read_new()
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append events durably. Call only inside `locked`, after its read."""
        if not events:
            return
        payload = "".join(
            json.dumps({"v": SCHEMA_VERSION, **event}, separators=(",", ":")) + "\n"
            for event in events
        ).encode()
        if self._torn:
            payload = b"\n" + payload
            self._torn = False
        written = os.write(self._fd, payload)
        while written < len(payload):  # a short write: finish it, still under the lock
            written += os.write(self._fd, payload[written:])
        os.fdatasync(self._fd)
        self._offset = os.fstat(self._fd).st_size


class FileStore:
    """The folder that holds every optimizer of one store root."""

    def __init__(self, root: str | None = None):
        self.root = os.path.abspath(os.path.expanduser(root or default_root()))

    def __repr__(self) -> str:
        return f"FileStore({self.root!r})"

    def folder(self, optimizer_id: str) -> str:
        if not is_optimizer_id(optimizer_id):
            raise OptimizerException(
                f"invalid optimizer id {optimizer_id!r} (expected 32 lowercase hex characters)"
            )
        return os.path.join(self.root, optimizer_id)

    def exists(self, optimizer_id: str) -> bool:
        return os.path.isfile(os.path.join(self.folder(optimizer_id), "config.json"))

    def create(self, optimizer_id: str, config: dict[str, Any]) -> None:
        """Write the config atomically; the optimizer exists once config.json does."""
        folder = self.folder(optimizer_id)
        try:
            _make_private_dir(self.root)
            _make_private_dir(folder)
            tmp = os.path.join(folder, "config.json.tmp")
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(config, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            open(os.path.join(folder, "journal.jsonl"), "ab").close()
            os.replace(tmp, os.path.join(folder, "config.json"))
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as error:
            raise OptimizerException(
                f"cannot write to the store {self.root} ({error.strerror})"
            ) from None

    def read_config(self, optimizer_id: str) -> dict[str, Any]:
        path = os.path.join(self.folder(optimizer_id), "config.json")
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            raise OptimizerException(
                f"unknown optimizer id {optimizer_id} (not found in the store {self.root})"
            ) from None
        except (OSError, ValueError) as error:
            raise OptimizerException(f"{path}: cannot read the stored config ({error})") \
                from None

    def journal(self, optimizer_id: str) -> Journal:
        return Journal(os.path.join(self.folder(optimizer_id), "journal.jsonl"))

    def heartbeat_folder(self, optimizer_id: str) -> str:
        """Where workers on other hosts prove they are alive (see `liveness`)."""
        return os.path.join(self.folder(optimizer_id), "heartbeats")

    def log_folder(self, optimizer_id: str) -> str:
        path = os.path.join(self.folder(optimizer_id), "logs")
        _make_private_dir(path)
        return path

    def list_ids(self) -> list[str]:
        """Optimizer ids in this store, oldest first."""
        try:
            names = os.listdir(self.root)
        except FileNotFoundError:
            return []
        ids = [n for n in names if is_optimizer_id(n) and self.exists(n)]
        return sorted(ids, key=lambda i: os.path.getmtime(
            os.path.join(self.root, i, "config.json")))
