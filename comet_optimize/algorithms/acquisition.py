"""Maximising the GP's expected improvement over a mixed space, for `bayes`.

Why a module of its own: the acquisition is optimised in two kinds of moves that
`bayes.py` composes. Continuous parameters move by L-BFGS-B with the closed-form
gradient of log expected improvement (`gp.predict_with_gradient`), every start in
one batched prediction per step. Parameters with finitely many values (integers,
discrete lists and, optionally, categorical choices) move by coordinate search:
each in turn is set to every value it can take (at most ``window`` around its
current one), with the others fixed, and keeps the best. Alternating the two is
how the GP scores only points that can run (no relaxation between two integers)
and still moves every coordinate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize

from comet_optimize.algorithms import gp


def polish_continuous(model: gp.GaussianProcess, best: float, rows: np.ndarray, columns: np.ndarray,
           low: np.ndarray, high: np.ndarray, iterations: int) -> np.ndarray:
    """``rows`` with their ``columns`` moved to a local maximum of log expected
    improvement inside [low, high] (per column): one L-BFGS-B run on the sum over rows
    (they do not interact), analytic gradients."""
    if not len(columns) or not len(rows):
        return rows
    k, width = len(rows), len(columns)
    batch = rows.copy()

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        batch[:, columns] = flat.reshape(k, width)
        mean, std, dmean, dstd = gp.predict_with_gradient(model, batch, columns)
        value, grad = gp.log_expected_improvement_with_gradient(mean, std, dmean, dstd, best)
        return -float(value.sum()), -grad.ravel()

    bounds = list(zip(np.tile(low, k), np.tile(high, k)))
    start = np.clip(rows[:, columns], low, high).ravel()
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": iterations})
    out = rows.copy()
    out[:, columns] = result.x.reshape(k, width)
    return out


def coordinate_search(acquisition: Callable[[np.ndarray], np.ndarray], rows: np.ndarray,
                      grids: list[tuple[int, np.ndarray]], window: int = 64) -> np.ndarray:
    """One sweep over ``grids`` (column, sorted values it can take): each column of every
    row is set to the value that maximises ``acquisition`` with the others fixed, among at
    most ``window`` values around its current one (which is among them, so a row never
    gets worse)."""
    out = rows.copy()
    k = len(out)
    for column, values in grids:
        current = np.clip(np.searchsorted(values, out[:, column]), 0, len(values) - 1)
        if len(values) > window:
            start = np.clip(current - window // 2, 0, len(values) - window)
            index = start[:, None] + np.arange(window)[None, :]
        else:
            index = np.broadcast_to(np.arange(len(values)), (k, len(values)))
        trial = np.repeat(out, index.shape[1], axis=0)
        trial[:, column] = values[index.ravel()]
        score = acquisition(trial).reshape(k, index.shape[1])
        chosen = values[index[np.arange(k), np.argmax(score, axis=1)]]
        keep = score.max(axis=1) <= acquisition(out)  # ties keep the current value
        out[:, column] = np.where(keep, out[:, column], chosen)
    return out
