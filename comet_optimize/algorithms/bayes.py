"""Bayes: a multivariate Tree-structured Parzen Estimator (TPE).

After a random start, the completed experiments are split into a good set
(the best few) and a bad set (the rest, plus every pending experiment, so
that parallel workers are pushed away from points already being tried: the
"constant liar"). Each set becomes a Parzen mixture: one product kernel per
observation over all parameters jointly, plus one prior component (the
user's own distribution, uniform in the internal box). Candidates are drawn
from the good mixture l(x) and ranked by log l(x) - log g(x).

Ordered parameters live on [0, 1] (see `space`), so their kernels are
Gaussians truncated to the unit interval; unordered ones (categorical and
linear integers) get a kernel that keeps the observed choice with high
probability and spreads the rest evenly.
"""

from __future__ import annotations

import math

import numpy as np

from comet_optimize.algorithms.base import History, SamplingAlgorithm
from comet_optimize.space import Space

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class ParzenSearch(SamplingAlgorithm):
    def __init__(self, space: Space, retry_limit: int = 20, n_startup: int = 10,
                 max_good: int = 25, good_fraction: float = 0.1,
                 prior_weight: float = 1.0):
        super().__init__(space, retry_limit)
        self.n_startup = n_startup
        self.max_good = max_good
        self.good_fraction = good_fraction
        self.prior_weight = prior_weight
        dims = len(space.dimensions)
        self.n_candidates = 24 + 4 * dims
        self.numeric = np.flatnonzero(~space.categorical_mask)
        self.categorical = np.flatnonzero(space.categorical_mask)

    # -- the two densities

    def _split(self, history: History) -> tuple[np.ndarray, np.ndarray]:
        n = len(history.scores)
        n_good = min(max(1, math.ceil(self.good_fraction * n)), self.max_good)
        order = np.argsort(history.scores, kind="stable")
        good = history.completed[order[:n_good]]
        bad = np.concatenate([history.completed[order[n_good:]], history.pending])
        return good, bad

    def _estimators(self, history: History) -> tuple[_Parzen, _Parzen]:
        good, bad = self._split(history)
        n = len(history.scores) + len(history.pending)
        return (_Parzen(self, good, n), _Parzen(self, bad, n))

    def _acquisition(self, good: _Parzen, bad: _Parzen, rows: np.ndarray) -> np.ndarray:
        return good.log_pdf(rows) - bad.log_pdf(rows)

    # -- the algorithm interface

    def propose(self, history: History, rng: np.random.Generator) -> np.ndarray:
        if len(history.scores) < self.n_startup:
            return self.space.sample_internal(rng, 1)
        good, bad = self._estimators(history)
        candidates = good.sample(rng, self.n_candidates)
        order = np.argsort(-self._acquisition(good, bad, candidates), kind="stable")
        return candidates[order]

    def rank(self, history: History, rows: np.ndarray) -> np.ndarray:
        if len(history.scores) < self.n_startup:
            return np.arange(len(rows))
        good, bad = self._estimators(history)
        return np.argsort(-self._acquisition(good, bad, rows), kind="stable")


class _Parzen:
    """A mixture of product kernels centred on ``centres``, plus the prior."""

    def __init__(self, search: ParzenSearch, centres: np.ndarray, n_total: int):
        self.search = search
        self.centres = centres
        k = len(centres)
        weights = np.ones(k + 1)
        weights[k] = search.prior_weight
        self.log_weights = np.log(weights / weights.sum())
        numeric = search.numeric
        dims = len(search.space.dimensions)
        # Scott-like shrinking bandwidth with a floor, on the unit interval.
        bandwidth = 0.2 * max(k, 1) ** (-1.0 / (dims + 4))
        self.bandwidth = max(bandwidth, 1.0 / min(100, n_total + 1))
        self.mu = centres[:, numeric]
        if len(numeric):
            from scipy.special import ndtr

            upper = ndtr((1.0 - self.mu) / self.bandwidth)
            lower = ndtr((0.0 - self.mu) / self.bandwidth)
            self.cdf_low, self.cdf_high = lower, upper
            self.log_mass = np.log(np.maximum(upper - lower, 1e-300))
        self.keep = 1.0 - 1.0 / (k + 2)  # chance a categorical kernel keeps its choice

    def log_pdf(self, rows: np.ndarray) -> np.ndarray:
        search = self.search
        k = len(self.centres)
        total = np.zeros((len(rows), k))
        if len(search.numeric):
            z = (rows[:, None, search.numeric] - self.mu[None, :, :]) / self.bandwidth
            total += np.sum(-0.5 * z * z - self.log_mass[None, :, :], axis=2)
            total -= len(search.numeric) * (math.log(self.bandwidth) + _LOG_SQRT_2PI)
        prior = np.zeros(len(rows))
        for j in search.categorical:
            n_choices = search.space.n_choices[j]
            spread = (1.0 - self.keep) / n_choices
            match = rows[:, None, j] == self.centres[None, :, j]
            total += np.where(match, math.log(self.keep + spread), math.log(spread))
            prior -= math.log(n_choices)
        columns = np.concatenate([total, prior[:, None]], axis=1) + self.log_weights[None, :]
        peak = columns.max(axis=1, keepdims=True)
        return peak[:, 0] + np.log(np.exp(columns - peak).sum(axis=1))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        search = self.search
        k = len(self.centres)
        component = rng.choice(k + 1, size=n, p=np.exp(self.log_weights))
        out = search.space.sample_internal(rng, n)
        from_kernel = component < k
        chosen = component[from_kernel]
        m = len(chosen)
        if m and len(search.numeric):
            from scipy.special import ndtri

            low = self.cdf_low[chosen]
            high = self.cdf_high[chosen]
            u = low + rng.uniform(size=low.shape) * (high - low)
            values = self.mu[chosen] + self.bandwidth * ndtri(np.clip(u, 1e-15, 1 - 1e-15))
            out[np.ix_(from_kernel, search.numeric)] = np.clip(values, 0.0, 1.0)
        for j in search.categorical:
            keep = rng.uniform(size=m) < self.keep
            values = out[from_kernel, j]
            values[keep] = self.centres[chosen[keep], j]
            out[from_kernel, j] = values
        return out
