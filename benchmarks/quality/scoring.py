"""Scores: 0 = random search at the same budget, 100 = the optimum.

    score(N) = 100 * (R(N) - best_N) / (R(N) - opt), clipped below at -100

best_N is the best loss among a run's first N trials. R(N) is the expected best of N
independent draws from the config's own distribution, computed exactly from a sorted
pool of random evaluations with the order-statistics formula (no resampling):

    E[min of N draws from pool v_1 <= ... <= v_M] = sum_i v_i * (((M-i+1)/M)^N - ((M-i)/M)^N)

Pools: cheap problems draw `problem.pool_size` points on the fly (fixed seed); slow ML
problems cache theirs in data/pool_<name>.txt; the tabular problem uses its whole table
(the exact distribution of a uniform draw). `opt` is the known optimum where there is
one, else the best loss ever seen, stored in data/optima.json so scores stay stable.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Sequence

import numpy as np
from problems import DATA, Problem, known_optimum, rf_table
from sampling import sample

POOL_SEED = 20240601
OPTIMA = DATA / "optima.json"


def expected_min(sorted_pool: np.ndarray, n: int) -> float:
    """Expected minimum of n draws (with replacement) from an ascending pool."""
    m = len(sorted_pool)
    above = (m - np.arange(m)) / m  # P(one draw >= v_i) for i = 1..m
    weights = above**n - np.append(above[1:], 0.0) ** n
    return float(weights @ sorted_pool)


def _pool_file(problem: Problem) -> str:
    return str(DATA / f"pool_{problem.name}.txt")


def _draw_pool(problem: Problem) -> np.ndarray:
    rng = np.random.default_rng(POOL_SEED)
    return np.array([problem.objective(sample(problem.parameters, rng))
                     for _ in range(problem.pool_size)])


@functools.cache
def pool(problem: Problem) -> np.ndarray:
    """Sorted losses of random draws from the config's distribution."""
    if problem.name == "rf_table":
        return np.sort(np.array(list(rf_table().values())))
    if not problem.slow:
        return np.sort(_draw_pool(problem))
    try:
        values = np.loadtxt(_pool_file(problem))
    except OSError:
        start = time.perf_counter()
        values = _draw_pool(problem)
        np.savetxt(_pool_file(problem), values, fmt="%.10g",
                   header=f"{problem.name}: {len(values)} random evaluations, "
                          f"numpy default_rng({POOL_SEED}), benchmarks/quality/sampling.py "
                          f"({time.perf_counter() - start:.0f} s)")
    return np.sort(values)


def stored_optima() -> dict[str, float]:
    try:
        return json.loads(OPTIMA.read_text())
    except FileNotFoundError:
        return {}


def optimum(problem: Problem) -> float:
    known = known_optimum(problem)
    if known is not None:
        return known
    return min(stored_optima().get(problem.name, math.inf), float(pool(problem)[0]))


def update_optima(best_seen: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Lower stored optima to new bests (unknown-optimum problems only); returns changes."""
    stored, changed = stored_optima(), {}
    for name, value in best_seen.items():
        old = stored.get(name, math.inf)
        if value < old:
            stored[name] = value
            changed[name] = (old, value)
    if changed:
        OPTIMA.write_text(json.dumps(dict(sorted(stored.items())), indent=2) + "\n")
    return changed


def score(losses: Sequence[float], n: int, random_best: float, opt: float) -> float:
    best = min(losses[:n])
    return max(-100.0, 100.0 * (random_best - best) / (random_best - opt))


@functools.cache
def random_best(problem: Problem, n: int) -> float:
    """R(n): the expected best loss of n random draws."""
    return expected_min(pool(problem), n)


def scores(problem: Problem, losses: Sequence[float], budgets: Sequence[int]) -> list[float]:
    opt = optimum(problem)
    return [score(losses, n, random_best(problem, n), opt) for n in budgets]
