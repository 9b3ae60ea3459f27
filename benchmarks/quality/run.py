"""Search-quality benchmark: every method on every problem, several seeds, scored.

    python benchmarks/quality/run.py --out benchmarks/results/quality.json          # full
    python benchmarks/quality/run.py --quick --out benchmarks/results/quick.json    # < 3 min

One run of 100 trials gives the scores at 20, 50 and 100 trials (its prefixes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker process

import baseline  # noqa: E402
import numpy as np  # noqa: E402
import report  # noqa: E402
import scoring  # noqa: E402
from methods import METHODS, OURS, applies  # noqa: E402
from problems import HALVES, PROBLEMS, known_optimum  # noqa: E402

BUDGETS = (20, 50, 100)
QUICK_PROBLEMS = ["branin", "hartmann6", "bbob_f21_5d", "mixed7", "log4", "tree_cancer",
                  "rf_table"]
QUICK_SEEDS = 5


def run_one(task: tuple[str, str, int, int, bool]) -> dict[str, Any]:
    problem, method, seed, n_trials, rerun = task
    start = time.perf_counter()
    try:
        cached = None if rerun or method in OURS else baseline.stored(method, problem, seed,
                                                                      n_trials)
        losses = cached if cached is not None else METHODS[method](PROBLEMS[problem],
                                                                   n_trials, seed)
        error = None
    except Exception:  # one broken method must not sink the whole benchmark
        losses, error = [], traceback.format_exc(limit=3)
    return {"problem": problem, "method": method, "seed": seed, "losses": losses,
            "seconds": time.perf_counter() - start, "error": error}


def _warm(problem: str) -> None:
    scoring.pool(PROBLEMS[problem])  # computes (and caches to data/) before forking


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SEEDS} seeds, {len(QUICK_PROBLEMS)} problems")
    parser.add_argument("--seeds", type=int, help="seeds per method and problem (default 20)")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS))
    parser.add_argument("--half", choices=list(HALVES), help="one half of the suite")
    parser.add_argument("--rerun-peers", action="store_true",
                        help="run peers even where baselines/<method>.json has the run")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS))
    parser.add_argument("--trials", type=int, default=max(BUDGETS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/quality.json"))
    parser.add_argument("--png", type=Path, help="default: --out with .png")
    parser.add_argument("--update-optima", action="store_true",
                        help="lower data/optima.json where a run beat the stored best")
    args = parser.parse_args(argv)
    problems = args.problems or (HALVES[args.half] if args.half else
                                 QUICK_PROBLEMS if args.quick else list(PROBLEMS))
    methods = args.methods or list(METHODS)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else 20)
    budgets = [n for n in BUDGETS if n <= args.trials] or [args.trials]
    start = time.perf_counter()

    for p in problems:
        _warm(p)
    # slow problems first, so the pool's two workers finish together
    ordered = sorted(problems, key=lambda p: not PROBLEMS[p].slow)
    tasks = [(p, m, s, args.trials, args.rerun_peers) for p in ordered
             for m in methods if applies(m, PROBLEMS[p]) for s in range(seeds)]
    runs: list[dict[str, Any]] = []
    with Pool(args.jobs) as pool:
        for i, run in enumerate(pool.imap_unordered(run_one, tasks), 1):
            runs.append(run)
            if run["error"]:
                print(f"[{i}/{len(tasks)}] {run['method']} on {run['problem']} failed: "
                      f"{run['error'].strip().splitlines()[-1]}", file=sys.stderr)
            elif i % 50 == 0 or i == len(tasks):
                print(f"[{i}/{len(tasks)}] {time.perf_counter() - start:.0f} s", file=sys.stderr)

    failed = [r for r in runs if r["error"] or len(r["losses"]) < args.trials]
    good = [r for r in runs if r not in failed]
    _check_optima(good, args.update_optima)
    for r in good:
        r["scores"] = dict(zip(budgets, scoring.scores(PROBLEMS[r["problem"]], r["losses"],
                                                       budgets), strict=True))
    ran = [m for m in methods if any(r["method"] == m for r in good)]
    text = ""
    for half, members in HALVES.items():
        chosen = [p for p in problems if p in members]
        if not chosen:
            continue
        text += f"\n## {half} half ({len(chosen)} problems)\n"
        text += report.score_tables(good, chosen, ran, budgets)
        if "optuna-tpe" in ran and "optuna-gp" in ran:
            text += "\n" + report.best_peer_table(good, chosen, "ours-bayes",
                                                  ["optuna-tpe", "optuna-gp"], budgets)
        for peer in ("optuna-tpe", "optuna-gp"):
            if "ours-bayes" in ran and peer in ran:
                text += "\n" + report.win_tie_loss(good, chosen, "ours-bayes", peer, budgets)
    text += "\n\n" + _timing_table(good, ran)
    elapsed = time.perf_counter() - start
    text += f"\n\n{len(good)} runs ({len(failed)} failed), {elapsed:.0f} s, {args.jobs} jobs\n"
    print(text)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    png = args.png or args.out.with_suffix(".png")
    report.plot(_curves(good, args.trials), png,
                f"{len(problems)} problems x {seeds} seeds (rows: problem, seed)")
    args.out.write_text(json.dumps({
        "args": {k: str(v) for k, v in vars(args).items()}, "seconds": elapsed,
        "budgets": budgets, "problems": _problem_info(problems, budgets),
        "runs": runs, "report": text}, indent=1, default=_jsonable))
    print(f"wrote {args.out} and {png}")


def _check_optima(runs: list[dict[str, Any]], update: bool) -> None:
    """Unknown optima: warn (or record, with --update-optima) when a run beat the stored best."""
    best: dict[str, float] = {}
    for r in runs:
        if known_optimum(PROBLEMS[r["problem"]]) is None:
            best[r["problem"]] = min(best.get(r["problem"], math.inf), min(r["losses"]))
    for name, value in best.items():
        stored = scoring.optimum(PROBLEMS[name])
        if value < stored and not update:
            print(f"note: {name}: a run found {value:.6g} < stored optimum {stored:.6g}; "
                  "rerun with --update-optima to record it", file=sys.stderr)
    if update:
        pooled = {n: min(v, float(scoring.pool(PROBLEMS[n])[0])) for n, v in best.items()}
        for name, (old, new) in scoring.update_optima(pooled).items():
            print(f"optima.json: {name} {old:.6g} -> {new:.6g}", file=sys.stderr)


def _timing_table(runs: list[dict[str, Any]], methods: list[str]) -> str:
    lines = ["| method | runs | mean s per run |", "|---|---|---|"]
    for m in methods:
        seconds = [r["seconds"] for r in runs if r["method"] == m]
        lines.append(f"| {m} | {len(seconds)} | {np.mean(seconds):.2f} |")
    return "\n".join(lines)


def _curves(runs: list[dict[str, Any]], n_trials: int) -> dict[str, np.ndarray]:
    """Score after each trial count, one row per run, per method (labelled with coverage)."""
    per_method: dict[str, list[list[float]]] = {}
    problems_of: dict[str, set[str]] = {}
    trials = list(range(1, n_trials + 1))
    for r in runs:
        per_method.setdefault(r["method"], []).append(
            scoring.scores(PROBLEMS[r["problem"]], r["losses"], trials))
        problems_of.setdefault(r["method"], set()).add(r["problem"])
    every = max(len(s) for s in problems_of.values()) if problems_of else 0
    return {(m if len(problems_of[m]) == every else f"{m} ({len(problems_of[m])} problems)"):
            np.array(rows) for m, rows in per_method.items()}


def _problem_info(problems: list[str], budgets: list[int]) -> dict[str, Any]:
    info = {}
    for name in problems:
        p = PROBLEMS[name]
        pool = scoring.pool(p)
        info[name] = {"description": p.description, "optimum": scoring.optimum(p),
                      "optimum_known": known_optimum(p) is not None, "pool_size": len(pool),
                      "random_expected_best": {n: scoring.expected_min(pool, n) for n in budgets}}
    return info


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


if __name__ == "__main__":
    main()
