"""Bayes: a multivariate Tree-structured Parzen Estimator (TPE).

After a random start, the completed experiments are split into a good set
(the best few) and a bad set (the rest, plus every pending experiment, so
that parallel workers are pushed away from points already being tried: the
"constant liar"). Each set becomes a Parzen mixture: one product kernel per
observation over all parameters jointly, plus one prior component (the
user's own distribution, which is uniform in the internal box). Candidates
are drawn from the good mixture l(x) and ranked by log l(x) - log g(x).

Ordered parameters live on [0, 1] (see `space`), so their kernels are
Gaussians truncated to the unit interval; unordered ones (categorical and
linear integers) get a kernel that keeps the observed choice with high
probability and spreads the rest evenly.

Speed: a mixture shares one bandwidth per dimension, so the kernel distances
for all candidates against all centres are one matrix product, and the cost
per suggestion grows with the history only through that product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from comet_optimize.algorithms.base import History, SamplingAlgorithm
from comet_optimize.space import Space

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class ParzenSettings:
    """The knobs of the estimator; the defaults are what the benchmark chose."""

    n_startup: int = 10  # random suggestions before the model is used
    good_fraction: float = 0.1  # share of completed experiments in the good set
    max_good: int = 25
    prior_weight: float = 1.0  # weight of the prior component in each mixture
    bandwidth_scale: float = 0.2  # Scott-like: scale * k ** (-1 / (d + 4)) on [0, 1]
    min_bandwidth: float = 0.01  # never narrower than this (nor 1 / (n + 1))
    candidates: int = 24  # draws from l(x) per suggestion ...
    candidates_per_dimension: int = 4  # ... plus this many per parameter
    old_weight_floor: float = 1.0  # weight of the oldest bad observations (1 = none down)


class ParzenSearch(SamplingAlgorithm):
    settings = ParzenSettings()

    def __init__(self, space: Space, retry_limit: int = 20, **overrides):
        super().__init__(space, retry_limit)
        self.settings = replace(type(self).settings, **overrides)
        self.numeric = np.flatnonzero(~space.categorical_mask)
        self.categorical = np.flatnonzero(space.categorical_mask)
        self.n_candidates = (self.settings.candidates
                             + self.settings.candidates_per_dimension * len(space.dimensions))

    def _estimators(self, history: History) -> tuple[_Parzen, _Parzen]:
        settings = self.settings
        n = len(history.scores)
        n_good = min(max(1, math.ceil(settings.good_fraction * n)), settings.max_good)
        order = np.argsort(history.scores, kind="stable")
        good_rows = history.completed[order[:n_good]]
        bad_index = order[n_good:]
        bad_rows = np.concatenate([history.completed[bad_index], history.pending])
        bad_weights = np.ones(len(bad_rows))
        if settings.old_weight_floor < 1.0 and n > 25:
            # Older observations count less: they were taken when the search knew less.
            age_rank = bad_index.astype(float) / max(n - 1, 1)
            bad_weights[: len(bad_index)] = settings.old_weight_floor + (
                1 - settings.old_weight_floor) * age_rank
        n_total = n + len(history.pending)
        return (_Parzen(self, good_rows, np.ones(len(good_rows)), n_total),
                _Parzen(self, bad_rows, bad_weights, n_total))

    def propose(self, history: History, rng: np.random.Generator) -> np.ndarray:
        if len(history.scores) < self.settings.n_startup:
            return self.space.sample_internal(rng, 1)
        good, bad = self._estimators(history)
        candidates = good.sample(rng, self.n_candidates)
        score = good.log_pdf(candidates) - bad.log_pdf(candidates)
        return candidates[np.argsort(-score, kind="stable")]

    def rank(self, history: History, rows: np.ndarray) -> np.ndarray:
        if len(history.scores) < self.settings.n_startup:
            return np.arange(len(rows))
        good, bad = self._estimators(history)
        return np.argsort(-(good.log_pdf(rows) - bad.log_pdf(rows)), kind="stable")


class _Parzen:
    """A mixture of product kernels centred on ``centres``, plus the prior."""

    def __init__(self, search: ParzenSearch, centres: np.ndarray, weights: np.ndarray,
                 n_total: int):
        settings = search.settings
        self.search = search
        self.centres = centres
        k = len(centres)
        all_weights = np.append(weights, settings.prior_weight)
        self.log_weights = np.log(all_weights / all_weights.sum())
        self.keep = 1.0 - 1.0 / (k + 2)  # chance a categorical kernel keeps its choice
        numeric = search.numeric
        if not len(numeric):
            return
        dims = len(search.space.dimensions)
        floor = max(settings.min_bandwidth, 1.0 / (n_total + 1))
        self.bandwidth = max(settings.bandwidth_scale * max(k, 1) ** (-1.0 / (dims + 4)), floor)
        from scipy.special import ndtr

        self.mu = centres[:, numeric]
        self.cdf_low = ndtr(-self.mu / self.bandwidth)
        self.cdf_high = ndtr((1.0 - self.mu) / self.bandwidth)
        # Per kernel: log of its normalising constants over every numeric dimension.
        self.log_norm = (np.log(np.maximum(self.cdf_high - self.cdf_low, 1e-300)).sum(axis=1)
                         + len(numeric) * (math.log(self.bandwidth) + _LOG_SQRT_2PI))
        self.scaled_mu = self.mu / self.bandwidth
        self.scaled_mu_sq = np.einsum("ij,ij->i", self.scaled_mu, self.scaled_mu)

    def log_pdf(self, rows: np.ndarray) -> np.ndarray:
        search = self.search
        k = len(self.centres)
        total = np.zeros((len(rows), k))
        if len(search.numeric) and k:
            x = rows[:, search.numeric] / self.bandwidth
            x_sq = np.einsum("ij,ij->i", x, x)
            squared = x_sq[:, None] + self.scaled_mu_sq[None, :] - 2.0 * (x @ self.scaled_mu.T)
            total -= 0.5 * np.maximum(squared, 0.0) + self.log_norm[None, :]
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
        out = search.space.sample_internal(rng, n)  # the prior's draws stay as they are
        from_kernel = component < k
        chosen = component[from_kernel]
        m = len(chosen)
        if m and len(search.numeric):
            from scipy.special import ndtri

            low, high = self.cdf_low[chosen], self.cdf_high[chosen]
            u = low + rng.uniform(size=low.shape) * (high - low)
            values = self.mu[chosen] + self.bandwidth * ndtri(np.clip(u, 1e-15, 1 - 1e-15))
            out[np.ix_(from_kernel, search.numeric)] = np.clip(values, 0.0, 1.0)
        for j in search.categorical:
            keep = rng.uniform(size=m) < self.keep
            values = out[from_kernel, j]
            values[keep] = self.centres[chosen[keep], j]
            out[from_kernel, j] = values
        return out
