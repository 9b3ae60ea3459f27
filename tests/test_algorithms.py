"""Grid, random and bayes as pure functions of (space, history, rng): no files, no store."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from comet_optimize.algorithms import History, make_algorithm
from comet_optimize.algorithms.bayes import ParzenSearch
from comet_optimize.algorithms.grid import GridSearch
from comet_optimize.algorithms.permutation import KeyedPermutation
from comet_optimize.algorithms.random import RandomSearch
from comet_optimize.config import validate
from comet_optimize.space import Space, parameter_set_id


def build(parameters, algorithm="random", **spec):
    config = validate({"algorithm": algorithm, "spec": spec, "parameters": parameters})
    return config, Space.from_config(config)


def history(space, rows=(), scores=(), pending=()) -> History:
    d = len(space.dimensions)
    return History(np.asarray(rows, dtype=float).reshape(-1, d),
                   np.asarray(scores, dtype=float),
                   np.asarray(pending, dtype=float).reshape(-1, d))


def pids(parameter_sets) -> list[str]:
    return [parameter_set_id(p) for p in parameter_sets]


# ---------------------------------------------------------------- grid

MIXED = {
    "a": [1, 2, 3],
    "b": ["x", "y"],
    "c": {"type": "double", "min": 0, "max": 1, "gridSize": 4},
    "d": {"type": "integer", "min": 1, "max": 10},
}
FINITE = {"a": [1, 2, 3, 4], "b": ["x", "y", "z"], "c": [0.1, 0.2]}


def grid(parameters, seed=11, **spec) -> GridSearch:
    config, space = build(parameters, "grid", **spec)
    return GridSearch(space, config, seed)


def traversal(search: GridSearch) -> list[dict]:
    return [search.at(i) for i in range(search.size)]


def test_grid_size_is_the_product_of_per_axis_sizes():
    search = grid(MIXED, gridSize=3)
    assert [len(axis) for axis in search.axes] == [3, 2, 4, 3]
    assert search.size == 3 * 2 * 4 * 3
    assert search.axes[0] == [1, 2, 3] and search.axes[1] == ["x", "y"]
    assert all(0 <= c <= 1 for c in search.axes[2])
    assert all(isinstance(v, int) and 1 <= v <= 10 for v in search.axes[3])
    assert len(set(pids(traversal(search)))) == search.size


def test_grid_in_order_is_the_cartesian_product_last_axis_fastest():
    search = grid(MIXED, gridSize=3)
    expected = [dict(zip(["a", "b", "c", "d"], combo))
                for combo in itertools.product(*search.axes)]
    assert traversal(search) == expected


def test_randomized_grid_is_a_reproducible_permutation():
    in_order = pids(traversal(grid(FINITE)))
    shuffled = pids(traversal(grid(FINITE, seed=11, randomize=True)))
    again = pids(traversal(grid(FINITE, seed=11, randomize=True)))
    other = pids(traversal(grid(FINITE, seed=12, randomize=True)))
    assert sorted(shuffled) == sorted(in_order)
    assert shuffled != in_order
    assert again == shuffled
    assert sorted(other) == sorted(in_order)
    assert other != shuffled


def test_grid_values_are_the_same_for_the_same_seed():
    assert grid(MIXED, seed=5).axes == grid(MIXED, seed=5).axes


def test_grid_suggest_skips_seen_sets_and_ends_with_none():
    search = grid(FINITE)
    order = traversal(search)
    rng = np.random.default_rng(0)
    empty = History.empty(3)
    seen = {parameter_set_id(order[0]), parameter_set_id(order[2])}
    assert search.suggest(empty, rng, seen) == order[1]
    seen.add(parameter_set_id(order[1]))
    assert search.suggest(empty, rng, seen) == order[3]

    handed_out = []
    fresh = grid(FINITE, randomize=True)
    seen = set()
    while (params := fresh.suggest(empty, rng, seen)) is not None:
        handed_out.append(params)
        seen.add(parameter_set_id(params))
        assert len(handed_out) <= fresh.size
    assert handed_out == traversal(fresh)
    assert fresh.suggest(empty, rng, seen) is None


def test_grid_suggest_returns_none_when_everything_was_seen():
    search = grid(FINITE)
    seen = set(pids(traversal(search)))
    assert search.suggest(History.empty(3), np.random.default_rng(0), seen) is None


def test_grid_does_not_depend_on_the_order_of_the_parameters():
    """The stored config has its keys sorted: the attaching process must get the same grid."""
    mixed = {**MIXED, "e": {"type": "double", "scalingType": "loguniform", "min": 1e-3,
                            "max": 1, "gridSize": 3}}
    backwards = dict(reversed(list(mixed.items())))
    for randomize in (False, True):
        forward = grid(mixed, seed=3, randomize=randomize)
        backward = grid(backwards, seed=3, randomize=randomize)
        assert pids(traversal(forward)) == pids(traversal(backward))
        assert list(forward.at(0)) == list(mixed)  # users see their own order
        assert list(backward.at(0)) == list(backwards)


def test_integer_grid_of_ten_values_with_grid_size_ten_has_all_ten():
    for seed in range(10):
        search = grid({"x": {"type": "integer", "min": 1, "max": 10}}, seed=seed)
        assert [p["x"] for p in traversal(search)] == list(range(1, 11))


# ---------------------------------------------------------------- randomized grid order


@pytest.mark.parametrize("key", [0, 1, 2**63 - 1])
def test_keyed_permutation_visits_every_index_exactly_once(key):
    for size in [*range(1, 130), 255, 256, 257, 1000, 1024, 1025]:
        order = KeyedPermutation(size, key)
        assert sorted(order(i) for i in range(size)) == list(range(size)), size


def test_keyed_permutation_depends_on_its_key_and_looks_shuffled():
    orders = [[KeyedPermutation(100, key)(i) for i in range(100)] for key in range(3)]
    assert len({tuple(order) for order in orders}) == 3
    for order in orders:
        assert stats.spearmanr(order, range(100)).statistic < 0.5
    # The first index visited is uniform over the keys.
    first = np.bincount([KeyedPermutation(10, key)(0) for key in range(2000)], minlength=10)
    assert stats.chisquare(first).pvalue > 1e-3


def test_keyed_permutation_of_2_to_the_63_stays_in_range_and_is_fast():
    size = 2**63
    order = KeyedPermutation(size, key=7)
    positions = [0, 1, size // 2, size - 2, size - 1, *range(1000)]
    values = [order(p) for p in positions]
    assert all(0 <= v < size for v in values)
    assert len(set(values)) == len(set(positions))
    with pytest.raises(IndexError):
        order(size)


TEN_DOUBLES = {f"p{i}": {"type": "double", "min": 0, "max": 1} for i in range(10)}


@pytest.mark.parametrize("randomize", [False, True])
def test_ten_parameter_grid_sets_up_in_milliseconds_and_little_memory(randomize):
    """It used to allocate a 74.5 GiB permutation (10**10 points) before its first suggestion."""
    tracemalloc.start()
    started = time.process_time()  # CPU time: the machine may be shared
    search = grid(TEN_DOUBLES, randomize=randomize)
    first = search.suggest(History.empty(10), np.random.default_rng(0), set())
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert search.size == 10**10
    assert set(first) == set(TEN_DOUBLES)
    assert elapsed < 0.5, f"{elapsed:.3f} s"  # about 5 ms; slack for a busy CI machine
    assert peak < 2 * 2**20, f"{peak} bytes"
    visited = pids(search.at(p) for p in range(2000))
    assert len(set(visited)) == 2000


def test_randomized_grid_order_is_the_same_in_another_process():
    config = {"algorithm": "grid", "spec": {"randomize": True}, "parameters": TEN_DOUBLES}
    script = (
        "import json, sys\n"
        "from comet_optimize.algorithms.grid import GridSearch\n"
        "from comet_optimize.config import validate\n"
        "from comet_optimize.space import Space\n"
        "config = validate(json.loads(sys.argv[1]))\n"
        "search = GridSearch(Space.from_config(config), config, 99)\n"
        "print(json.dumps([search.at(p) for p in range(50)]))\n"
    )
    theirs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", script, json.dumps(config)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        theirs.append(json.loads(done.stdout))
    config_here, space = build(TEN_DOUBLES, "grid", randomize=True)
    ours = [GridSearch(space, config_here, 99).at(p) for p in range(50)]
    assert theirs[0] == theirs[1] == ours


# ---------------------------------------------------------------- random

SQUARE = {"a": [1, 2, 3], "b": ["x", "y", "z"]}


def test_random_suggest_avoids_seen_sets():
    _, space = build({"a": list(range(10))})
    search = RandomSearch(space, retry_limit=20)
    seen = {parameter_set_id({"a": a}) for a in (0, 2, 4, 6, 8)}
    got = [search.suggest(History.empty(1), np.random.default_rng(i), seen)["a"]
           for i in range(200)]
    assert set(got) == {1, 3, 5, 7, 9}


def test_random_suggest_on_a_continuous_space_returns_an_unseen_draw():
    _, space = build({"x": {"type": "double", "min": 0, "max": 1}, "b": ["p", "q"]})
    search = RandomSearch(space)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(50):
        params = search.suggest(History.empty(2), rng, seen)
        pid = parameter_set_id(params)
        assert pid not in seen and 0 <= params["x"] <= 1 and params["b"] in ("p", "q")
        seen.add(pid)


@pytest.mark.parametrize("missing", list(itertools.product([1, 2, 3], ["x", "y", "z"])))
def test_random_finds_the_last_unseen_set_of_a_finite_space(missing):
    _, space = build(SQUARE)
    search = RandomSearch(space, retry_limit=20)
    everything = [{"a": a, "b": b} for a, b in itertools.product([1, 2, 3], ["x", "y", "z"])]
    seen = {parameter_set_id(p) for p in everything if (p["a"], p["b"]) != missing}
    params = search.suggest(History.empty(2), np.random.default_rng(3), seen)
    assert params == {"a": missing[0], "b": missing[1]}


def test_random_returns_none_when_a_finite_space_is_exhausted():
    _, space = build(SQUARE)
    seen = {parameter_set_id(space.enumerate(i)) for i in range(9)}
    assert RandomSearch(space).suggest(History.empty(2), np.random.default_rng(0), seen) is None


def test_random_with_no_retries_still_covers_a_finite_space():
    _, space = build(SQUARE)
    search = RandomSearch(space, retry_limit=0)
    rng, seen = np.random.default_rng(0), set()
    for _ in range(9):
        seen.add(parameter_set_id(search.suggest(History.empty(2), rng, seen)))
    assert len(seen) == 9
    assert search.suggest(History.empty(2), rng, seen) is None


# ---------------------------------------------------------------- bayes

LINE = {"x": {"type": "double", "min": 0, "max": 1}}
OPTIMUM = 0.3


def quadratic_history(space, n, seed):
    rows = space.sample_internal(np.random.default_rng(seed), n)
    return history(space, rows, (rows[:, 0] - OPTIMUM) ** 2)


def top_proposals(search, hist, seeds) -> np.ndarray:
    return np.array([search.propose(hist, np.random.default_rng(s))[0] for s in seeds])


def test_bayes_proposes_random_rows_before_its_startup():
    _, space = build(LINE)
    search = ParzenSearch(space, n_startup=10)
    # Nine excellent results all at 0.2: still too few to model, so draws stay uniform.
    rows = np.full((9, 1), 0.2)
    hist = history(space, rows, np.zeros(9))
    first = top_proposals(search, hist, range(1000))[:, 0]
    assert stats.kstest(first, "uniform").pvalue > 1e-3


def test_bayes_proposes_near_the_optimum_more_often_than_random():
    _, space = build(LINE)
    hist = quadratic_history(space, 60, seed=0)
    seeds = range(300)
    bayes = top_proposals(ParzenSearch(space), hist, seeds)[:, 0]
    uniform = top_proposals(RandomSearch(space), hist, seeds)[:, 0]
    near_bayes = int(np.sum(np.abs(bayes - OPTIMUM) < 0.05))
    near_random = int(np.sum(np.abs(uniform - OPTIMUM) < 0.05))
    # Random lands within 0.05 one time in ten; bayes must do far better.
    assert stats.binomtest(near_bayes, len(seeds), 0.1, alternative="greater").pvalue < 1e-6
    assert near_bayes > 3 * near_random
    assert np.mean(np.abs(bayes - OPTIMUM)) < np.mean(np.abs(uniform - OPTIMUM)) / 3


def test_a_pending_row_at_the_good_region_pushes_proposals_away():
    """The constant liar: a running experiment at the best point makes it less attractive.

    The Parzen model alone (800 proposals with a GP fit each would take minutes).
    """
    _, space = build(LINE)
    search = ParzenSearch(space, gp=False)
    without, with_pending = [], []
    for history_seed in range(20):
        hist = quadratic_history(space, 15, seed=1000 + history_seed)
        best = hist.completed[np.argmin(hist.scores)]
        busy = history(space, hist.completed, hist.scores, pending=[best])
        seeds = range(20)
        without += list(np.abs(top_proposals(search, hist, seeds)[:, 0] - best[0]))
        with_pending += list(np.abs(top_proposals(search, busy, seeds)[:, 0] - best[0]))
    assert np.mean(with_pending) > np.mean(without)
    assert stats.ttest_rel(with_pending, without, alternative="greater").pvalue < 1e-3


MIXED_TYPES = {
    "act": ["relu", "tanh", "sigmoid"],
    "seed": {"type": "integer", "scalingType": "linear", "min": 1, "max": 5},
    "x": {"type": "double", "min": 0, "max": 1},
}


def mixed_score(params) -> float:
    return ((params["act"] != "tanh") + 0.5 * (params["seed"] != 3)
            + (params["x"] - 0.5) ** 2)


def test_bayes_learns_categorical_and_linear_integer_dimensions():
    _, space = build(MIXED_TYPES, "bayes")
    rows = space.sample_internal(np.random.default_rng(4), 40)
    scores = [mixed_score(space.decode(row)) for row in rows]
    hist = history(space, rows, scores)
    search = ParzenSearch(space)
    proposals = [space.decode(row) for row in top_proposals(search, hist, range(200))]
    for params in proposals:
        assert params["act"] in ("relu", "tanh", "sigmoid")
        assert isinstance(params["seed"], int) and 1 <= params["seed"] <= 5
        assert 0 <= params["x"] <= 1
    tanh = sum(p["act"] == "tanh" for p in proposals)
    three = sum(p["seed"] == 3 for p in proposals)
    assert stats.binomtest(tanh, 200, 1 / 3, alternative="greater").pvalue < 1e-6
    assert stats.binomtest(three, 200, 1 / 5, alternative="greater").pvalue < 1e-6


def test_bayes_works_on_a_space_without_numeric_dimensions():
    _, space = build({"act": ["relu", "tanh"],
                      "seed": {"type": "integer", "scalingType": "linear", "min": 0,
                               "max": 3}}, "bayes")
    rows = space.sample_internal(np.random.default_rng(0), 12)
    hist = history(space, rows, rows[:, 1], pending=rows[:2])
    proposals = ParzenSearch(space).propose(hist, np.random.default_rng(1))
    assert len(proposals) > 0
    for row in proposals:
        params = space.decode(row)
        assert params["act"] in ("relu", "tanh") and params["seed"] in range(4)


@pytest.mark.parametrize("completed", [0, 5, 30])
def test_bayes_rank_is_a_permutation_once_the_model_is_used(completed):
    _, space = build(MIXED_TYPES, "bayes")
    rows = space.sample_internal(np.random.default_rng(2), 50)
    scored = space.sample_internal(np.random.default_rng(3), completed)
    hist = history(space, scored, [mixed_score(space.decode(r)) for r in scored])
    order = ParzenSearch(space).rank(hist, rows)
    if completed < ParzenSearch.settings.n_startup:
        assert order is None  # still random: no opinion, the caller picks at random
    else:
        assert sorted(order.tolist()) == list(range(50))


def test_bayes_rank_puts_the_promising_row_first():
    _, space = build(LINE)
    hist = quadratic_history(space, 40, seed=0)
    order = ParzenSearch(space).rank(hist, np.array([[0.95], [OPTIMUM], [0.7]]))
    assert order[0] == 1


def test_bayes_covers_a_finite_space_without_repeats():
    _, space = build(SQUARE, "bayes")
    search = ParzenSearch(space, n_startup=3)
    rng, seen, rows, scores = np.random.default_rng(0), set(), [], []
    for _ in range(9):
        params = search.suggest(history(space, rows, scores), rng, seen)
        assert params is not None and parameter_set_id(params) not in seen
        seen.add(parameter_set_id(params))
        rows.append(space.encode(params))
        scores.append(float(params["a"]))
    assert search.suggest(history(space, rows, scores), rng, seen) is None


# ---------------------------------------------------------------- make_algorithm


@pytest.mark.parametrize("name, cls", [("grid", GridSearch), ("random", RandomSearch),
                                       ("bayes", ParzenSearch)])
def test_make_algorithm_builds_the_named_algorithm(name, cls):
    config, space = build(SQUARE, name, seed=3, retryLimit=7)
    algorithm = make_algorithm(config, space)
    assert isinstance(algorithm, cls)
    assert algorithm.size == 9


def test_make_algorithm_needs_a_fixed_seed():
    config, space = build(SQUARE, "grid")
    with pytest.raises(ValueError, match="seed"):
        make_algorithm(config, space)


@pytest.mark.parametrize("algorithm", ["random", "grid", "bayes"])
def test_a_suggestion_comes_with_its_pid_as_suggest_would_make_it(algorithm):
    def fresh():
        config, space = build({"x": {"type": "double", "min": 0, "max": 1}, "c": ["a", "b"]},
                              algorithm, seed=3)
        return make_algorithm(config, space)

    search, seen = fresh(), set()
    for i in range(6):
        params, pid = search.suggest_with_id(History.empty(2), np.random.default_rng(i), seen)
        assert pid == parameter_set_id(params) and pid not in seen
        seen.add(pid)
    assert fresh().suggest(History.empty(2), np.random.default_rng(0), set()) == \
        fresh().suggest_with_id(History.empty(2), np.random.default_rng(0), set())[0]


def test_an_algorithm_with_a_suggest_of_its_own_is_asked_through_it():
    class Fixed(RandomSearch):
        def suggest(self, history, rng, seen):
            return {"x": 0.25}

    _, space = build({"x": {"type": "double", "min": 0, "max": 1}})
    params, pid = Fixed(space).suggest_with_id(History.empty(1), np.random.default_rng(0),
                                               set())
    assert params == {"x": 0.25} and pid == parameter_set_id(params)
