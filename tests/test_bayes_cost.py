"""bayes's cheaper arithmetic past the cap gives the numbers the plain one gives, bit for bit.

A suggestion at 1,000 results is mostly the Parzen mixtures' densities (exp() of the
kernel terms) and, every 4th suggestion, a new bad mixture; both were made cheaper
(ninth session of issue 12). The plain computations they replaced are written out here
and the new ones are held to them exactly, so no suggestion can change.
"""

from __future__ import annotations

import numpy as np
import pytest

from comet_optimize.algorithms.base import History
from comet_optimize.algorithms.bayes import _EXP_FLOOR, ParzenSearch, _Parzen
from tests.test_bayes import filled, space_of

MIXED = {"a": {"type": "double", "min": 0.0, "max": 1.0},
         "b": {"type": "integer", "min": 1, "max": 20},
         "c": {"type": "categorical", "values": ["x", "y", "z"]},
         "e": {"type": "discrete", "values": [1, 2, 4, 8]},
         "f": {"type": "float", "min": 1e-4, "max": 1.0, "scalingType": "loguniform"}}
DOUBLES = {f"x{i}": {"type": "double", "min": 0.0, "max": 1.0} for i in range(5)}
TERMS = ("cdf_low", "cdf_high", "log_norm", "precision", "mu_precision", "mu_sq_precision")


def plain_log_pdf(mixture: _Parzen, rows: np.ndarray) -> np.ndarray:
    """`_Parzen.log_pdf` as it was before the ninth session: a masked exp() and a masked
    copy of the floor."""
    search = mixture.search
    k = len(mixture.centres)
    prior = np.full(len(rows), mixture.log_weights[k])
    for j in search.categorical:
        prior -= np.log(search.space.n_choices[j])
    x = rows[:, search.numeric]
    total = (x * x) @ mixture.precision.T
    cross = x @ mixture.mu_precision.T
    cross *= 2.0
    total -= cross
    total += mixture.mu_sq_precision[None, :]
    np.maximum(total, 0.0, out=total)
    total *= -0.5
    total -= mixture.log_norm[None, :]
    for j in search.categorical:
        n_choices = search.space.n_choices[j]
        keep = mixture.keep[j]
        spread = (1.0 - keep) / n_choices
        match = rows[:, None, j] == mixture.centres[None, :, j]
        total += np.where(match, np.log(keep + spread), np.log(spread))
    total += mixture.log_weights[0]
    peak = np.maximum(total.max(axis=1), prior)
    total -= peak[:, None]
    far = total <= -40.0
    np.exp(total, out=total, where=~far)
    np.copyto(total, _EXP_FLOOR, where=far)
    return peak + np.log(total.sum(axis=1) + np.exp(prior - peak))


def plain_sample(mixture: _Parzen, rng: np.random.Generator, n: int) -> np.ndarray:
    """`_Parzen.sample` as it was before the ninth session (values set through np.ix_)."""
    from scipy.special import ndtri

    search = mixture.search
    k = len(mixture.centres)
    component = np.searchsorted(mixture.cdf, rng.random(n), side="right")
    out = search.space.sample_internal(rng, n)
    from_kernel = component < k
    chosen = component[from_kernel]
    m = len(chosen)
    if m and len(search.numeric):
        low, high = mixture.cdf_low[chosen], mixture.cdf_high[chosen]
        u = low + rng.uniform(size=low.shape) * (high - low)
        values = mixture.mu[chosen] + mixture.bandwidth[chosen] * ndtri(
            np.clip(u, 1e-15, 1 - 1e-15))
        out[np.ix_(from_kernel, search.numeric)] = np.clip(values, 0.0, 1.0)
    for j in search.categorical:
        keep = rng.uniform(size=m) < mixture.keep[j]
        values = out[from_kernel, j]
        values[keep] = mixture.centres[chosen[keep], j]
        out[from_kernel, j] = values
    return out


@pytest.mark.parametrize("parameters", [MIXED, DOUBLES])
@pytest.mark.parametrize("kernels", [3, 40, 400])
def test_log_pdf_gives_the_plain_computations_numbers(parameters, kernels):
    space = space_of(parameters)
    rows, _ = filled(space, kernels)
    mixture = _Parzen(ParzenSearch(space), rows)
    x = np.concatenate([space.sample_internal(np.random.default_rng(2), 300), rows[:5],
                        mixture.sample(np.random.default_rng(3), 300)])
    assert np.array_equal(mixture.log_pdf(x), plain_log_pdf(mixture, x))


@pytest.mark.parametrize("parameters", [MIXED, DOUBLES])
def test_sample_draws_what_the_plain_computation_draws(parameters):
    space = space_of(parameters)
    rows, _ = filled(space, 60)
    mixture = _Parzen(ParzenSearch(space), rows)
    for seed in range(5):
        assert np.array_equal(mixture.sample(np.random.default_rng(seed), 44),
                              plain_sample(mixture, np.random.default_rng(seed), 44))


@pytest.mark.parametrize("parameters", [MIXED, DOUBLES])
def test_a_grown_bad_mixture_is_the_one_a_fresh_build_gives(parameters):
    """Result by result past the cap: each time the bad sample gains a row, the mixture
    built from the previous one holds the same widths and terms as a fresh build."""
    space = space_of(parameters)
    rows, scores = filled(space, 1100)
    search = ParzenSearch(space)
    grown = 0
    for n in range(960, 1100):
        history = History(rows[:n], scores[:n], rows[:0])
        before = search._mixtures.get("bad")
        _, bad = search._estimators(history)
        if before is not None and bad is not before and len(bad.centres) > len(before.centres):
            grown += 1
        fresh = _Parzen(search, bad.centres)
        assert np.array_equal(bad.bandwidth, fresh.bandwidth), n
        for name in TERMS:
            assert np.array_equal(getattr(bad, name), getattr(fresh, name)), (n, name)
        assert np.array_equal(bad.log_weights, fresh.log_weights)
    assert grown >= 30  # every 4th result at 960-1,100 (stride 4)


def test_a_grown_mixture_recomputes_the_neighbours_a_new_kernel_narrows():
    space = space_of({"x": {"type": "double", "min": 0.0, "max": 1.0}})
    centres = np.array([[0.1], [0.5], [0.9], [0.3], [0.7]])
    search = ParzenSearch(space)
    grown = _Parzen(search, centres).grown(np.vstack([centres, [[0.45]], [[0.02]]]))
    fresh = _Parzen(search, grown.centres)
    assert np.array_equal(grown.bandwidth, fresh.bandwidth)
    for name in TERMS:
        assert np.array_equal(getattr(grown, name), getattr(fresh, name)), name
