"""Run a peer (e.g. Optuna's GP) once and keep its losses in the repo, so that normal
benchmark runs read them instead of re-running it.

    nice -n 19 python benchmarks/quality/baseline.py --method optuna-gp --seeds 20

Results go to `baselines/<method>.json` as ``{"method", "trials", "losses": {problem:
{seed: [loss per trial]}}}``, written after every finished run, so an interrupted
run resumes where it stopped (runs already stored are skipped). Tasks go seed-major
(seed 0 on every problem, then seed 1, ...), so a partial file still covers every
problem evenly. Peers are deterministic given the seed, so a stored run equals a fresh
one (Optuna's GP up to floating-point differences of its torch build).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
BASELINES = HERE / "baselines"


def path(method: str) -> Path:
    return BASELINES / f"{method}.json"


def load(method: str) -> dict[str, Any]:
    """The stored runs of one peer (empty when it was never run)."""
    try:
        return json.loads(path(method).read_text())
    except FileNotFoundError:
        return {"method": method, "trials": 100, "losses": {}}


def stored(method: str, problem: str, seed: int, n_trials: int) -> list[float] | None:
    """A stored run's losses when it has at least ``n_trials`` trials, else None."""
    data = load(method)
    losses = data["losses"].get(problem, {}).get(str(seed))
    return losses[:n_trials] if losses and len(losses) >= n_trials else None


def _save(data: dict[str, Any]) -> None:
    BASELINES.mkdir(exist_ok=True)
    tmp = path(data["method"]).with_suffix(".tmp")
    ordered = {p: dict(sorted(runs.items(), key=lambda kv: int(kv[0])))
               for p, runs in sorted(data["losses"].items())}
    tmp.write_text(json.dumps({**data, "losses": ordered}, separators=(",", ":")) + "\n")
    tmp.replace(path(data["method"]))


def _run(task: tuple[str, str, int, int]) -> tuple[str, int, list[float], float]:
    from methods import METHODS
    from problems import PROBLEMS

    method, problem, seed, n_trials = task
    start = time.perf_counter()
    losses = METHODS[method](PROBLEMS[problem], n_trials, seed)
    return problem, seed, [float(f"{v:.10g}") for v in losses], time.perf_counter() - start


def main() -> None:
    from methods import METHODS
    from problems import PROBLEMS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True, choices=[m for m in METHODS
                                                            if not m.startswith("ours")])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS))
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    data = load(args.method)
    data["trials"] = args.trials
    problems = args.problems or list(PROBLEMS)
    tasks = [(args.method, p, s, args.trials)
             for s in range(args.first_seed, args.first_seed + args.seeds) for p in problems
             if stored(args.method, p, s, args.trials) is None]
    print(f"{args.method}: {len(tasks)} runs to do", file=sys.stderr)
    start = time.perf_counter()
    with Pool(args.jobs) as pool:
        for i, (problem, seed, losses, seconds) in enumerate(
                pool.imap_unordered(_run, tasks), 1):
            data["losses"].setdefault(problem, {})[str(seed)] = losses
            data.setdefault("seconds", {}).setdefault(problem, {})[str(seed)] = round(seconds, 2)
            _save(data)
            print(f"[{i}/{len(tasks)}] {problem} seed {seed}: {seconds:.1f} s "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
