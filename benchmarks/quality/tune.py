"""Ablation of the bayes settings: each variant of `ParzenSettings` over problems x seeds.

    python benchmarks/quality/tune.py --variants '{}' '{"n_startup": 5}' [--seeds 10]
        [--problems branin hartmann6 ...] [--compare benchmarks/results/quality.json]

A variant is a JSON object of `ParzenSettings` fields (`{}` is the current default) or
the name of a method from `methods.py` (e.g. `optuna-tpe`), run on the same seeds.
Runs go through the public API with a temporary store (like `ours-bayes`), with the
settings swapped in the worker process. `--compare` adds the peers' mean scores
from a stored `run.py` result for the same problems and seeds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
from pathlib import Path

import numpy as np

# One BLAS thread per worker process: OpenBLAS's own threads spin on the GP's small
# matrices and cost 5-8x the CPU time (59 s instead of 7 s for one 100-trial run).
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

BUDGETS = (20, 50, 100)


def _run(task: tuple[str, str, int]) -> tuple[str, str, int, list[float]]:
    from dataclasses import replace

    from methods import METHODS
    from problems import PROBLEMS
    from scoring import scores

    from comet_optimize.algorithms.bayes import ParzenSearch, ParzenSettings

    variant, problem_name, seed = task
    problem = PROBLEMS[problem_name]
    if variant in METHODS:  # a peer, e.g. optuna-tpe, on the same problems and seeds
        losses = METHODS[variant](problem, max(BUDGETS), seed)
        return variant, problem_name, seed, scores(problem, losses, BUDGETS)
    ParzenSearch.settings = replace(ParzenSettings(), **json.loads(variant))
    losses = METHODS["ours-bayes"](problem, max(BUDGETS), seed)
    return variant, problem_name, seed, scores(problem, losses, BUDGETS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["{}"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds run from here: add seeds to an earlier --out file")
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--half", choices=["tuning", "confirming", "both"],
                        help="the problems of one half of the suite (problems.HALVES)")
    parser.add_argument("--peers", nargs="*", default=[],
                        help="peers read from baselines/<peer>.json (same seeds), e.g. "
                             "optuna-tpe optuna-gp")
    parser.add_argument("--out", type=Path, help="also write every run's scores here (JSON)")
    parser.add_argument("--summarize", type=Path,
                        help="print the tables of a (possibly partial) --out file; run nothing")
    parser.add_argument("--compare", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=int, default=100, choices=BUDGETS,
                        help="the trial count of the per-problem columns")
    args = parser.parse_args()
    from problems import HALVES, PROBLEMS

    if args.half:
        problems = (HALVES["tuning"] + HALVES["confirming"] if args.half == "both"
                    else HALVES[args.half])
    else:
        problems = args.problems or list(PROBLEMS)
    if args.summarize:
        results = [tuple(r) for r in json.loads(args.summarize.read_text())]
    else:
        results = _run_all(args, problems)
    table: dict[str, dict[str, list[list[float]]]] = {}
    for variant, problem, _seed, score in results:
        table.setdefault(variant, {}).setdefault(problem, []).append(score)
    for peer in args.peers:
        import baseline
        from scoring import scores

        for p in problems:
            for seed in range(args.seeds):
                losses = baseline.stored(peer, p, seed, max(BUDGETS))
                if losses is not None:
                    table.setdefault(peer, {}).setdefault(p, []).append(
                        scores(PROBLEMS[p], losses, BUDGETS))
    if args.compare:
        stored = json.load(open(args.compare))
        for run in stored["runs"]:
            if run["method"].startswith("ours") or run["problem"] not in problems:
                continue
            if run["seed"] < args.seeds and run.get("scores"):
                table.setdefault(run["method"], {}).setdefault(run["problem"], []).append(
                    [run["scores"][str(b)] for b in BUDGETS])
    for half, members in HALVES.items():
        chosen = [p for p in problems if p in members]
        if chosen and args.half == "both":
            print(f"\n{half} half")
            _print_table(table, chosen, args.budget)
    if args.half != "both":
        _print_table(table, problems, args.budget)


def _run_all(args: argparse.Namespace, problems: list[str]) -> list[tuple]:
    # Seed-major, variants side by side: an interrupted run still compares them fairly.
    tasks = [(v, p, s) for s in range(args.first_seed, args.first_seed + args.seeds)
             for p in problems for v in args.variants]
    results = []
    with mp.get_context("fork").Pool(args.jobs) as pool:
        for result in pool.imap_unordered(_run, tasks, chunksize=1):
            results.append(result)
            if args.out:  # after every run, so a long ablation can be read as it goes
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps([list(r) for r in results]))
    return results


def _print_table(table: dict[str, dict[str, list[list[float]]]], problems: list[str],
                 budget: int) -> None:
    names = " | ".join(p[:10] for p in problems)
    print(f"| variant | {names} | mean@20 | mean@50 | mean@100 |")
    print("|" + "---|" * (len(problems) + 4))
    for variant, by_problem in table.items():
        per_problem = [np.mean(by_problem[p], axis=0) if p in by_problem else
                       np.full(len(BUDGETS), np.nan) for p in problems]
        means = np.nanmean(per_problem, axis=0)
        column = BUDGETS.index(budget)
        cells = " | ".join(f"{row[column]:.1f}" for row in per_problem)
        missing = sum(p not in by_problem for p in problems)
        note = f" ({len(problems) - missing} problems)" if missing else ""
        print(f"| {variant}{note} | {cells} | {means[0]:.1f} | {means[1]:.1f} | "
              f"{means[2]:.1f} |")


if __name__ == "__main__":
    main()
