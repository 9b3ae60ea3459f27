"""Per-suggestion overhead (suggest + report, free objective) as the history grows.

    python benchmarks/quality/speed.py --out benchmarks/results/speed.json

Each method runs 1000 trials on a 5-D and a 20-D box with a sphere objective. The
time of trial i is the wall time between two objective calls, so it covers the
method's whole round trip (ours: ask the public API, log the metric, the file store).
We report the mean over windows ending at 100, 500 and 1000 trials.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from methods import METHODS  # noqa: E402
from problems import Problem  # noqa: E402

WINDOWS = {100: (90, 100), 500: (490, 500), 1000: (990, 1000)}
SPEED_METHODS = ["ours-bayes", "optuna-tpe", "hyperopt-tpe"]


def sphere_problem(dimension: int, stamps: list[float]) -> Problem:
    def objective(params: dict[str, float]) -> float:
        stamps.append(time.perf_counter())
        return float(sum((v - 0.3) ** 2 for v in params.values()))

    space = {f"x{i}": {"type": "double", "min": 0.0, "max": 1.0, "scalingType": "uniform"}
             for i in range(dimension)}
    return Problem(f"sphere{dimension}", f"sphere, {dimension}-D", space, objective, 0.0)


def measure(method: str, dimension: int, n_trials: int, seed: int) -> dict[str, float]:
    stamps: list[float] = []
    start = time.perf_counter()
    METHODS[method](sphere_problem(dimension, stamps), n_trials, seed)
    per_trial = np.diff([start, *stamps]) * 1000  # ms; trial i ends at stamps[i]
    if len(per_trial) != n_trials:
        raise RuntimeError(f"{method} ran {len(per_trial)} trials, not {n_trials}")
    return {str(at): float(per_trial[lo:hi].mean())
            for at, (lo, hi) in WINDOWS.items() if hi <= len(per_trial)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--methods", nargs="+", default=SPEED_METHODS, choices=list(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/speed.json"))
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for dim in args.dimensions:
        for method in args.methods:
            start = time.perf_counter()
            try:
                results.setdefault(f"{dim}-D", {})[method] = measure(
                    method, dim, args.trials, args.seed)
            except Exception as exc:  # report the others even if one is broken
                print(f"{method} {dim}-D failed: {exc!r}")
                continue
            print(f"{method} {dim}-D: {time.perf_counter() - start:.1f} s total")

    ats = [str(a) for a, (_, hi) in WINDOWS.items() if hi <= args.trials]
    lines = ["| problem | method | " + " | ".join(f"ms/trial @{a}" for a in ats) + " |",
             "|---|---|" + "---|" * len(ats)]
    for dim, by_method in results.items():
        for method, ms in by_method.items():
            lines.append(f"| {dim} | {method} | " +
                         " | ".join(f"{ms[a]:.2f}" for a in ats) + " |")
        if "ours-bayes" in by_method and "optuna-tpe" in by_method:
            ours, tpe = by_method["ours-bayes"], by_method["optuna-tpe"]
            lines.append(f"| {dim} | **ours / optuna** | " +
                         " | ".join(f"**{ours[a] / tpe[a]:.2f}x**" for a in ats) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"windows": WINDOWS, "ms_per_trial": results,
                                    "table": table}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
