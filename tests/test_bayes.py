"""bayes's Parzen mixtures: reused between suggestions without changing a suggestion.

A long-lived search (one per Optimizer) keeps the last good and bad mixtures and reuses
them when their centres are the same rows; these tests hold it to what a fresh search
decides from the same history, bit for bit, and check the cheaper arithmetic against a
direct computation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp, ndtr

from comet_optimize.algorithms.base import History
from comet_optimize.algorithms.bayes import ParzenSearch, _Parzen
from comet_optimize.config import validate
from comet_optimize.space import Space, parameter_set_id

MIXED = {"a": {"type": "double", "min": 0.0, "max": 1.0},
         "b": {"type": "integer", "min": 1, "max": 20},
         "c": {"type": "categorical", "values": ["x", "y", "z"]},
         "e": {"type": "discrete", "values": [1, 2, 4, 8]},
         "f": {"type": "float", "min": 1e-4, "max": 1.0, "scalingType": "loguniform"}}


def space_of(parameters: dict) -> Space:
    return Space.from_config(validate({"algorithm": "bayes",
                                       "spec": {"seed": 1, "maxCombo": 0},
                                       "parameters": parameters}))


def filled(space: Space, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rows = space.sample_internal(np.random.default_rng(seed), n)
    return rows, ((rows - 0.3) ** 2).sum(axis=1) + 0.1 * np.sin(9 * rows).sum(axis=1)


@pytest.mark.parametrize("pending", [0, 3])
def test_a_long_lived_search_suggests_what_a_fresh_one_does(pending):
    space = space_of(MIXED)
    rows, scores = filled(space, 1300)
    search = ParzenSearch(space)  # lives through the whole run, as in an Optimizer
    for n in [*range(5, 30, 4), *range(140, 160, 3), *range(415, 1200, 23)]:
        history = History(rows[:n], scores[:n], rows[1250:1250 + pending])
        kept = search.propose(history, np.random.default_rng(n))
        fresh = ParzenSearch(space).propose(history, np.random.default_rng(n))
        assert np.array_equal(kept, fresh), n


def test_past_the_cap_both_mixtures_are_reused_until_their_rows_change():
    space = space_of({f"x{i}": {"type": "double", "min": 0.0, "max": 1.0} for i in range(5)})
    rows, scores = filled(space, 1001)
    search = ParzenSearch(space)
    good, bad = search._estimators(History(rows[:998], scores[:998], rows[:0]))
    # 998 results: every 4th is in the bad mixture; result 999 is not a multiple of 4.
    scores[998] = scores.max() + 1.0
    again_good, again_bad = search._estimators(History(rows[:999], scores[:999], rows[:0]))
    assert again_good is good and again_bad is bad
    # Result 1000 (index 999) is no multiple of 4 either, but it is the new best.
    scores[999] = scores.min() - 1.0
    new_good, same_bad = search._estimators(History(rows[:1000], scores[:1000], rows[:0]))
    assert new_good is not good and same_bad is bad
    # An earlier score corrected in place (an update event) is seen as well.
    corrected = scores[:1000].copy()
    best = int(np.argmin(corrected))
    corrected[best] = corrected.max() + 1.0
    fixed_good, _ = search._estimators(History(rows[:1000], corrected, rows[:0]))
    assert not any(np.array_equal(row, rows[best]) for row in fixed_good.centres)


@pytest.mark.parametrize("n", [430, 1000, 10_000])
def test_past_the_cap_the_bad_mixture_is_a_bounded_sample_without_the_good_rows(n):
    space = space_of({"x": {"type": "double", "min": 0.0, "max": 1.0},
                      "y": {"type": "double", "min": 0.0, "max": 1.0}})
    rows, scores = filled(space, n)
    search = ParzenSearch(space)
    good, bad = search._estimators(History(rows, scores, rows[:0]))
    max_bad = search.settings.max_bad
    assert max_bad / 2 - len(good.centres) <= len(bad.centres) <= max_bad
    good_ids = {row.tobytes() for row in good.centres}
    assert not any(row.tobytes() in good_ids for row in bad.centres)
    best = np.sort(scores)[:len(good.centres)]
    assert np.array_equal(np.sort(((good.centres - 0.3) ** 2).sum(axis=1)
                                  + 0.1 * np.sin(9 * good.centres).sum(axis=1)), best)


def test_pending_kernels_get_the_widths_a_full_build_gives_them():
    space = space_of(MIXED)
    rows, _ = filled(space, 300)
    search = ParzenSearch(space)
    base = _Parzen(search, rows[:290])
    extended = base.extended(rows[290:])
    whole = _Parzen(search, rows)
    assert np.array_equal(extended.bandwidth[290:], whole.bandwidth[290:])
    assert np.array_equal(extended.bandwidth[:290], base.bandwidth)
    assert np.array_equal(extended.centres, rows)
    # The joined per-kernel terms are those of a mixture built with these widths.
    rebuilt = _Parzen(search, rows, extended.bandwidth)
    x = space.sample_internal(np.random.default_rng(1), 50)
    assert np.allclose(extended.log_pdf(x), rebuilt.log_pdf(x), rtol=0, atol=1e-12)


def direct_log_pdf(mixture: _Parzen, search: ParzenSearch, rows: np.ndarray) -> np.ndarray:
    """The mixture's density summed kernel by kernel, with nothing skipped."""
    k = len(mixture.centres)
    terms = np.zeros((len(rows), k))
    for j, column in enumerate(search.numeric):
        mu, h = mixture.mu[:, j], mixture.bandwidth[:, j]
        z = (rows[:, None, column] - mu[None, :]) / h[None, :]
        mass = ndtr((1 - mu) / h) - ndtr(-mu / h)
        terms += -0.5 * z * z - np.log(h * mass * math.sqrt(2 * math.pi))[None, :]
    for column in search.categorical:
        count = search.space.n_choices[column]
        keep = mixture.keep[column]
        match = rows[:, None, column] == mixture.centres[None, :, column]
        terms += np.where(match, math.log(keep + (1 - keep) / count),
                          math.log((1 - keep) / count))
    terms += mixture.log_weights[0]
    prior = mixture.log_weights[k] - sum(math.log(search.space.n_choices[c])
                                         for c in search.categorical)
    return logsumexp(np.column_stack([terms, np.full(len(rows), prior)]), axis=1)


@pytest.mark.parametrize("kernels", [3, 40, 400])
def test_log_pdf_is_the_mixtures_density(kernels):
    space = space_of(MIXED)
    rows, _ = filled(space, kernels)
    search = ParzenSearch(space)
    mixture = _Parzen(search, rows)
    x = np.concatenate([space.sample_internal(np.random.default_rng(2), 200), rows[:5]])
    assert np.allclose(mixture.log_pdf(x), direct_log_pdf(mixture, search, x),
                       rtol=1e-9, atol=1e-9)


def test_components_are_drawn_as_rng_choice_draws_them():
    space = space_of(MIXED)
    rows, _ = filled(space, 17)
    mixture = _Parzen(ParzenSearch(space), rows)
    ours = np.searchsorted(mixture.cdf, np.random.default_rng(5).random(1000), side="right")
    numpy_s = np.random.default_rng(5).choice(18, size=1000, p=np.exp(mixture.log_weights))
    assert np.array_equal(ours, numpy_s)


# ---------------------------------------------------------------- the start-up design

@pytest.mark.parametrize("kind", [True, "lhs", "halton"])
def test_the_start_up_design_is_shared_by_workers_and_fixed_by_the_seed(kind):
    space = space_of(MIXED)
    search = ParzenSearch(space, seed=7, startup_design=kind)
    rows, scores = filled(space, 10)
    alone = [search.propose(History(rows[:i], scores[:i], rows[:0]),
                            np.random.default_rng(i))[0] for i in range(10)]
    # Four workers: the i-th hand-out sees i - 3 results and 3 pending (other draws).
    shared = [search.propose(History(rows[:max(0, i - 3)], scores[:max(0, i - 3)],
                                     rows[max(0, i - 3):i]),
                             np.random.default_rng(100 + i))[0] for i in range(10)]
    assert np.array_equal(np.array(alone), np.array(shared))
    again = ParzenSearch(space, seed=7, startup_design=kind)._design()
    assert np.array_equal(again, np.array(alone))
    other = ParzenSearch(space, seed=8, startup_design=kind)._design()
    assert not np.array_equal(other, again)


def test_the_parallel_start_up_design_leaves_a_single_worker_as_it_was():
    """``startup_design_parallel``: a suggestion made while others run takes the design's
    point for its hand-out number; one made with nothing pending is the plain random
    draw, so a sequential search suggests exactly what the default does."""
    space = space_of(MIXED)
    rows, scores = filled(space, 10)
    parallel = ParzenSearch(space, seed=7, startup_design_parallel="halton")
    default = ParzenSearch(space, seed=7)
    for i in range(10):
        history = History(rows[:i], scores[:i], rows[:0])
        assert np.array_equal(parallel.propose(history, np.random.default_rng(i)),
                              default.propose(history, np.random.default_rng(i)))
    halton = ParzenSearch(space, seed=7, startup_design="halton")._design()
    for i in range(1, 10):
        # Four workers: the i-th hand-out sees i - 3 results and the rest pending.
        done = max(0, i - 3)
        history = History(rows[:done], scores[:done], rows[done:i])
        assert np.array_equal(parallel.propose(history, np.random.default_rng(100 + i))[0],
                              halton[i])


@pytest.mark.parametrize("seed", range(5))
def test_the_start_up_design_fills_the_box(seed):
    space = space_of({"x": {"type": "double", "min": 0.0, "max": 1.0},
                      "y": {"type": "double", "min": 0.0, "max": 1.0},
                      "c": {"type": "categorical", "values": ["p", "q", "r"]}})
    points = ParzenSearch(space, seed=seed, startup_design=True, n_startup=12)._design()
    xy = points[:, ~space.categorical_mask]
    # One point in each twelfth of every parameter's range ...
    for column in xy.T:
        assert sorted(np.floor(column * 12).astype(int)) == list(range(12))
    choices = points[:, space.categorical_mask][:, 0].astype(int)
    assert list(np.bincount(choices, minlength=3)) == [4, 4, 4]
    # ... and no two close (two of 12 uniform draws in a square are closer than 0.06
    # half the time).
    square = space_of({"x": {"type": "double", "min": 0.0, "max": 1.0},
                       "y": {"type": "double", "min": 0.0, "max": 1.0}})
    xy = ParzenSearch(square, seed=seed, startup_design=True, n_startup=12)._design()
    distances = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    assert distances[np.triu_indices(12, 1)].min() > 0.12


@pytest.mark.parametrize("kind", ["halton", "lhs"])
def test_a_low_discrepancy_start_up_fills_every_pair_of_parameters(kind):
    """Not only each parameter alone (a Latin hypercube's promise) but each pair: the 10
    start-up points leave a quarter of a 2-D projection empty in under 5% of the pairs
    (10 uniform draws: about 24%)."""
    space = space_of({name: {"type": "double", "min": 0.0, "max": 1.0} for name in "abcde"})
    empty = []
    for seed in range(20):
        points = ParzenSearch(space, seed=seed, startup_design=kind)._design()
        for i in range(5):
            for j in range(i + 1, 5):
                quarter = ((points[:, i] >= 0.5) * 2 + (points[:, j] >= 0.5)).astype(int)
                empty.append(np.bincount(quarter, minlength=4).min() == 0)
    assert np.mean(empty) < 0.05


def test_an_unknown_start_up_design_is_named_in_one_sentence():
    search = ParzenSearch(space_of(MIXED), seed=1, startup_design="sobol")
    with pytest.raises(ValueError, match="unknown design 'sobol'"):
        search.propose(History.empty(5), np.random.default_rng(0))


def test_a_start_up_point_already_handed_out_is_skipped():
    space = space_of({"x": {"type": "integer", "min": 1, "max": 3}})
    search = ParzenSearch(space, seed=1, startup_design=True, n_startup=3)
    seen: set[str] = set()
    history = History.empty(1)
    for _ in range(3):  # nothing ever completes: the same index, a new point each time
        params = search.suggest(history, np.random.default_rng(0), seen)
        seen.add(parameter_set_id(params))
    assert len(seen) == 3


def test_pending_experiments_count_towards_the_start_up():
    space = space_of(MIXED)
    rows, scores = filled(space, 10)
    random_draw = space.sample_internal(np.random.default_rng(5), 1)[0]
    # 4 workers: 7 results and 3 pending make 10 handed out, so the model decides ...
    parallel = History(rows[:7], scores[:7], rows[7:10])
    assert not np.array_equal(ParzenSearch(space, startup_design=False).propose(
        parallel, np.random.default_rng(5))[0], random_draw)
    # ... where counting results alone would have drawn an eleventh random experiment.
    assert np.array_equal(ParzenSearch(space, startup_pending=False, startup_design=False,
                                       startup_design_parallel=False)
                          .propose(parallel, np.random.default_rng(5))[0], random_draw)


def test_counting_pending_experiments_changes_no_sequential_suggestion():
    space = space_of(MIXED)
    rows, scores = filled(space, 14)
    for n in range(14):  # nothing pending: a single worker's run
        history = History(rows[:n], scores[:n], rows[:0])
        assert np.array_equal(
            ParzenSearch(space).propose(history, np.random.default_rng(n)),
            ParzenSearch(space, startup_pending=False).propose(history,
                                                               np.random.default_rng(n)))
