"""Opening the files of a search without being led outside it.

A search folder may come from somewhere else (a tarball from a colleague, a
shared disk), and a symbolic link planted at ``journal.jsonl`` or at a worker's
log would make an append land in ``~/.bashrc``; a FIFO planted there would make
a read wait forever. So every file a search owns is opened without following a
final symbolic link, without blocking, and refused unless it is a regular file;
the folders under an experiment are created the same way, one level at a time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import stat
import sys
import time


class NotAPlainFile(OSError):
    """A path inside a search that is a link, a FIFO, a device or a folder."""


def _refusal(path: str, what: str) -> NotAPlainFile:
    return NotAPlainFile(errno.EPERM, f"it is {what}, not a regular file", path)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISREG(mode):
        return "a file"
    return "an unknown kind of file"


def describe(error: OSError) -> str:
    """The reason, naming the file when it is one of ours that was refused."""
    if isinstance(error, NotAPlainFile):
        return f"{error.filename}: {error.strerror}"
    return error.strerror or str(error)


def open_plain(path: str, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that refuses a symbolic link or anything but a regular file.

    The open itself never blocks (a FIFO would otherwise wait for a writer), and
    the descriptor is handed back in blocking mode.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _refusal(path, "a symbolic link") from None
        if error.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise _refusal(path, "a FIFO") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(path, _kind(info.st_mode))
        _blocking(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_plain(path: str, max_bytes: int) -> bytes:
    """The whole content of a regular file (never a link, a FIFO or a device), refused
    when over ``max_bytes`` rather than held in memory."""
    fd = open_plain(path, os.O_RDONLY)
    with open(fd, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise NotAPlainFile(errno.EFBIG, f"it is over {max_bytes:,} bytes", path)
    return data


PIPE_READER_SECONDS = 10.0  # how long an output FIFO may wait for its reader to open it


def write_output(path: str, data: bytes) -> None:
    """Write a file the user named (``-d``, ``-o``, ``--report``): created or emptied; a
    pipe, once something reads it (``>(gzip > x)``, or ``cat FIFO`` started after us);
    our own stdout or stderr (``-d /dev/stdout``), written where it points.

    A FIFO nothing reads within ``PIPE_READER_SECONDS`` is refused rather than waited
    on for ever, after the search has run. ``/dev/stdout`` is not opened again: that
    truncated the file the launcher's output was redirected to, and all of it was lost.
    """
    stream = standard_stream(path)
    if stream is not None:
        for text in (sys.stdout, sys.stderr):  # what was printed before comes first
            with contextlib.suppress(Exception):
                text.flush()
        _write_all(stream, data)
        return
    deadline = time.monotonic() + PIPE_READER_SECONDS
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK
                         | os.O_CLOEXEC, 0o666)
            break
        except OSError as error:
            if error.errno != errno.ENXIO or not is_fifo(path):
                raise
            if time.monotonic() >= deadline:
                raise OSError(errno.ENXIO, f"a named pipe that nothing read within "
                                           f"{PIPE_READER_SECONDS:g} s", path) from None
            time.sleep(0.05)  # a reader may open it at any moment: no event tells us
    try:
        _blocking(fd)
        _write_all(fd, data)
    finally:
        os.close(fd)


def standard_stream(path: str) -> int | None:
    """1 or 2 when ``path`` is the file this process's stdout or stderr already is."""
    try:
        target = os.stat(path)
    except OSError:
        return None
    for fd in (1, 2):
        try:
            if os.path.samestat(target, os.fstat(fd)):
                return fd
        except OSError:
            continue
    return None


def is_fifo(path: str) -> bool:
    """A named pipe (or an anonymous one reached by path: ``<(...)``, ``/dev/stdin``)."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _blocking(fd: int) -> None:
    """Opened without blocking (a FIFO's open would wait), used blocking from here on."""
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)


def _write_all(fd: int, data: bytes) -> None:
    """All of ``data``; a descriptor left non-blocking by whoever started us (our own
    stdout, say) is waited on, not given up on after what its pipe could hold."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            poller = select.poll()
            poller.register(fd, select.POLLOUT)
            poller.poll()


def is_plain(path: str) -> bool:
    """True for a regular file that is not a symbolic link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def make_folders(base: str, relative: str) -> str:
    """Create ``base/relative`` (0700) one level at a time, refusing any level that
    is a symbolic link or not a folder, so nothing is created outside ``base``.
    A level that exists keeps its mode."""
    path = base
    for part in [p for p in relative.split("/") if p]:
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
        except FileExistsError:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                raise _refusal(path, "a symbolic link") from None
            if not stat.S_ISDIR(info.st_mode):
                raise NotAPlainFile(errno.ENOTDIR, f"it is {_kind(info.st_mode)}, not a folder",
                                    path) from None
    return path
