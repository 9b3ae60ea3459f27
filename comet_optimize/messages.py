"""The library's lines to the person running the script (``COMET INFO/WARNING``).

A message is never worth a result: when the script's stderr is gone (its reader
exited, as in ``2>&1 | head``; a daemon closed it or set it to None) a plain
``print`` raised in the middle of recording an end, and the script's loop died
with the experiment it had finished. So a line that cannot be written is dropped.
"""

from __future__ import annotations

import sys


def info(message: str) -> None:
    say(f"COMET INFO: {message}")


def warning(message: str) -> None:
    say(f"COMET WARNING: {message}")


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
    except (OSError, ValueError, AttributeError, LookupError):  # EPIPE, closed, not a file
        pass
