"""Cost of one suggestion through the public API and the file store.

For random and bayes, fills a search with N completed experiments, then times
200 more ``next()`` + ``log_metric`` + ``end()`` round trips (the objective
costs nothing) and reports the median and 99th percentile, plus the journal's
size per experiment.

    python benchmarks/api_latency.py [--out benchmarks/results/api_latency.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from comet_optimize import Optimizer

SAMPLES = 200


def space(dimensions: int) -> dict:
    return {f"x{i}": {"type": "double", "min": -5.0, "max": 5.0} for i in range(dimensions)}


def one_round(opt: Optimizer) -> float:
    start = time.perf_counter()
    experiment = opt.next()
    experiment.log_metric("loss", float(sum(v * v for v in experiment.params.values())))
    experiment.end()
    return time.perf_counter() - start


def measure(algorithm: str, completed: int, dimensions: int = 5) -> dict:
    store = tempfile.mkdtemp(prefix="comet-latency-")
    opt = Optimizer({"algorithm": algorithm, "spec": {"maxCombo": completed + SAMPLES, "seed": 1},
                     "parameters": space(dimensions)}, verbose=0, store=store)
    for _ in range(completed):
        one_round(opt)
    times = np.array([one_round(opt) for _ in range(SAMPLES)]) * 1000
    journal = os.path.join(store, opt.id, "journal.jsonl")
    return {
        "algorithm": algorithm, "completed": completed, "dimensions": dimensions,
        "median_ms": float(np.median(times)), "p99_ms": float(np.percentile(times, 99)),
        "journal_bytes_per_experiment": os.path.getsize(journal) / (completed + SAMPLES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/api_latency.json")
    args = parser.parse_args()
    rows = [measure(a, n) for a in ("random", "bayes") for n in (100, 1000)]
    print("| algorithm | completed | median ms | p99 ms | journal bytes/experiment |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['algorithm']} | {r['completed']} | {r['median_ms']:.3f} | "
              f"{r['p99_ms']:.3f} | {r['journal_bytes_per_experiment']:.0f} |")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
