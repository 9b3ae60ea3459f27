"""The issue-12 tables from stored results: `tune.py --out` files for our variants, and
`baselines/*.json` for the peers, on both halves.

    python benchmarks/quality/tables.py benchmarks/results/tune.json \
        --variant '{}' --name ours-bayes --peers optuna-tpe optuna-gp [--seeds 10]

Prints, per half: mean ± s.e. of the score at 20 / 50 / 100 trials for every problem and
method; ours against the per-problem better peer; win / tie / loss against each peer
(two-sided Mann-Whitney U on the scores, which order runs as their best losses do, at
p < 0.05). Only seeds that every method has are used, so the comparison is paired by seed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BUDGETS = (20, 50, 100)


def _load(args: argparse.Namespace) -> dict[str, dict[str, dict[int, list[float]]]]:
    """method -> problem -> seed -> scores at BUDGETS."""
    import baseline
    from problems import PROBLEMS
    from scoring import scores

    table: dict[str, dict[str, dict[int, list[float]]]] = {}
    for path in args.results:
        for variant, problem, seed, score in json.loads(Path(path).read_text()):
            name = args.name if variant == args.variant else variant
            if name in (args.name, *args.also):
                table.setdefault(name, {}).setdefault(problem, {})[seed] = score
    for peer in args.peers:
        for problem, runs in baseline.load(peer)["losses"].items():
            for seed, losses in runs.items():
                if len(losses) >= max(BUDGETS) and int(seed) < args.seeds:
                    table.setdefault(peer, {}).setdefault(problem, {})[int(seed)] = scores(
                        PROBLEMS[problem], losses, BUDGETS)
    return table


def _cell(values: list[float]) -> str:
    a = np.asarray(values)
    se = a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else float("nan")
    return f"{a.mean():.1f} ± {se:.1f}"


def main() -> None:
    from problems import HALVES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--variant", default="{}", help="the variant that is ours-bayes")
    parser.add_argument("--name", default="ours-bayes")
    parser.add_argument("--also", nargs="*", default=[], help="other variants to show")
    parser.add_argument("--peers", nargs="*", default=["optuna-tpe", "optuna-gp"])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    table = _load(args)
    methods = [args.name, *args.also, *args.peers]
    for half, problems in HALVES.items():
        print(f"\n## {half} half\n")
        # Paired by seed: only problems and seeds that every method has.
        common = {p: sorted(set.intersection(*[set(table.get(m, {}).get(p, {}))
                                               for m in methods])) for p in problems}
        common = {p: s for p, s in common.items() if s}
        print("| problem (seeds) | " + " | ".join(
            f"{m} @{n}" for n in BUDGETS for m in methods) + " |")
        print("|---|" + "---|" * (len(methods) * len(BUDGETS)))
        for p, seeds in common.items():
            cells = [_cell([table[m][p][s][i] for s in seeds])
                     for i in range(len(BUDGETS)) for m in methods]
            print(f"| {p} ({len(seeds)}) | " + " | ".join(cells) + " |")
        means = {(m, i): np.mean([np.mean([table[m][p][s][i] for s in seeds])
                                  for p, seeds in common.items()])
                 for m in methods for i in range(len(BUDGETS))}
        print(f"| **mean ({len(common)} problems)** | " + " | ".join(
            f"**{means[m, i]:.1f}**" for i in range(len(BUDGETS)) for m in methods) + " |")
        if not args.peers:
            continue
        best = [np.mean([max(np.mean([table[q][p][s][i] for s in seeds]) for q in args.peers)
                         for p, seeds in common.items()]) for i in range(len(BUDGETS))]
        print("\nper-problem better peer, averaged: " + " / ".join(f"{b:.1f}" for b in best)
              + f" at {' / '.join(map(str, BUDGETS))} trials; {args.name}: "
              + " / ".join(f"{means[args.name, i]:.1f}" for i in range(len(BUDGETS))))
        _win_tie_loss(table, common, args.name, args.peers)


def _win_tie_loss(table: dict, common: dict[str, list[int]], ours: str,
                  peers: list[str]) -> None:
    from scipy.stats import mannwhitneyu

    for peer in peers:
        totals = []
        losses_at = []
        for i, n in enumerate(BUDGETS):
            w = t = lo = 0
            for p, seeds in common.items():
                a = [table[ours][p][s][i] for s in seeds]
                b = [table[peer][p][s][i] for s in seeds]
                if a == b or len(seeds) < 2:
                    t += 1
                    continue
                result = mannwhitneyu(a, b, alternative="two-sided")
                if result.pvalue >= 0.05:
                    t += 1
                elif np.mean(a) > np.mean(b):
                    w += 1
                else:
                    lo += 1
                    losses_at.append(f"{p}@{n}")
            totals.append(f"{w}/{t}/{lo}")
        note = f" (losses: {', '.join(losses_at)})" if losses_at else ""
        print(f"{ours} vs {peer}, win/tie/loss at {' / '.join(map(str, BUDGETS))}: "
              f"{' , '.join(totals)}{note}")


if __name__ == "__main__":
    main()
