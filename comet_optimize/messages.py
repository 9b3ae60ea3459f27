"""The library's lines to the person running the script (``COMET INFO/WARNING``).

A message is never worth a result: when the script's stderr is gone (its reader
exited, as in ``2>&1 | head``; a daemon closed it or set it to None; the script
replaced it with an object whose ``write`` raises) a plain ``print`` raised in the
middle of recording an end, and the script's loop died with the experiment it had
finished. So a line that cannot be written is dropped.
"""

from __future__ import annotations

import sys


def info(message: str) -> None:
    say(f"COMET INFO: {message}")


def warning(message: str) -> None:
    say(f"COMET WARNING: {message}")


class Once:
    """Warnings said once per key, at most ``limit`` of them, then ``enough`` once: a loop
    that logs the same odd value at every step would otherwise bury the script's own
    output. No lock: a race can only say one warning twice, and a lock held by another
    thread at a fork would stay held in the child."""

    def __init__(self, limit: int, enough: str):
        self.limit = limit
        self.enough = enough
        self.said: set[str] = set()

    def warn(self, key: str, message: str) -> None:
        if key in self.said or len(self.said) > self.limit:
            return
        self.said.add(key)
        warning(self.enough if len(self.said) > self.limit else message)


def say(line: str) -> None:
    stream = sys.stderr
    if stream is None:
        return
    try:
        try:
            stream.write(line + "\n")
        except UnicodeEncodeError:  # a stream set up by the script, strict and not UTF-8
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(line.encode(encoding, "backslashreplace").decode(encoding) + "\n")
        stream.flush()
    except Exception:  # noqa: BLE001 - EPIPE, closed, not a file, or whatever a stream
        pass  # the script set up raises: the line is dropped, never the result
