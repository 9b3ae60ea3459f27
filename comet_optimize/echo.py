"""How an error message repeats a value the user gave: short, on one line, never
slow, whatever the value (a megabyte string, a 5,000-digit integer, an object whose
repr raises)."""

from __future__ import annotations

import math
import reprlib
from typing import Any

from comet_optimize import jsontext

ECHO = 40  # characters of a value that a message repeats


def show(value: Any) -> str:
    """A value as a message repeats it: short and on one line, however large it is."""
    if isinstance(value, str):
        return show_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return show_int(value)
    try:
        text = _SHORT_REPR.repr(value)
    except Exception:  # an object whose repr fails: the message must not
        text = f"a {type(value).__name__}"
    return clip(text)


def show_text(value: str) -> str:
    """JSON-quoted, escapes included in the length, cut with '...' past `ECHO`."""
    pieces, length = [], 0
    for char in value[:ECHO + 1]:
        piece = jsontext.standard(char)[1:-1]
        if length + len(piece) > ECHO:
            return '"' + "".join(pieces) + '..."'
        pieces.append(piece)
        length += len(piece)
    return '"' + "".join(pieces) + '"'


def show_int(value: int) -> str:
    if -10**20 < value < 10**20:
        return str(value)
    digits = int(math.log10(abs(value))) + 1  # str() of a huge int is slow, or refused
    return f"a {'negative ' if value < 0 else ''}{digits}-digit integer"


def clip(text: str, limit: int = ECHO) -> str:
    """One printable line of at most ``limit`` characters."""
    text = "".join(c if c.isprintable() else " " for c in str(text)[:4 * limit])
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class _ShortRepr(reprlib.Repr):
    """reprlib, with our string and integer forms (a huge int's repr is refused)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4
        self.maxfrozenset = self.maxdeque = self.maxarray = 4
        self.maxstring = self.maxlong = self.maxother = 30

    def repr_str(self, value: str, level: int) -> str:
        return show_text(value)

    def repr_int(self, value: int, level: int) -> str:
        return show_int(value)


_SHORT_REPR = _ShortRepr()
