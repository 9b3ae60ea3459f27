"""Which parameters matter: permutation importance of a random forest (scikit-learn).

A random forest fitted to (parameters -> score) handles categorical,
integer and log-scaled parameters and their interactions without tuning;
permutation importance then asks the fitted forest how much worse it
predicts held-out results when one parameter's column is shuffled. Both are
scikit-learn's, not ours: we only encode the columns and word the result.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

MIN_RESULTS = 8  # fewer completed results than this: no importance is shown
MAX_ROWS = 1000  # a bigger search is subsampled (seeded) to keep the report fast
TREES = 50
REPEATS = 5
HOLD_OUT_FROM = 40  # fewer results: judged out of bag instead of on a held-out quarter


def _scored(payload: dict[str, Any]) -> list[list[Any]]:
    """The rows of the completed experiments with a finite score."""
    score_at = payload["fields"].index("score")
    return [row for row in payload["rows"] if row[score_at] is not None]


def _columns(payload: dict[str, Any],
             rows: list[list[Any]]) -> tuple[list[list[float]], list[float]]:
    """Encoded parameter rows and scores of ``rows`` (scored rows of the payload)."""
    axes = payload["parameters"]
    first = len(payload["fields"])
    score_at = payload["fields"].index("score")
    x, y = [], []
    for row in rows:
        score = row[score_at]
        values = []
        for axis, value in zip(axes, row[first:]):
            if value is None:
                value = math.nan
            elif axis.get("log") and value > 0:
                value = math.log10(value)
            values.append(float(value))
        x.append(values)
        y.append(float(score))
    return x, y


def compute(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"items": [{name, importance, spread}], "method": sentence, ...}`` or a ``note``."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    names = [axis["name"] for axis in payload["parameters"]]
    scored = _scored(payload)
    results = len(scored)
    if results < MIN_RESULTS or not names:
        return {"items": [], "note": f"Parameter importance needs at least {MIN_RESULTS} "
                                     f"completed experiments with a score (this search has "
                                     f"{results})."}
    rng = np.random.default_rng(0)
    if results > MAX_ROWS:  # the sample first: only its rows are encoded
        keep = rng.choice(results, MAX_ROWS, replace=False)
        scored = [scored[i] for i in keep]
    x, y = _columns(payload, scored)
    x_all, y_all = np.asarray(x), np.asarray(y)
    if float(np.ptp(y_all)) == 0.0:
        return {"items": [{"name": n, "importance": 0.0, "spread": 0.0} for n in names],
                "note": "Every completed experiment has the same score: no parameter "
                        "explains any difference."}
    forest = RandomForestRegressor(n_estimators=TREES, min_samples_leaf=2, random_state=0,
                                   n_jobs=1, oob_score=True)
    if len(y_all) >= HOLD_OUT_FROM:
        x_fit, x_test, y_fit, y_test = train_test_split(x_all, y_all, test_size=0.25,
                                                        random_state=0)
        forest.fit(x_fit, y_fit)
        fit_quality = float(forest.score(x_test, y_test))
        quality = f"on the {len(y_test)} held-out experiments"
        among = f"among {len(y_test)} held-out experiments"
    else:  # too few to hold some out: shuffle the fitted ones, judge the fit out of bag
        x_fit, x_test, y_fit, y_test = x_all, x_all, y_all, y_all
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few rows may have no out-of-bag prediction
            forest.fit(x_fit, y_fit)
        fit_quality = float(forest.oob_score_)
        quality = "out of bag (on the experiments each tree did not see)"
        among = f"among the {len(y_test)} experiments it was fitted to (too few to hold some out)"
    if fit_quality < 0:  # worse than predicting the mean: its importances would mislead
        return {"items": [], "r2": fit_quality, "results": results,
                "note": f"No parameter importance yet: a random forest fitted to {len(y_fit)} "
                        f"completed experiments predicts scores worse than their mean would "
                        f"(R\u00b2 {quality}: {fit_quality:.2f}). More results will help."}
    result = permutation_importance(forest, x_test, y_test, n_repeats=REPEATS,
                                    random_state=0, n_jobs=1)
    items = [{"name": name, "importance": float(mean), "spread": float(std)}
             for name, mean, std in zip(names, result.importances_mean,
                                        result.importances_std)]
    items.sort(key=lambda item: -item["importance"])
    sampled = f" (a seeded sample of {len(y_all)} of {results})" if results > len(y_all) else ""
    method = (
        f"Permutation importance of a random forest: scikit-learn's RandomForestRegressor "
        f"({TREES} trees) was fitted to the scores of {len(y_fit)} completed experiments"
        f"{sampled}, then each parameter's values were shuffled {REPEATS} times {among}; "
        f"a bar is the mean drop of the forest's R\u00b2 on them, its whisker the spread "
        f"over the shuffles. The forest's R\u00b2 {quality} is {fit_quality:.2f}"
        + ("; below about 0.3 it explains little, so read the bars with care."
           if fit_quality < 0.3 else ".")
    )
    return {"items": items, "method": method, "r2": fit_quality, "results": results}
