"""The acquisition's optimisation over a mixed space (`algorithms/acquisition.py`):
closed-form gradients of log expected improvement, the continuous polish and the
coordinate search over integer, discrete and categorical values (issue 12)."""

from __future__ import annotations

import numpy as np

from comet_optimize.algorithms import gp
from comet_optimize.algorithms.acquisition import coordinate_search, polish_continuous
from comet_optimize.algorithms.base import History
from comet_optimize.algorithms.bayes import ParzenSearch
from comet_optimize.config import validate
from comet_optimize.space import Space


def _mixed_model() -> tuple[gp.GaussianProcess, np.ndarray, float]:
    """A GP on 3 ordered dimensions and 1 categorical one (3 choices), fitted to 30 rows."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(30, 4))
    x[:, 3] = rng.integers(0, 3, size=30)
    y = gp.log_transform(np.sin(3 * x[:, 0]) + (x[:, 1] - 0.4) ** 2 + 0.3 * x[:, 3])
    categorical = np.array([False, False, False, True])
    return gp.fit(x, y, categorical, rng), categorical, float(y.min())


def test_the_closed_form_gradients_match_finite_differences() -> None:
    model, _, best = _mixed_model()
    rng = np.random.default_rng(1)
    rows = rng.uniform(size=(6, 4))
    rows[:, 3] = rng.integers(0, 3, size=6)
    columns = np.array([0, 1, 2])
    mean, std, dmean, dstd = gp.predict_with_gradient(model, rows, columns)
    plain_mean, plain_std = model.predict(rows)
    assert np.allclose(mean, plain_mean) and np.allclose(std, plain_std)
    value, grad = gp.log_expected_improvement_with_gradient(mean, std, dmean, dstd, best)
    assert np.allclose(value, gp.log_expected_improvement(plain_mean, plain_std, best))
    h = 1e-7
    for c in columns:
        up, down = rows.copy(), rows.copy()
        up[:, c] += h
        down[:, c] -= h
        numeric = (gp.log_expected_improvement(*model.predict(up), best)
                   - gp.log_expected_improvement(*model.predict(down), best)) / (2 * h)
        assert np.allclose(grad[:, c], numeric, rtol=1e-4, atol=1e-4 * np.abs(numeric).max())


def test_the_polish_never_lowers_the_expected_improvement_and_stays_in_bounds() -> None:
    model, _, best = _mixed_model()
    rng = np.random.default_rng(2)
    rows = rng.uniform(size=(4, 4))
    rows[:, 3] = 1.0
    columns = np.array([0, 1, 2])
    low, high = np.full(3, 0.1), np.full(3, 0.9)
    out = polish_continuous(model, best, rows, columns, low, high, 20)
    start = rows.copy()
    start[:, columns] = np.clip(rows[:, columns], 0.1, 0.9)
    before = gp.log_expected_improvement(*model.predict(start), best)
    after = gp.log_expected_improvement(*model.predict(out), best)
    assert after.sum() >= before.sum() - 1e-9
    assert np.all(out[:, columns] >= 0.1) and np.all(out[:, columns] <= 0.9)
    assert np.array_equal(out[:, 3], rows[:, 3])  # the categorical column is not moved


def test_the_coordinate_search_finds_each_columns_best_value() -> None:
    values = np.arange(10) / 9.0
    target = np.array([values[7], values[2]])

    def acquisition(rows: np.ndarray) -> np.ndarray:
        return -((rows - target) ** 2).sum(axis=1)

    rows = np.array([[values[0], values[9]], [values[7], values[2]], [values[4], values[4]]])
    out = coordinate_search(acquisition, rows, [(0, values), (1, values)])
    assert np.allclose(out, np.tile(target, (3, 1)))
    # A window narrower than the grid moves at most half of it, still only to grid values.
    out = coordinate_search(acquisition, rows[:1], [(0, values), (1, values)], window=4)
    assert np.isin(out, values).all()
    assert acquisition(out)[0] > acquisition(rows[:1])[0]


def test_the_mixed_polish_and_the_coordinate_search_propose_runnable_points() -> None:
    space = Space.from_config(validate({"algorithm": "bayes", "parameters": {
        "x": {"type": "double", "min": 0.0, "max": 1.0},
        "k": {"type": "integer", "min": 0, "max": 30},
        "c": {"type": "categorical", "values": ["a", "b", "c"]}},
        "spec": {"metric": "loss"}}))
    column = {d.name: j for j, d in enumerate(space.dimensions)}
    rng = np.random.default_rng(3)
    params = [{"x": a, "k": int(k), "c": "abc"[c]} for a, k, c in
              zip(rng.uniform(size=30), rng.integers(0, 31, size=30), rng.integers(0, 3, 30))]
    x = np.array([space.encode(p) for p in params])
    scores = np.array([(p["x"] - 0.3) ** 2 + ((p["k"] - 21) / 30) ** 2
                       + 0.2 * (p["c"] != "b") for p in params])
    history = History(x, scores, np.empty((0, 3)))
    for settings in ({"gp_mixed_search": 2}, {"gp_mixed_search": 2,
                                              "gp_categorical_search": True},
                     {"gp_discrete_search": True, "gp_categorical_search": True}):
        search = ParzenSearch(space, **settings)
        rows = search._gp_proposals(history, search._estimators(history)[0],
                                    np.random.default_rng(4))
        for row in rows[:20]:
            assert np.allclose(space.encode(space.decode(row)), row)
        best = space.decode(rows[0])
        assert abs(best["k"] - 21) <= 6 and abs(best["x"] - 0.3) < 0.2, best
    assert column["k"] in [c for c, _, _ in search.grids]
