"""Where the launcher's workers' bytes go: sinks that may fail, lines, redraws, the live area.

Three small pieces, each testable without a process:

* `Sink` wraps a byte stream (the launcher's stdout or stderr, a worker's log)
  and drops it at its first write error, reporting that once, so a full disk or
  a closed terminal costs a message, not the run.
* `Lines` turns a worker's bytes into whole lines plus, for output that redraws
  itself with ``\\r`` (tqdm, Keras), the text currently visible on the
  unfinished line. A finished line that was redrawn is kept as what it showed
  last, so logs get one line per progress bar, not one per redraw.
* `LiveArea` is the bottom of the launcher's terminal: the latest redraw of each
  worker and the progress line, erased before ordinary lines scroll above it
  and drawn again after them.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Callable
from typing import IO

MAX_LINE = 64 * 1024  # a "line" longer than this is passed on in pieces

_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_OTHER_ESCAPE = re.compile(r"\x1b(?:\][^\x07\x1b]*(?:\x07|\x1b\\)?|[^\[\]])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")


class Sink:
    """A byte stream the launcher writes to; dropped, with one report, at its first error.

    A dropped stdout/stderr is pointed at /dev/null, so that the interpreter's
    own flush at exit does not fail again on the bytes left in its buffer.
    """

    def __init__(self, handle: IO[bytes] | None, name: str,
                 lost: Callable[[Sink, BaseException], None] | None = None,
                 own: bool = False):
        self.handle = handle
        self.name = name
        self.lost = lost
        self.own = own  # a file the launcher opened (a log): closed when dropped
        self.failed = False
        self.tty = _isatty(handle)

    @property
    def alive(self) -> bool:
        return self.handle is not None

    def write(self, data: bytes) -> bool:
        if self.handle is None:
            return False
        try:
            self.handle.write(data)
            self.handle.flush()
            return True
        except (OSError, ValueError) as error:
            self.fail(error)
            return False

    def fail(self, error: BaseException) -> None:
        self.failed = True
        self.drop()
        if self.lost is not None:
            self.lost(self, error)

    def drop(self) -> None:
        handle, self.handle = self.handle, None
        if handle is None:
            return
        if self.own:
            with contextlib.suppress(OSError, ValueError):
                handle.close()
            return
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, handle.fileno())
            os.close(null)

    def close(self) -> None:
        if self.own and self.handle is not None:
            with contextlib.suppress(OSError, ValueError):
                self.handle.close()
        self.handle = None


def _isatty(handle: IO[bytes] | None) -> bool:
    try:
        return handle is not None and handle.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def _shown(segment: bytes) -> bool:
    return bool(segment.replace(b"\b", b"").strip())


def last_shown(line: bytes) -> bytes:
    """What a terminal shows of a line redrawn with ``\\r``: its last non-blank redraw."""
    for segment in reversed(line.split(b"\r")):
        if _shown(segment):
            return segment.replace(b"\b", b"")
    return b""


class Lines:
    """A worker's byte stream cut into whole lines, with redraws tracked, in bounded memory."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Whole lines (each ending in ``\\n``) completed by ``data``."""
        self.buffer += data
        lines = []
        while True:
            end = self.buffer.find(b"\n")
            if end < 0:
                break
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 1]
            lines.append((last_shown(line) if b"\r" in line else line) + b"\n")
        if b"\r" in self.buffer:  # only the last redraws matter: keep memory bounded
            segments = self.buffer.split(b"\r")
            keep = [s for s in segments[:-1] if _shown(s)][-1:] + [segments[-1]]
            self.buffer = bytearray(b"\r".join(keep))
            if len(keep) == 1:
                self.buffer[:0] = b"\r"
        if len(self.buffer) >= MAX_LINE:
            lines.append(bytes(self.buffer) + b"\n")
            self.buffer.clear()
        return lines

    @property
    def redraw(self) -> bytes | None:
        """The visible text of an unfinished line that redraws itself, else None."""
        if b"\r" not in self.buffer:
            return None
        return last_shown(bytes(self.buffer)) or None

    def rest(self) -> list[bytes]:
        """The unfinished line, as a line (the stream ended)."""
        if not self.buffer:
            return []
        line = bytes(self.buffer)
        self.buffer.clear()
        if b"\r" in line:
            line = last_shown(line)
        return [line + b"\n"] if line else []


def one_row(text: str, width: int) -> str:
    """``text`` made safe for one terminal row of ``width`` columns.

    Cursor movements, backspaces and other controls are dropped (they would
    break the live area); colours are kept unless the text must be cut.
    """
    text = _OTHER_ESCAPE.sub("", _CONTROL.sub("", text.replace("\t", " ")))
    text = _CSI.sub(lambda m: m.group() if m.group().endswith("m") else "", text)
    plain = _CSI.sub("", text)
    if _width(plain) < width:
        return text + ("\x1b[0m" if plain != text else "")
    row, used = [], 0
    for char in plain:
        used += _char_width(char)
        if used >= width - 1:
            break
        row.append(char)
    return "".join(row) + "…"


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(char) for char in text)


class LiveArea:
    """The last rows of the terminal: each worker's current redraw, then the progress line.

    Ordinary output must call `erase` before it writes to the terminal; `draw`
    puts the area back. Changes to the rows are drawn at most every
    ``interval`` seconds (a progress bar redrawing 100 times a second costs 10
    repaints), an erased area at once.
    """

    def __init__(self, sink: Sink, interval: float = 0.1):
        self.sink = sink
        self.interval = interval
        self.rows: dict[object, str] = {}
        self.progress: str | None = None
        self.shown = 0  # rows on screen now
        self.changed = False
        self.erased = False
        self.next_draw = 0.0

    def set(self, key: object, text: str | None) -> None:
        if text is None:
            if self.rows.pop(key, None) is not None:
                self.changed = True
        elif self.rows.get(key) != text:
            self.rows[key] = text
            self.changed = True

    def set_progress(self, text: str | None) -> None:
        if text != self.progress:
            self.progress = text
            self.changed = True

    def erase(self) -> None:
        if self.shown:
            self.sink.write(b"\r\x1b[K" + b"\x1b[1A\x1b[K" * (self.shown - 1))
            self.shown = 0
            self.erased = True

    def wake_at(self) -> float | None:
        """When `draw` has something to do, or None."""
        if self.erased:
            return 0.0
        return self.next_draw if self.changed else None

    def draw(self, now: float) -> None:
        if not (self.erased or (self.changed and now >= self.next_draw)):
            return
        self.erase()
        self.erased = self.changed = False
        self.next_draw = now + self.interval
        rows = list(self.rows.values()) + ([self.progress] if self.progress else [])
        if not rows or not self.sink.alive:
            return
        width = self._columns()
        text = "\n".join(one_row(row, width) for row in rows)
        if self.sink.write(text.encode("utf-8", "replace")):
            self.shown = len(rows)

    def _columns(self) -> int:
        try:
            return max(20, os.get_terminal_size(self.sink.handle.fileno()).columns or 80)
        except (OSError, ValueError, AttributeError):
            return 80
