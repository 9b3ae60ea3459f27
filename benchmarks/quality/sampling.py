"""Independent draws from a Comet-format parameter spec (the random-search baseline).

This is the benchmark's own reading of the config's distributions, written apart from
`comet_optimize` so the random baseline does not depend on the code under test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def _truncated(draw: Callable[[], float], lo: float | None, hi: float | None) -> float:
    """Redraw until inside [lo, hi] (truncation, never clipping)."""
    for _ in range(10_000):
        v = draw()
        if (lo is None or v >= lo) and (hi is None or v <= hi):
            return v
    raise ValueError("truncation bounds are too narrow for this distribution")


def sample_value(spec: dict[str, Any], rng: np.random.Generator) -> Any:
    """One draw from one parameter's distribution."""
    kind = spec["type"]
    if kind in ("discrete", "categorical"):
        values = spec["values"]
        return values[int(rng.integers(len(values)))]
    scaling = spec.get("scalingType", "uniform")
    lo, hi = spec.get("min"), spec.get("max")
    if kind == "integer" and scaling in ("uniform", "linear"):
        return int(rng.integers(lo, hi + 1))
    if scaling in ("uniform", "linear"):
        v = float(rng.uniform(lo, hi))
    elif scaling == "loguniform":
        v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    elif scaling == "normal":
        v = _truncated(lambda: rng.normal(spec["mu"], spec["sigma"]), lo, hi)
    elif scaling == "lognormal":
        v = _truncated(lambda: math.exp(rng.normal(spec["mu"], spec["sigma"])), lo, hi)
    else:
        raise ValueError(f"unknown scalingType {scaling!r}")
    if kind == "integer":
        return int(round(v))  # integer bounds keep a truncated draw inside them
    return float(v)


def sample(parameters: dict[str, dict[str, Any]], rng: np.random.Generator) -> dict[str, Any]:
    """One parameter set drawn independently per parameter."""
    return {name: sample_value(spec, rng) for name, spec in parameters.items()}
