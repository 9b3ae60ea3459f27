"""The search space: every parameter mapped into one numeric box and back.

Each ordered parameter (double, integer, discrete numbers) is mapped onto the
unit interval through its own prior's CDF, so that a uniform draw in [0, 1]
*is* a draw from the user's distribution (uniform, loguniform, normal,
lognormal, truncated or not) and the algorithms never branch on a scaling
type. Unordered parameters (categorical, and integer with ``linear`` scaling,
which Comet defines as independent values such as seeds) are carried as a
choice index. Algorithms work on these plain arrays; `Space.decode` turns a
row back into native Python values.

Example:
    >>> from comet_optimize.config import validate
    >>> space = Space.from_config(validate({"algorithm": "random",
    ...     "parameters": {"x": {"type": "integer", "min": 1, "max": 3}}}))
    >>> space.decode(space.encode({"x": 2}))
    {'x': 2}
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from comet_optimize import jsontext
from comet_optimize.config import OptimizerConfig, ParameterConfig

# Keep draws off the exact ends of the unit interval, where an unbounded
# normal's inverse CDF is infinite.
_EDGE = 1e-12
# A finite space at most this large is enumerated when random draws keep
# hitting parameter sets already handed out.
ENUMERATION_LIMIT = 200_000


class Dimension:
    """One parameter. ``categorical`` dimensions hold a choice index, others a unit value."""

    name: str
    categorical: bool = False
    choices: Sequence | None = None  # the finite list of values, when there is one

    @property
    def cardinality(self) -> int | None:
        if self.choices is None:
            return None
        if isinstance(self.choices, range):  # len() overflows past sys.maxsize values
            return max(0, self.choices.stop - self.choices.start)
        return len(self.choices)

    def decode(self, internal: float) -> Any:
        raise NotImplementedError

    def encode(self, value: Any) -> float:
        raise NotImplementedError

    def sample_internal(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.categorical:
            count = self.cardinality
            dtype = np.int64 if count <= 2**62 else np.uint64
            return rng.integers(0, count, size=n, dtype=dtype).astype(float)
        return rng.uniform(_EDGE, 1.0 - _EDGE, size=n)

    def grid(self, size: int, min_sample_size: int, rng: np.random.Generator) -> Sequence:
        """Values for a grid search: quantiles of the prior, estimated from samples.

        As Comet's docs say, the bins come from sampled values, so a loguniform
        grid is log-spaced and a normal grid clusters around mu.
        """
        samples = [self.decode(u) for u in self.sample_internal(rng, max(min_sample_size, size))]
        probabilities = (np.arange(size) + 0.5) / size
        points = np.quantile(np.asarray(samples, dtype=float), probabilities)
        return _unique([self.native(p) for p in points])

    def native(self, value: float) -> Any:
        return float(value)


def _unique(values: list) -> list:
    seen, out = set(), []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def _spread_integers(points: np.ndarray, low: int | None, high: int | None) -> list[int]:
    """As many distinct integers as ``points``, each as near its point as the others allow.

    Rounding alone merges neighbours (1..10 with 10 points lost 4 and 7). Writing
    the i-th integer as r_i + i, the integers are distinct exactly when r is
    non-decreasing, so r is the non-decreasing fit of points_i - i (pooling
    adjacent violators); clipping r keeps it non-decreasing and the integers in
    bounds. Needs at least ``len(points)`` integers in [low, high].
    """
    size = len(points)
    target = np.sort(np.asarray(points, dtype=float)) - np.arange(size)
    blocks: list[list[float]] = []  # [mean, count] of pooled runs
    for value in target:
        blocks.append([float(value), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count)
            blocks[-1][1] += count
    out: list[int] = []
    for mean, count in blocks:
        out.extend([math.floor(mean + 0.5)] * int(count))
    out = [r + i for i, r in enumerate(out)]
    # In exact integers, so that float rounding of huge bounds cannot break the promise.
    for i in range(size):
        floor = low if i == 0 else out[i - 1] + 1
        if floor is not None and out[i] < floor:
            out[i] = floor
    for i in reversed(range(size)):
        ceiling = high if i == size - 1 else out[i + 1] - 1
        if ceiling is not None and out[i] > ceiling:
            out[i] = ceiling
    return out


def _integer_grid(continuous: np.ndarray, size: int, low: int | None,
                  high: int | None) -> Sequence[int]:
    """A grid of an integer parameter from samples of its continuous (unrounded) prior.

    When ``size`` covers the range the grid is every integer; otherwise ``size``
    distinct integers at the prior's quantiles.
    """
    if low is not None and high is not None and size >= high - low + 1:
        return range(low, high + 1)
    points = np.quantile(continuous, (np.arange(size) + 0.5) / size)
    return _spread_integers(points, low, high)


class _Prior:
    """A one-dimensional distribution on the real line given by its CDF and inverse."""

    def __init__(self, scaling: str, low: float | None, high: float | None,
                 mu: float | None, sigma: float | None):
        self.scaling = scaling
        self.log = scaling in ("loguniform", "lognormal")
        if self.log:
            low = math.log(low) if low is not None and low > 0 else None
            high = math.log(high) if high is not None else None
        self.low, self.high, self.mu, self.sigma = low, high, mu, sigma
        if scaling in ("normal", "lognormal"):
            from scipy.special import ndtr

            self.p_low = float(ndtr((low - mu) / sigma)) if low is not None else 0.0
            self.p_high = float(ndtr((high - mu) / sigma)) if high is not None else 1.0

    def ppf(self, u: np.ndarray | float) -> np.ndarray | float:
        if self.scaling in ("normal", "lognormal"):
            from scipy.special import ndtri

            p = self.p_low + np.clip(u, _EDGE, 1 - _EDGE) * (self.p_high - self.p_low)
            bounded = self.low is not None or self.high is not None
            # Halved, so sigma * z cannot overflow when mu + sigma * z fits (a float
            # halves and doubles exactly); what still overflows is cut to the bound.
            with np.errstate(over="ignore" if bounded else "warn"):
                x = 2.0 * (0.5 * self.mu + (0.5 * self.sigma) * ndtri(p))
            if bounded:
                x = np.clip(x, self.low if self.low is not None else -np.inf,
                            self.high if self.high is not None else np.inf)
        else:
            x = self.low + np.asarray(u) * (self.high - self.low)
        return np.exp(x) if self.log else x

    def cdf(self, value: float) -> float:
        if self.log and value <= 0:
            return 0.0  # an integer lognormal rounds its smallest draws down to 0
        x = math.log(value) if self.log else value
        if self.scaling in ("normal", "lognormal"):
            from scipy.special import ndtr

            p = float(ndtr((x - self.mu) / self.sigma))
            span = self.p_high - self.p_low
            return min(1.0, max(0.0, (p - self.p_low) / span))
        if self.high == self.low:
            return 0.5
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))


class DoubleDimension(Dimension):
    def __init__(self, config: ParameterConfig):
        self.name = config.name
        self.prior = _Prior(config.scaling, config.min, config.max, config.mu, config.sigma)

    def decode(self, internal: float) -> float:
        return float(self.prior.ppf(internal))

    def encode(self, value: Any) -> float:
        return self.prior.cdf(float(value))

    def grid(self, size: int, min_sample_size: int, rng: np.random.Generator) -> Sequence:
        # As the generic grid, with the samples decoded in one vectorised call
        # (a million samples one by one took seconds in every process).
        unit = self.sample_internal(rng, max(min_sample_size, size))
        points = np.quantile(np.asarray(self.prior.ppf(unit), dtype=float),
                             (np.arange(size) + 0.5) / size)
        return _unique([self.native(p) for p in points])


class IntegerDimension(Dimension):
    """An ordered integer: a draw of the continuous prior, rounded.

    ``uniform``, ``normal`` and ``lognormal`` widen the prior by half a step at
    each bound, so that the end values get a whole step's share (a uniform
    integer is then uniform over its values). ``loguniform`` is the docs'
    formula exactly, ``round(exp(uniform(log(min), log(max))))``, unwidened:
    widening gave the smallest value of 1..1000 a probability of 0.15 instead of
    the docs' 0.06.
    """

    def __init__(self, config: ParameterConfig):
        self.name = config.name
        self.loguniform = config.scaling == "loguniform"
        pad = 0.0 if self.loguniform else 0.5
        low = config.min - pad if config.min is not None else None
        high = config.max + pad if config.max is not None else None
        self.low, self.high = config.min, config.max
        self.prior = _Prior(config.scaling, low, high, config.mu, config.sigma)
        if config.min is not None and config.max is not None:
            self.choices = range(config.min, config.max + 1)

    def native(self, value: float) -> int:
        value = int(round(float(value)))
        if self.low is not None:
            value = max(self.low, value)
        if self.high is not None:
            value = min(self.high, value)
        return value

    def decode(self, internal: float) -> int:
        return self.native(self.prior.ppf(internal))

    def encode(self, value: Any) -> float:
        if not self.loguniform:
            return self.prior.cdf(float(value))
        # The middle of the share of the unit interval that rounds to ``value``
        # (its cdf would put the smallest value on the very edge of that share).
        value = int(value)
        return 0.5 * (self.prior.cdf(max(value - 0.5, self.low))
                      + self.prior.cdf(min(value + 0.5, self.high)))

    def grid(self, size: int, min_sample_size: int, rng: np.random.Generator) -> Sequence:
        if self.low is not None and self.high is not None and size >= self.high - self.low + 1:
            return range(self.low, self.high + 1)  # nothing to sample, nothing to store
        unit = self.sample_internal(rng, max(min_sample_size, size))
        return _integer_grid(np.asarray(self.prior.ppf(unit), dtype=float), size,
                             self.low, self.high)


class ChoiceDimension(Dimension):
    """A finite list of values: ordered (discrete numbers) or not (categorical, linear integers).

    Ordered lists are laid out on the unit interval in equal bins sorted by
    value, so the algorithms see 16 < 32 < 64 as neighbours.
    """

    def __init__(self, name: str, values: Sequence, categorical: bool):
        self.name = name
        self.categorical = categorical
        self.choices = list(values) if categorical else sorted(values)
        self._index = {value: i for i, value in enumerate(self.choices)}
        self._given_order = list(values)

    def decode(self, internal: float) -> Any:
        k = len(self.choices)
        index = int(internal) if self.categorical else int(internal * k)
        return self.choices[min(max(index, 0), k - 1)]

    def encode(self, value: Any) -> float:
        index = self._index[value]
        if self.categorical:
            return float(index)
        return (index + 0.5) / len(self.choices)

    def native(self, value: Any) -> Any:
        return value

    def grid(self, size: int, min_sample_size: int, rng: np.random.Generator) -> Sequence:
        return list(self._given_order)


class LinearIntegerDimension(ChoiceDimension):
    """Comet's integer + linear: independent values (seeds); bayes treats them as unordered."""

    def __init__(self, config: ParameterConfig):
        self.name = config.name
        self.categorical = True
        self.choices = range(config.min, config.max + 1)
        self._given_order = self.choices

    def decode(self, internal: float) -> int:
        return self.choices[min(max(int(internal), 0), self.cardinality - 1)]

    def encode(self, value: Any) -> float:
        return float(int(value) - self.choices.start)

    def grid(self, size: int, min_sample_size: int, rng: np.random.Generator) -> Sequence:
        low, high = self.choices.start, self.choices.stop - 1
        if size >= high - low + 1:
            return self.choices
        # A uniform draw over the integers, as a continuous value before rounding.
        continuous = rng.uniform(low - 0.5, high + 0.5, size=max(min_sample_size, size))
        return _integer_grid(continuous, size, low, high)


def make_dimension(config: ParameterConfig) -> Dimension:
    if config.type == "categorical":
        return ChoiceDimension(config.name, config.values, categorical=True)
    if config.type == "discrete":
        return ChoiceDimension(config.name, config.values, categorical=False)
    if config.type == "integer":
        if config.scaling == "linear":
            return LinearIntegerDimension(config)
        return IntegerDimension(config)
    return DoubleDimension(config)


def parameter_set_id(params: dict[str, Any]) -> str:
    """A stable 32-hex id of a parameter set (Comet's ``pid``)."""
    canonical = jsontext.compact(sorted(params.items()))
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class Space:
    """All dimensions of a search, with the array maps the algorithms work on.

    ``order`` is only the key order of the dicts handed out (the config's own
    order); the columns of every array follow ``dimensions``.
    """

    def __init__(self, dimensions: list[Dimension], order: Sequence[str] | None = None):
        self.dimensions = list(dimensions)
        self.names = [d.name for d in self.dimensions]
        self.order = list(order) if order is not None and list(order) != self.names \
            else self.names
        if sorted(self.order) != sorted(self.names):
            raise ValueError("a space's order must name each of its dimensions once")
        self.categorical_mask = np.array([d.categorical for d in dimensions], dtype=bool)
        self.n_choices = np.array(
            [d.cardinality if d.categorical else 0 for d in self.dimensions],
            dtype=np.int64 if all(d.cardinality < 2**63 for d in self.dimensions
                                  if d.categorical) else float,
        )

    @classmethod
    def from_config(cls, config: OptimizerConfig) -> Space:
        """The space of a config, its dimensions sorted by name.

        The stored config.json has its keys sorted while the process that created
        the search saw the user's order: a derivation that followed the config's
        order (the columns of every random draw, the grid's axes) would differ
        between the creating process and every process that attaches. Sorting
        makes the space, and all that is drawn from it, independent of key order.
        """
        dimensions = sorted((make_dimension(p) for p in config.parameters),
                            key=lambda d: d.name)
        return cls(dimensions, order=[p.name for p in config.parameters])

    @property
    def size(self) -> int | None:
        """Number of distinct parameter sets, or None when any parameter is continuous."""
        total = 1
        for dimension in self.dimensions:
            if dimension.cardinality is None:
                return None
            total *= dimension.cardinality
        return total

    def sample_internal(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.column_stack([d.sample_internal(rng, n) for d in self.dimensions])

    def decode(self, row: Sequence[float]) -> dict[str, Any]:
        params = {d.name: d.decode(x) for d, x in zip(self.dimensions, row)}
        return params if self.order is self.names else self.ordered(params)

    def ordered(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with its keys in the config's order (what users see)."""
        return {name: params[name] for name in self.order}

    def encode(self, params: dict[str, Any]) -> np.ndarray:
        return np.array([d.encode(params[d.name]) for d in self.dimensions], dtype=float)

    def enumerate(self, index: int) -> dict[str, Any]:
        """The index-th parameter set of a finite space (mixed-radix over choices)."""
        out = {}
        for dimension in reversed(self.dimensions):
            index, digit = divmod(index, dimension.cardinality)
            out[dimension.name] = dimension.choices[digit]
        return self.ordered(out)
