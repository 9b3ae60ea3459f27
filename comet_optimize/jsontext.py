"""JSON text through encoder and decoder objects of our own, never ``json.dumps``/``loads``.

A training script runs in the same process as the optimizer, and may replace the
json module's functions for its own files: ``json.dumps =
functools.partial(json.dumps, indent=2)`` to pretty-print them, ``json.loads =
ujson.loads`` for speed. The journal holds one event per line: through a
pretty-printing ``json.dumps`` every event was split over many lines, every
reader took them for damage, and the search lost every result; parameter-set ids
(`space.parameter_set_id`) changed with the indentation. Encoder and decoder
objects made here from ``json.encoder`` and ``json.decoder`` keep the standard
behaviour whatever the script does to the module's functions.
"""

from __future__ import annotations

from json import detect_encoding
from json.decoder import JSONDecodeError, JSONDecoder
from json.encoder import JSONEncoder
from typing import Any


class _Strict(JSONEncoder):
    """Refuses what JSON does not know, whatever a script sets as ``JSONEncoder.default``
    (packages that make every object "serializable" do that to the class)."""

    def default(self, o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


_LINE = _Strict(separators=(",", ":"), allow_nan=False)
_COMPACT = JSONEncoder(separators=(",", ":"))
_COMPACT_TEXT = JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# Separators are always given: the class's defaults are attributes a script can set.
_DEFAULT = JSONEncoder(separators=(", ", ": "))
_MEASURE = JSONEncoder(separators=(",", ":"), default=str)
_DECODER = JSONDecoder()

scan_once = _DECODER.scan_once  # the C scanner, for `events.parse_event`


def line(value: Any) -> str:
    """One journal line's JSON: compact and strict (a NaN or an unknown object raises
    ValueError or TypeError)."""
    return _LINE.encode(value)


def compact(value: Any, ascii_only: bool = True) -> str:
    return (_COMPACT if ascii_only else _COMPACT_TEXT).encode(value)


def size(value: Any) -> int:
    """How long ``value``'s JSON is, whatever it holds (unknown objects as their text)."""
    return len(_MEASURE.encode(value))


def standard(value: Any, sort_keys: bool = False) -> str:
    """What ``json.dumps(value)`` gives with no other arguments."""
    if sort_keys:
        return JSONEncoder(separators=(", ", ": "), sort_keys=True).encode(value)
    return _DEFAULT.encode(value)


def indented(value: Any, indent: int = 2, sort_keys: bool = False) -> str:
    return JSONEncoder(indent=indent, separators=(",", ": "), sort_keys=sort_keys).encode(value)


def parse(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``: the same value, or the same ValueError."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode(detect_encoding(data), "surrogatepass")
    elif data.startswith("\ufeff"):
        raise JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
    return _DECODER.decode(data)


def parse_with(data: str, object_pairs_hook: Any) -> Any:
    return JSONDecoder(object_pairs_hook=object_pairs_hook).decode(data)
