"""How often does a method hand out a parameter set it already tried?

    python benchmarks/quality/duplicates.py --out benchmarks/results/duplicates.json

Space: 3 integers in 1..5 (125 points, uniform), 100 trials, several seeds. Reports the
fraction of trials that repeat an earlier point (0 is what our SPEC promises).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from methods import METHODS  # noqa: E402
from problems import Problem  # noqa: E402

DUP_METHODS = ["ours-bayes", "ours-random", "optuna-tpe", "optuna-random", "hyperopt-tpe"]


def integer_cube(seen: list[tuple[int, ...]]) -> Problem:
    def objective(p: dict[str, Any]) -> float:
        x, y, z = int(p["x"]), int(p["y"]), int(p["z"])
        seen.append((x, y, z))
        return (x - 2) ** 2 + (y - 4) ** 2 + 0.5 * (z - 3) ** 2 + 0.1 * x * y

    space = {k: {"type": "integer", "min": 1, "max": 5, "scalingType": "uniform"}
             for k in "xyz"}
    return Problem("int_cube", "3 integers in 1..5", space, objective, 0.0)


def repeat_fraction(method: str, n_trials: int, seed: int) -> float:
    seen: list[tuple[int, ...]] = []
    METHODS[method](integer_cube(seen), n_trials, seed)
    return 1 - len(set(seen)) / len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=DUP_METHODS, choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/duplicates.json"))
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    lines = ["| method | repeated trials (mean) | min | max |", "|---|---|---|---|"]
    for method in args.methods:
        try:
            fractions = [repeat_fraction(method, args.trials, s) for s in range(args.seeds)]
        except Exception as exc:
            print(f"{method} failed: {exc!r}", file=sys.stderr)
            continue
        results[method] = fractions
        lines.append(f"| {method} | {np.mean(fractions):.1%} | {min(fractions):.1%} | "
                     f"{max(fractions):.1%} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"trials": args.trials, "repeat_fraction": results,
                                    "table": table}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
