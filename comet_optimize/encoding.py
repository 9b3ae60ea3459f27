"""One door into the journal for user values: checked at the call that logged them.

A value a script logs is converted here, when it is logged, to plain JSON
(numbers, strings, lists, dicts), never later when the event is written (where
a failure would leave the script's view and the journal apart). An object of
any other kind is recorded as its text, as Comet's SDK does (a script logs
``vars(args)`` holding a ``torch.device``, or the model itself). What is over
a bound (a 50 MB string, a 2,000-character name) raises `Refused`, which the
experiment's logging calls turn into one warning: the value is not recorded
and the script goes on.
"""

from __future__ import annotations

import datetime
import enum
import math
import numbers
import os
import reprlib
from collections.abc import Mapping, Sequence, Set
from decimal import Decimal
from typing import Any

from comet_optimize import jsontext, messages
from comet_optimize.errors import OptimizerException

MAX_DEPTH = 20
# Every process reads every journal line, so one logged value is kept small
# (the 64 KiB log_text keeps too); bigger data belongs in an asset.
MAX_VALUE_BYTES = 65536
MAX_NAME_CHARACTERS = 1000


class Refused(OptimizerException):
    """A logged value or name this journal cannot keep; ``what`` names the call's target."""

    def __init__(self, what: str, message: str):
        super().__init__(message)
        self.what = what


# Once per process and name: the text kept is all a reader needs to see what happened.
_text_warnings = messages.Once(20, "20 values were recorded as their text; the others of "
                                   "this process will be without a warning")


def utf8(text: str) -> bytes:
    """``text`` as UTF-8, whatever it holds.

    A string decoded from bytes that were not UTF-8 (a file name from
    ``os.listdir``, a command-line argument, ``errors="surrogateescape"``) holds
    lone surrogates, which strict UTF-8 refuses: such a string gets back the bytes
    it came from, and any other lone surrogate is spelled ``\\udxxx``. A script
    that logs such a name must not die for it.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace")


def short(value: Any, limit: int = 40) -> str:
    """A value's repr cut to ``limit`` characters, for error messages (an object whose
    ``__repr__`` raises is named by its type: the message must not raise instead)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - anything a script's class raises
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def text_of(value: Any, what: str) -> str:
    """``str(value)``, or a refusal naming ``what`` when the object's ``__str__`` raises."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception as error:  # noqa: BLE001 - anything a script's class raises
        raise Refused(what, f"{what}: the {type(value).__name__}'s text could not be made "
                            f"({short(error, 80)}), so it was "
                            f"not recorded") from None


def number_in_text(text: str) -> float | None:
    """The number a string spells ("0.5", " 1e-3 ", "nan"), as Python reads it, or None.

    Scripts often log a formatted loss (``f"{loss:.4f}"``): it is that number.
    """
    if len(text) > 100:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def to_float(value: Any) -> float | None:
    """A real number as a float (huge integers become +-inf); None for a non-number
    (also for an object whose conversion, or even ``isinstance``, raises)."""
    try:
        return _to_float(value)
    except Exception:  # noqa: BLE001 - anything a script's class raises: not a number
        return None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Integral):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, (numbers.Real, Decimal)):
        return float(value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        return None
    return _number_of(value)


def _number_of(value: Any) -> float | None:
    """An object with ``__float__``: an array, a tensor or a scalar of some library."""
    shape = getattr(value, "shape", ())
    count = getattr(value, "size", 1)
    if callable(count):  # a tensor: size() is its shape, numel() how many numbers it holds
        count = value.numel() if callable(getattr(value, "numel", None)) else None
    if shape not in ((), None) and count != 1:
        return None  # an array of several numbers is not one number
    detach = getattr(value, "detach", None)
    if callable(detach):  # a tensor still in its graph (a loss): its value, without a warning
        value = detach()
    if shape not in ((), None) and callable(getattr(value, "item", None)):
        value = value.item()  # one number in an array (numpy refuses float() of those now)
    try:
        return float(value)  # numpy scalars, 0-d arrays and tensors
    except (TypeError, ValueError):
        return None
    except OverflowError:
        return math.inf


def plain(value: Any, what: str, depth: int = 0) -> Any:
    """``value`` as plain JSON; non-finite floats become "nan"/"inf"/"-inf" strings. An
    object that raises when looked at (a proxy outside its context) is its text."""
    try:
        return _plain(value, what, depth)
    except Refused:
        raise
    except Exception:  # noqa: BLE001 - anything a script's class raises
        return as_text(value, what)


def _plain(value: Any, what: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise Refused(what, f"{what}: nested more than {MAX_DEPTH} levels deep, so it was "
                            f"not recorded")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value, what, depth + 1)
    if isinstance(value, numbers.Integral):
        integer = int(value)
        return integer if abs(integer) < 2 ** 63 else _finite_or_text(to_float(integer))
    if isinstance(value, (numbers.Real, Decimal)):
        return _finite_or_text(float(value))
    if isinstance(value, dict):
        return {_key(k, what): plain(v, f"{what}[{short(k, 20)}]", depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, what, depth + 1) for v in value]
    if _small_container(value, Mapping) or _small_container(value, Sequence):
        try:  # Hydra's DictConfig and ListConfig, a mappingproxy, a range...
            items = dict(value.items()) if isinstance(value, Mapping) else list(value)
        except Exception:  # an item that raises when read (Hydra's "???"): the text says it
            return as_text(value, what)
        return plain(items, what, depth)
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v, what, depth + 1) for v in value), key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value) if isinstance(os.fspath(value), str) else repr(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars, tensors
        try:
            return plain(value.tolist(), what, depth + 1)
        except (TypeError, ValueError):
            pass
    number = to_float(value)
    if number is not None:
        return _finite_or_text(number)
    return as_text(value, what)


def _small_container(value: Any, kind: type) -> bool:
    """A mapping or sequence of another class, converted item by item only when short:
    ``range(10**12)`` is a Sequence too, and is better kept as its text."""
    if not isinstance(value, kind) or isinstance(value, (bytes, bytearray)):
        return False
    try:
        return len(value) <= MAX_VALUE_BYTES
    except Exception:  # a __len__ that raises
        return False


def as_text(value: Any, what: str, why: str = "is not a number, string, list or dict") -> str:
    """An object that is no number, string, list or dict, as Comet's SDK records it: its
    text (``str``), with one warning per name, so that the script goes on."""
    try:
        count = len(value) if isinstance(value, (Mapping, Sequence, Set)) else 0
    except Exception:  # noqa: BLE001 - a __len__ that raises
        count = 0
    try:
        # A container of millions (a deque) would spell out megabytes: its opening says
        # what it was (a range's repr is short either way).
        text = reprlib.repr(value) if count > MAX_VALUE_BYTES // 2 else str(value)
    except Exception:  # a __str__ that raises
        text = f"<{type(value).__name__} object>"
    _text_warnings.warn(what, f"{what}: a {type(value).__name__} {why}; recorded as its "
                              f"text {short(text)}")
    return text


def bounded(value: Any, what: str) -> Any:
    """`plain(value)`, refused when its JSON is over `MAX_VALUE_BYTES`: a huge string or
    array logged as a parameter would otherwise be re-read by every worker."""
    if issubclass(type(value), (str, bytes)) and len(value) > MAX_VALUE_BYTES:
        _too_big(what, f"is {len(value)} bytes")  # (type(): a lazy object's __class__ may raise)
    limit = MAX_VALUE_BYTES // 2  # two bytes an item at least, in JSON
    if _more_items_than(value, limit):
        _too_big(what, f"holds more than {limit:,} items")  # before it is converted
    converted = plain(value, what)
    if not isinstance(converted, (str, float, int, bool, type(None))):
        size = len(jsontext.compact(converted, ascii_only=False))
        if size > MAX_VALUE_BYTES:
            _too_big(what, f"is {size} bytes")
    elif isinstance(converted, str) and len(converted) * 4 > MAX_VALUE_BYTES:
        size = len(utf8(converted))  # at most 4 bytes a character: short strings skip this
        if size > MAX_VALUE_BYTES:
            _too_big(what, f"is {size} bytes")
    return converted


def _more_items_than(value: Any, limit: int) -> bool:
    """Whether the containers and arrays in ``value`` hold more than ``limit`` items in
    all, counted only up to ``limit``: a list of millions, or a big array inside a list,
    was converted whole, for seconds, before its size was refused. Deeper than
    `MAX_DEPTH` (a list that holds itself) is left to `plain` to say."""
    pending = [(value, 0)]
    count = 0
    try:
        while pending:
            item, depth = pending.pop()
            if depth > MAX_DEPTH:
                return False
            if isinstance(item, (dict, list, tuple, set, frozenset)):
                count += len(item)
                if count <= limit:
                    inner = item.values() if isinstance(item, dict) else item
                    pending.extend((each, depth + 1) for each in inner)
            elif not isinstance(item, (str, bytes, bytearray, numbers.Number)):
                count += _items_in(item)
            if count > limit:
                return True
    except Exception:  # noqa: BLE001 - a subclass's __len__ or __iter__ that raises:
        return False  # `plain` deals with it
    return False


def _items_in(item: Any) -> int:
    """How many numbers an array holds (another library's container may be kept as its
    text, which `as_text` keeps short)."""
    size = getattr(item, "size", None)  # an image's size is a tuple: only arrays count
    if isinstance(size, int) and callable(getattr(item, "tolist", None)):
        return size
    return 0


def _too_big(what: str, how_big: str) -> None:
    raise Refused(what, f"{what}: the value {how_big}, over the {MAX_VALUE_BYTES // 1024} "
                        f"KiB kept per value in the journal, so it was not recorded; use "
                        f"log_asset_data(value, name=...) for large data")


def _finite_or_text(number: float) -> float | str:
    return number if math.isfinite(number) else repr(number)


def _key(key: Any, what: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, numbers.Number)) or key is None:
        return str(key)
    return as_text(key, f"{what}: a key")


def name(value: Any, what: str) -> str:
    """A metric, parameter or other name: a string (numpy strings included), or a number
    as its text, as Comet takes it (scripts write ``experiment.set_name(batch_size)``)."""
    if isinstance(value, (bool, numbers.Number)) and not isinstance(value, str):
        try:
            value = str(value)
        except ValueError:  # an integer of more digits than Python will write out
            raise Refused(f"{what} name", f"{what} name: a number too long to be a name, so it "
                                          f"was not recorded") from None
    if isinstance(value, str):
        if len(value) > MAX_NAME_CHARACTERS:
            raise Refused(f"{what} name {short(value)}",
                          f"{what} name {short(value)} is {len(value)} characters long, over "
                          f"the {MAX_NAME_CHARACTERS} allowed, so it was not recorded")
        return str(value)
    raise OptimizerException(f"{what} name must be a string, not {type(value).__name__} "
                             f"({short(value)})")


def whole_number(value: Any, what: str) -> int | None:
    """A step: None or an integer (numpy integers included)."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise Refused(what, f"{what} must be a whole number, not {short(value)}")


def epoch_number(value: Any, what: str) -> int | float | None:
    """An epoch: None, or a finite number, whole or not: trainers log the fraction of
    an epoch done (Hugging Face's Trainer gives Comet ``epoch=0.33``)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        try:
            number = float(value)
        except (OverflowError, ValueError, TypeError):
            number = math.nan
        if math.isfinite(number) and not number.is_integer():
            return number
    try:
        return whole_number(value, what)
    except Refused:
        raise Refused(what, f"{what} must be a number, not {short(value)}") from None
