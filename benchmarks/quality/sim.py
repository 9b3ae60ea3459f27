"""A fast in-process stand-in for `parallel.py` and `tune.py`: `ParzenSearch` driven
directly (no store, no processes), with ``workers`` experiments in flight.

    python benchmarks/quality/sim.py --workers 1 4 --seeds 10 --trials 20 \
        [--problems branin hartmann6 ...] [--variant '{"gp": false}']

With w workers, the first w suggestions are made with 0..w-1 pending experiments and
none completed; from then on each suggestion sees the w-1 experiments handed out most
recently as pending (the oldest in flight completes first), as `parallel.py`'s workers
do when their evaluations take similar times. It is deterministic (a seed gives the same
run), so variants of the parallel handling can be compared in minutes; `parallel.py`
remains the real check. Scores as in `run.py`.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import numpy as np  # noqa: E402

BUDGETS = (20, 50, 100)


def simulate(problem_name: str, seed: int, trials: int, workers: int,
             variant: dict, timed: bool = False) -> list[float]:
    """Losses in the order the experiments were handed out.

    ``timed``: instead of w-1 always pending, a clock: suggestions are made one at a time
    (under the store's lock) and take 30 ms once a model runs (2 ms in the start-up), an
    evaluation takes 5-20 ms (as in `parallel.py`), so fewer are pending while the GP is
    slower than an evaluation."""
    if timed:
        return _timed(problem_name, seed, trials, workers, variant)
    from methods import comet_config
    from problems import PROBLEMS

    from comet_optimize.algorithms.base import History
    from comet_optimize.algorithms.bayes import ParzenSearch
    from comet_optimize.config import validate
    from comet_optimize.space import Space, parameter_set_id

    problem = PROBLEMS[problem_name]
    config = validate(comet_config(problem, "bayes", trials, seed))
    space = Space.from_config(config)
    search = ParzenSearch(space, seed=seed, **variant)
    d = len(space.dimensions)
    rows: list[np.ndarray] = []  # handed out, in order
    losses: list[float] = []
    done: list[int] = []  # indices of completed experiments, in completion order
    seen: set[str] = set()
    flight: list[int] = []  # handed out and running, oldest first
    for count in range(trials):
        while len(flight) >= workers:  # the oldest in flight completes
            done.append(flight.pop(0))
        completed = np.array([rows[i] for i in done]).reshape(-1, d)
        scores = np.array([losses[i] for i in done])
        pending = np.array([rows[i] for i in flight]).reshape(-1, d)
        history = History(completed, scores, pending)
        rng = np.random.default_rng([seed, count])
        params = search.suggest(history, rng, seen)
        seen.add(parameter_set_id(params))
        flight.append(len(rows))
        rows.append(space.encode(params))
        losses.append(float(problem.objective(params)))
    return losses


def _timed(problem_name: str, seed: int, trials: int, workers: int,
           variant: dict) -> list[float]:
    from methods import comet_config
    from problems import PROBLEMS

    from comet_optimize.algorithms.base import History
    from comet_optimize.algorithms.bayes import ParzenSearch
    from comet_optimize.config import validate
    from comet_optimize.space import Space, parameter_set_id

    problem = PROBLEMS[problem_name]
    space = Space.from_config(validate(comet_config(problem, "bayes", trials, seed)))
    search = ParzenSearch(space, seed=seed, **variant)
    d = len(space.dimensions)
    clock = np.random.default_rng([seed, 99])
    rows, losses, finish = [], [], []  # per experiment, in hand-out order
    ready = [0.0] * workers  # when each worker next asks
    lock_free, seen = 0.0, set()
    for count in range(trials):
        worker = int(np.argmin(ready))
        start = max(ready[worker], lock_free)
        done = [i for i in range(len(rows)) if finish[i] <= start]
        done.sort(key=lambda i: finish[i])
        flight = [i for i in range(len(rows)) if finish[i] > start]
        history = History(np.array([rows[i] for i in done]).reshape(-1, d),
                          np.array([losses[i] for i in done]),
                          np.array([rows[i] for i in flight]).reshape(-1, d))
        params = search.suggest(history, np.random.default_rng([seed, count]), seen)
        seen.add(parameter_set_id(params))
        rows.append(space.encode(params))
        losses.append(float(problem.objective(params)))
        lock_free = start + (0.030 if len(done) >= search.settings.n_startup else 0.002)
        finish.append(lock_free + clock.uniform(0.005, 0.02))
        ready[worker] = finish[-1]
    return losses


def _task(task: tuple) -> tuple:
    from problems import PROBLEMS
    from scoring import scores

    problem, seed, trials, workers, variant, budgets, timed = task
    losses = simulate(problem, seed, trials, workers, json.loads(variant), timed)
    return problem, seed, workers, variant, scores(PROBLEMS[problem], losses, budgets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+",
                        default=["branin", "hartmann6", "bbob_f21_5d", "mixed7", "log4"])
    parser.add_argument("--half", choices=["tuning", "confirming", "both"],
                        help="the problems of one half of the suite (instead of --problems)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--variants", nargs="+", default=["{}"])
    parser.add_argument("--budgets", type=int, nargs="+", default=None,
                        help="trial counts to score at (default: 20 / 50 / 100 up to --trials)")
    parser.add_argument("--timed", action="store_true",
                        help="a clock instead of w-1 always pending (see simulate)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--partial", type=Path,
                        help="append each run as one JSON line as soon as it ends")
    parser.add_argument("--tune-out", type=Path,
                        help="also write the one-worker runs as `tune.py --out` does "
                             "(variant, problem, seed, scores), for `tables.py`")
    args = parser.parse_args()
    if args.half:
        from problems import HALVES

        args.problems = (HALVES["tuning"] + HALVES["confirming"] if args.half == "both"
                         else HALVES[args.half])
    budgets = args.budgets or [b for b in BUDGETS if b <= args.trials]
    # Seed by seed, every problem, worker count and variant of a seed together, so that
    # a run stopped early still gives paired comparisons (see --partial).
    tasks = [(p, s, args.trials, w, v, budgets, args.timed)
             for s in range(args.first_seed, args.first_seed + args.seeds)
             for p in args.problems for w in args.workers for v in args.variants]
    results = []
    with mp.get_context("fork").Pool(args.jobs) as pool:
        for result in pool.imap(_task, tasks, chunksize=1):
            results.append(result)
            if args.partial:
                with args.partial.open("a") as out:
                    out.write(json.dumps(result) + "\n")
    if args.out:
        args.out.write_text(json.dumps(results))
    if args.tune_out:
        args.tune_out.write_text(json.dumps([[v, p, s, score] for p, s, w, v, score
                                             in results if w == 1]))
    print("| variant | workers | " + " | ".join(f"@{b}" for b in budgets) + " |")
    for v in args.variants:
        for w in args.workers:
            per = [np.mean([r[4] for r in results if r[0] == p and r[2] == w and r[3] == v],
                           axis=0) for p in args.problems]
            runs = np.array([r[4] for r in results if r[2] == w and r[3] == v])
            se = runs.std(axis=0, ddof=1) / math.sqrt(len(runs))
            cells = " | ".join(f"{m:.1f} ± {e:.1f}" for m, e in zip(np.mean(per, axis=0), se))
            print(f"| {v} | {w} | {cells} |")
            print("   " + "  ".join(f"{p}:{np.round(x[0], 0)}" for p, x in
                                    zip(args.problems, per)))


if __name__ == "__main__":
    main()
