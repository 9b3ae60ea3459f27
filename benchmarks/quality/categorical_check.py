"""Side check, outside the two halves: does the GP help or hurt on categorical-heavy spaces?

Two problems made for this check and never tuned on: `cat_table` (6 categoricals with
random main effects and pairwise interactions, and a learning rate whose best value
depends on one of them) and `cat_gbm` (4 categoricals of a boosted-trees model, a depth
and a learning rate; one booster ignores the depth: a plateau). Compares the default
`bayes` (the GP decides on any space with an ordered parameter) with the Parzen
estimator alone there (`gp_unordered_limit` 0.5, the previous default), a Mann-Whitney
test per budget, and optionally Optuna's samplers on the same problems.

    nice -n 19 python benchmarks/quality/categorical_check.py --seeds 20 \\
        [--peers optuna-tpe,optuna-gp --peer-seeds 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import problems as P  # noqa: E402
from problems import Problem, _double, _integer  # noqa: E402

BUDGETS = (20, 50, 100)
_rng = np.random.default_rng(2026)
CATS = {f"c{i}": [f"v{j}" for j in range(k)] for i, k in enumerate([4, 3, 5, 3, 4, 2])}
MAIN = {name: _rng.normal(0, 1, len(values)) for name, values in CATS.items()}
PAIRS = [("c0", "c1"), ("c2", "c3"), ("c1", "c4"), ("c0", "c5")]
INTERACTION = {pair: _rng.normal(0, 0.7, (len(CATS[pair[0]]), len(CATS[pair[1]])))
               for pair in PAIRS}
BEST_LOG_LR = _rng.uniform(-4, -1, len(CATS["c0"]))
TABLE_PARAMETERS = {name: {"type": "categorical", "values": values}
                    for name, values in CATS.items()}
TABLE_PARAMETERS["lr"] = _double(1e-5, 1.0, "loguniform")


def cat_table(p: dict) -> float:
    index = {name: CATS[name].index(p[name]) for name in CATS}
    main = sum(MAIN[name][index[name]] for name in CATS)
    pairs = sum(INTERACTION[(a, b)][index[a], index[b]] for a, b in PAIRS)
    return main + pairs + 0.5 * (math.log10(float(p["lr"])) - BEST_LOG_LR[index["c0"]]) ** 2


def _table_optimum() -> float:
    best = math.inf
    for combo in itertools.product(*[range(len(values)) for values in CATS.values()]):
        p = {name: CATS[name][i] for name, i in zip(CATS, combo)}
        p["lr"] = 10 ** BEST_LOG_LR[combo[0]]
        best = min(best, cat_table(p))
    return best


GBM_PARAMETERS = {
    "booster": {"type": "categorical", "values": ["gbtree", "dart", "gblinear"]},
    "grow": {"type": "categorical", "values": ["depthwise", "lossguide"]},
    "obj": {"type": "categorical", "values": ["logistic", "hinge", "squared"]},
    "method": {"type": "categorical", "values": ["exact", "approx", "hist"]},
    "depth": _integer(1, 12),
    "eta": _double(1e-3, 1.0, "loguniform"),
}
_BOOSTER = {"gbtree": 0.0, "dart": 0.05, "gblinear": 0.4}
_OBJECTIVE = {"logistic": 0.0, "hinge": 0.15, "squared": 0.25}
_METHOD = {"exact": 0.0, "approx": 0.06, "hist": 0.02}


def cat_gbm(p: dict) -> float:
    booster, grow, method = p["booster"], p["grow"], p["method"]
    depth, log_eta = int(p["depth"]), math.log10(float(p["eta"]))
    base = _BOOSTER[booster] + _OBJECTIVE[p["obj"]]
    if booster == "gblinear":
        return base + 0.3 + 0.1 * (log_eta + 1.0) ** 2  # depth and growth ignored: a plateau
    best_depth = 6 if grow == "depthwise" else 9
    clash = 0.1 if (method == "approx" and grow == "lossguide") else 0.0
    eta = 0.3 * (log_eta + 1.3 + (0.3 if booster == "dart" else 0.0)) ** 2
    return base + 0.02 * (depth - best_depth) ** 2 + _METHOD[method] + clash + eta


P.PROBLEMS["cat_table"] = Problem("cat_table", "6 categoricals + a learning rate",
                                  TABLE_PARAMETERS, cat_table, _table_optimum())
P.PROBLEMS["cat_gbm"] = Problem("cat_gbm", "4 categoricals + depth + learning rate",
                                GBM_PARAMETERS, cat_gbm, 0.0)
VARIANTS = ({}, {"gp_unordered_limit": 0.5})
NAMES = ("cat_table", "cat_gbm")


def ours(task: tuple) -> tuple:
    name, seed, variant = task
    import sim
    from scoring import scores

    losses = sim.simulate(name, seed, BUDGETS[-1], 1, variant)
    return json.dumps(variant), name, scores(P.PROBLEMS[name], losses, BUDGETS)


def peer(task: tuple) -> tuple:
    method, name, seed = task
    from methods import METHODS
    from scoring import scores

    losses = METHODS[method](P.PROBLEMS[name], BUDGETS[-1], seed)
    return method, name, scores(P.PROBLEMS[name], losses, BUDGETS)


def summary(rows: list, label: str, name: str) -> tuple[np.ndarray, str]:
    a = np.array([r for (who, n, r) in rows if who == label and n == name])
    text = " / ".join(f"{m:.1f} ± {s:.1f}" for m, s in
                      zip(a.mean(0), a.std(0, ddof=1) / math.sqrt(len(a))))
    return a, text


def main() -> None:
    from scipy.stats import mannwhitneyu

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--peers", default="")
    parser.add_argument("--peer-seeds", type=int, default=5)
    args = parser.parse_args()
    peers = [m for m in args.peers.split(",") if m]
    with Pool(2) as pool:
        rows = pool.map(ours, [(n, s, v) for n in NAMES for s in range(args.seeds)
                               for v in VARIANTS])
        rows += pool.map(peer, [(m, n, s) for m in peers for n in NAMES
                                for s in range(args.peer_seeds)])
    default, parzen = (json.dumps(v) for v in VARIANTS)
    print("problem | method | score @20 / @50 / @100 (mean ± s.e.)")
    for name in NAMES:
        a, text = summary(rows, default, name)
        print(f"{name} | bayes (default) | {text}")
        b, text = summary(rows, parzen, name)
        print(f"{name} | bayes, Parzen alone | {text}")
        print(f"{name} | Mann-Whitney p | "
              + " / ".join(f"{mannwhitneyu(a[:, k], b[:, k]).pvalue:.3f}" for k in range(3)))
        for method in peers:
            print(f"{name} | {method} | {summary(rows, method, name)[1]}")


if __name__ == "__main__":
    main()
