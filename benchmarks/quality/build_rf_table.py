"""Build data/rf_table.csv: the 3-fold CV error of a random forest on digits, every cell.

The grid is exactly problems.RF_PARAMETERS (their product is the table). Run once
(about 5 minutes on 2 cores); the benchmark only reads the CSV.

    python benchmarks/quality/build_rf_table.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import os
import time
from multiprocessing import Pool
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from problems import RF_PARAMETERS, RF_TABLE  # noqa: E402


def cells() -> list[dict[str, Any]]:
    names = list(RF_PARAMETERS)
    grids = [RF_PARAMETERS[n]["values"] for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold

    x, y = load_digits(return_X_y=True)
    return x, y, list(StratifiedKFold(3, shuffle=True, random_state=0).split(x, y))


def cv_error(cell: dict[str, Any]) -> float:
    from sklearn.ensemble import RandomForestClassifier

    x, y, folds = digits()
    errors = []
    for train, test in folds:
        model = RandomForestClassifier(
            n_estimators=cell["n_estimators"], max_depth=cell["max_depth"],
            max_features=cell["max_features"], min_samples_leaf=cell["min_samples_leaf"],
            criterion=cell["criterion"], bootstrap=cell["bootstrap"] == "true",
            random_state=0, n_jobs=1)
        model.fit(x[train], y[train])
        errors.append(np.mean(model.predict(x[test]) != y[test]))
    return float(np.mean(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    todo = cells()
    start = time.perf_counter()
    with Pool(args.jobs) as pool:
        losses = pool.map(cv_error, todo, chunksize=16)
    RF_TABLE.parent.mkdir(exist_ok=True)
    with open(RF_TABLE, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*RF_PARAMETERS, "loss"])
        writer.writeheader()
        for cell, loss in zip(todo, losses, strict=True):
            writer.writerow({**cell, "loss": f"{loss:.6f}"})
    print(f"{len(todo)} cells, best {min(losses):.4f}, worst {max(losses):.4f}, "
          f"{time.perf_counter() - start:.0f} s -> {RF_TABLE}")


if __name__ == "__main__":
    main()
