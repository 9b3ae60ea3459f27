"""Turn scored runs into markdown tables and a score-vs-trials plot."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

Run = dict[str, Any]  # {"problem", "method", "seed", "losses", "scores": {n: score}, ...}


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    se = float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else math.nan
    return float(a.mean()), se


def _grouped(runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[run["problem"], run["method"]].append(run)
    return groups


def score_tables(runs: list[Run], problems: list[str], methods: list[str],
                 budgets: Sequence[int]) -> str:
    """One table per budget: mean +- s.e. over seeds, per problem and averaged."""
    groups = _grouped(runs)
    out = []
    for n in budgets:
        out += [f"\n### Score at {n} trials (0 = random search, 100 = optimum; mean ± s.e.)\n",
                "| problem | " + " | ".join(methods) + " |",
                "|---|" + "---|" * len(methods)]
        per_method: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for p in problems:
            cells = []
            for m in methods:
                group = groups.get((p, m))
                if not group:
                    cells.append("–")
                    continue
                mean, se = _mean_se([r["scores"][n] for r in group])
                per_method[m].append((mean, se))
                cells.append(f"{mean:.1f} ± {se:.1f}")
            out.append(f"| {p} | " + " | ".join(cells) + " |")
        cells = []
        for m in methods:
            stats = per_method.get(m, [])
            if len(stats) != len(problems):  # averaged only over complete rows
                cells.append("–" if not stats else f"({len(stats)} problems)")
                continue
            mean = float(np.mean([s[0] for s in stats]))
            se = math.sqrt(sum(s[1] ** 2 for s in stats)) / len(stats)
            cells.append(f"**{mean:.1f} ± {se:.1f}**")
        out.append("| **average** | " + " | ".join(cells) + " |")
    return "\n".join(out)


def win_tie_loss(runs: list[Run], problems: list[str], ours: str, theirs: str,
                 budgets: Sequence[int], alpha: float = 0.05) -> str:
    """Mann-Whitney U (two-sided) on the best loss after n trials, per problem."""
    from scipy.stats import mannwhitneyu

    groups = _grouped(runs)
    out = [f"\n### {ours} vs {theirs}: win / tie / loss (Mann-Whitney U, two-sided, "
           f"p < {alpha})\n",
           "| problem | " + " | ".join(f"{n} trials (p)" for n in budgets) + " |",
           "|---|" + "---|" * len(budgets)]
    totals = {n: {"win": 0, "tie": 0, "loss": 0} for n in budgets}
    for p in problems:
        a_runs, b_runs = groups.get((p, ours)), groups.get((p, theirs))
        if not a_runs or not b_runs:
            continue
        cells = []
        for n in budgets:
            a = [min(r["losses"][:n]) for r in a_runs]
            b = [min(r["losses"][:n]) for r in b_runs]
            if a == b:
                u, pvalue = len(a) * len(b) / 2, 1.0
            else:
                u, pvalue = mannwhitneyu(a, b, alternative="two-sided")
            # U below n*m/2: ours' best losses tend to be the smaller ones
            verdict = "tie" if pvalue >= alpha else (
                "win" if u < len(a) * len(b) / 2 else "loss")
            totals[n][verdict] += 1
            cells.append(f"{verdict} ({pvalue:.3f})")
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    out.append("| **total W/T/L** | " + " | ".join(
        f"**{t['win']}/{t['tie']}/{t['loss']}**" for t in totals.values()) + " |")
    return "\n".join(out)


def plot(curves: dict[str, np.ndarray], path: Path, title: str) -> None:
    """curves: label -> array (runs, trials) of scores; one row per (problem, seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for method, values in curves.items():
        trials = np.arange(1, values.shape[1] + 1)
        mean = values.mean(axis=0)
        se = values.std(axis=0, ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0 * mean
        style = "-" if method.startswith("ours") else "--"
        ax.plot(trials, mean, style, label=method)
        ax.fill_between(trials, mean - se, mean + se, alpha=0.15)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="trials", ylabel="mean score (0 = random, 100 = optimum)", title=title)
    ax.legend()
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def best_peer_table(runs: list[Run], problems: list[str], ours: str, peers: list[str],
                    budgets: Sequence[int]) -> str:
    """The issue-12 bar: per problem the better peer's mean score, averaged, against ours."""
    groups = _grouped(runs)
    out = [f"\n### {ours} vs the per-problem better of {' / '.join(peers)} (mean score)\n",
           "| problem | " + " | ".join(f"{n}: ours / best peer (which)" for n in budgets) + " |",
           "|---|" + "---|" * len(budgets)]
    ours_means: dict[int, list[float]] = defaultdict(list)
    best_means: dict[int, list[float]] = defaultdict(list)
    for p in problems:
        if not groups.get((p, ours)) or any(not groups.get((p, q)) for q in peers):
            continue
        cells = []
        for n in budgets:
            mine = float(np.mean([r["scores"][n] for r in groups[p, ours]]))
            theirs = {q: float(np.mean([r["scores"][n] for r in groups[p, q]])) for q in peers}
            which = max(theirs, key=theirs.get)
            ours_means[n].append(mine)
            best_means[n].append(theirs[which])
            cells.append(f"{mine:.1f} / {theirs[which]:.1f} ({which})")
        out.append(f"| {p} | " + " | ".join(cells) + " |")
    out.append("| **average** | " + " | ".join(
        f"**{np.mean(ours_means[n]):.1f} / {np.mean(best_means[n]):.1f}**" for n in budgets)
        + " |")
    return "\n".join(out)
