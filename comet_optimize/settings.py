"""Durations and sizes read from the environment: a bad value is one warning and the
default.

A worker must not die over a typo in a variable that only tunes how it
behaves, and must not print the same warning at every call: each distinct
complaint is said once per process.
"""

from __future__ import annotations

import math
import os

from comet_optimize import messages

_warned: set[str] = set()


def seconds_from_env(name: str, default: float, zero_allowed: bool = False) -> float:
    """The number of seconds in ``name``, or ``default`` when it is unset or not one
    (negative, NaN, infinite; zero too unless ``zero_allowed``)."""
    return number_from_env(name, default, "seconds", zero_allowed)


def number_from_env(name: str, default: float, unit: str, zero_allowed: bool = False
                    ) -> float:
    """The number of ``unit`` in ``name``, or ``default`` (see `seconds_from_env`)."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and (value > 0 or (zero_allowed and value == 0)):
        return value
    wanted = f"a number of {unit} (0 or more)" if zero_allowed else \
        f"a positive number of {unit}"
    warning = f"{name}={text[:40]!r} is not {wanted}; using {default:g}"
    if warning not in _warned:
        _warned.add(warning)
        messages.warning(warning)
    return default
