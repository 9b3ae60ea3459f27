"""Parallel quality: ours-bayes with 4 worker processes on one search vs sequential.

    python benchmarks/quality/parallel.py --out benchmarks/results/parallel.json

The parent creates the optimizer (`Optimizer(config)`); each of 4 child processes attaches
with `Optimizer(opt_id, store=...)` and loops `get_experiments()`, as `comet optimize -j 4`
workers would. Each evaluation sleeps 5-20 ms so that workers overlap and bayes must
suggest while others are still running. Losses are put in the order the experiments
were handed out; the budget (100) and scoring are the same as run.py's.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scoring  # noqa: E402
from methods import METHODS, REPO, comet_config  # noqa: E402
from problems import PROBLEMS  # noqa: E402

BUDGETS = (20, 50, 100)
DEFAULT_PROBLEMS = ["branin", "hartmann6", "bbob_f21_5d", "mixed7", "log4"]


def _worker(opt_id: str, store: str, problem: str, seed: int, worker: int, queue: Any) -> None:
    from comet_optimize import Optimizer

    jitter = random.Random(seed * 100 + worker)
    opt = Optimizer(opt_id, store=store, verbose=0)
    for experiment in opt.get_experiments():
        handed_out = time.monotonic()  # system-wide clock: comparable across processes
        params = experiment.params
        loss = PROBLEMS[problem].objective(params)
        time.sleep(jitter.uniform(0.005, 0.02))
        experiment.log_metric("loss", loss)
        queue.put((handed_out, loss, repr(sorted(params.items())), worker))
    queue.put(None)


def run_parallel(problem: str, n_trials: int, seed: int, workers: int) -> dict[str, Any]:
    from comet_optimize import Optimizer

    store = tempfile.mkdtemp(prefix="cobench-par-")
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    try:
        config = comet_config(PROBLEMS[problem], "bayes", n_trials, seed)
        opt_id = Optimizer(config, verbose=0, store=store).get_id()
        procs = [ctx.Process(target=_worker, args=(opt_id, store, problem, seed, w, queue))
                 for w in range(workers)]
        for p in procs:
            p.start()
        results, done, deadline = [], 0, time.monotonic() + 300
        while done < workers and time.monotonic() < deadline:
            try:
                item = queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                break
            if item is None:
                done += 1
            else:
                results.append(item)
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
        results.sort()
        return {"losses": [r[1] for r in results],
                "distinct": len({r[2] for r in results}),
                "per_worker": [sum(r[3] == w for r in results) for w in range(workers)],
                "exit_codes": [p.exitcode for p in procs]}
    finally:
        shutil.rmtree(store, ignore_errors=True)


def _summary(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values)
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS, choices=list(PROBLEMS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--variant", default=None,
                        help='ParzenSettings fields as JSON (default: the shipped settings), '
                             'e.g. \'{"gp": false}\'')
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/parallel.json"))
    args = parser.parse_args()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if args.variant:  # before any worker is forked, so that every process uses it
        from dataclasses import replace

        from comet_optimize.algorithms.bayes import ParzenSearch, ParzenSettings

        ParzenSearch.settings = replace(ParzenSettings(), **json.loads(args.variant))
    os.environ.pop("COMET_OPTIMIZER_ID", None)
    budgets = [n for n in BUDGETS if n <= args.trials]
    start = time.perf_counter()
    rows, raw = [], []
    for name in args.problems:
        problem = PROBLEMS[name]
        seq_scores, par_scores = [], []
        for seed in range(args.seeds):
            seq = METHODS["ours-bayes"](problem, args.trials, seed)
            par = run_parallel(name, args.trials, seed, args.workers)
            raw.append({"problem": name, "seed": seed, "sequential": seq, **par})
            if len(par["losses"]) < args.trials:
                print(f"{name} seed {seed}: parallel run gave {len(par['losses'])} results "
                      f"(exit codes {par['exit_codes']})", file=sys.stderr)
                continue
            seq_scores.append(scoring.scores(problem, seq, budgets))
            par_scores.append(scoring.scores(problem, par["losses"], budgets))
        rows.append((name, np.array(seq_scores), np.array(par_scores)))

    lines = ["| problem | runs | " + " | ".join(
        f"seq @{n} | par @{n} | par - seq @{n}" for n in budgets) + " |",
        "|---|---|" + "---|---|---|" * len(budgets)]
    for name, seq, par in rows:
        cells = []
        for j in range(len(budgets)):
            (ms, ss), (mp_, sp) = _summary(seq[:, j]), _summary(par[:, j])
            cells.append(f"{ms:.1f} ± {ss:.1f} | {mp_:.1f} ± {sp:.1f} | "
                         f"{mp_ - ms:+.1f} ± {math.hypot(ss, sp):.1f}")
        lines.append(f"| {name} | {len(seq)} | " + " | ".join(cells) + " |")
    cells = []
    for j in range(len(budgets)):  # mean over problems; s.e. from the per-problem s.e.s
        stats = [(_summary(seq[:, j]), _summary(par[:, j])) for _, seq, par in rows]
        ms = float(np.mean([s[0][0] for s in stats]))
        mp_ = float(np.mean([s[1][0] for s in stats]))
        se = math.sqrt(sum(s[0][1] ** 2 + s[1][1] ** 2 for s in stats)) / len(stats)
        cells.append(f"**{ms:.1f}** | **{mp_:.1f}** | **{mp_ - ms:+.1f} ± {se:.1f}**")
    lines.append(f"| **average** | {sum(len(seq) for _, seq, _ in rows)} | " +
                 " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    print(f"{time.perf_counter() - start:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"workers": args.workers, "budgets": budgets,
                                    "table": table, "runs": raw}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
