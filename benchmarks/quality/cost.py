"""What one `bayes` suggestion costs through the public API and the file store, by history size.

    nice -n 19 python benchmarks/quality/cost.py [--sizes 200 1000 10000] [--dimensions 5]

For each size N: a search is filled with N - `--samples` completed experiments, then
the last `--samples` ``next()`` + ``log_metric`` + ``end()`` round trips up to N are
timed (free objective), so that N = 200 times the GP at its largest,
as in `benchmarks/api_latency.py`. Reports the median and mean wall time and the CPU
time per round trip, so a busy machine can be told apart from a slow suggestion, and
the median of its two parts: ``next()`` (the suggestion and its write) and ``end()``
(the result's write). Each write ends with a flush to disk (``fdatasync``, 0.3-4 ms
on this machine's virtual disk, outside the search's lock), so a round trip pays two.
Then, over as many samples, one step of the ``get_experiments()`` loop, which records
the previous result and the next assignment in one write (one flush). Also times the
first 100 suggestions (the issue compares with Optuna's GP there).

The time spent in those flushes is measured too (``os.fdatasync`` wrapped in a timer; it
still flushes), and each round trip and step is also given without it. On this machine
a flush took about 0.1 ms, or, for minutes at a time while other work ran, 2-4 ms (its
completion then waited for the next 4 ms period, whatever the load average said): the
figures less the flushes are the code's, and the flushes the disk's.

``--profile K`` also prints the K functions that took the most time of their own over
the timed round trips (cProfile, which slows Python code more than numpy's, so read it
for where the time goes, not for how much): at 1,000 results the two flushes to disk
(``posix.fdatasync``, the store's) and the Parzen mixtures' densities (``log_pdf``) lead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from comet_optimize import Optimizer  # noqa: E402


def _loss(experiment) -> float:
    x = np.array(list(experiment.params.values()), dtype=float)
    return float(np.sum((x - 0.3) ** 2) + 0.1 * np.sin(9 * x).sum())


_flushing = [0.0]  # seconds spent in fdatasync so far
_fdatasync = os.fdatasync


def _timed_fdatasync(fd: int) -> None:
    """The store's flush, timed (it still flushes: nothing about durability changes)."""
    start = time.perf_counter()
    try:
        _fdatasync(fd)
    finally:
        _flushing[0] += time.perf_counter() - start


def _round(opt: Optimizer) -> tuple[float, float, float, float, float]:
    """Wall and CPU seconds of one round trip, the wall seconds of its next() and end(),
    then those of its flushes."""
    flushed = _flushing[0]
    wall, cpu = time.perf_counter(), time.process_time()
    experiment = opt.next()
    suggested = time.perf_counter()
    experiment.log_metric("loss", _loss(experiment))
    ending = time.perf_counter()
    experiment.end()
    end = time.perf_counter()
    return (end - wall, time.process_time() - cpu, suggested - wall, end - ending,
            _flushing[0] - flushed)


def _loop_steps(opt: Optimizer, samples: int) -> list[tuple[float, float]]:
    """Wall seconds of ``samples`` steps of get_experiments() (each ends the previous one),
    and of each step's flush."""
    steps = []
    loop = opt.get_experiments()
    experiment = next(loop)
    for _ in range(samples):
        experiment.log_metric("loss", _loss(experiment))
        flushed = _flushing[0]
        start = time.perf_counter()
        experiment = next(loop)
        steps.append((time.perf_counter() - start, _flushing[0] - flushed))
    experiment.log_metric("loss", _loss(experiment))
    experiment.end()
    return steps


def measure(completed: int, dimensions: int, samples: int,
            profile: int = 0) -> dict[str, float]:
    parameters = {f"x{i}": {"type": "double", "min": 0.0, "max": 1.0} for i in range(dimensions)}
    store = tempfile.mkdtemp(prefix="comet-cost-")
    opt = Optimizer({"algorithm": "bayes",
                     "spec": {"maxCombo": completed + samples + 1, "seed": 1},
                     "parameters": parameters}, verbose=0, store=store)
    first = [_round(opt) for _ in range(min(completed - samples, 100))]
    for _ in range(completed - samples - len(first)):
        _round(opt)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    times = np.array([_round(opt) for _ in range(samples)]) * 1000
    if profiler is not None:
        import pstats

        profiler.disable()
        print(f"-- {completed} completed: the {profile} costliest functions (own time)")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    steps = np.array(_loop_steps(opt, samples)) * 1000  # at N to N + samples completed
    return {"completed": completed, "dimensions": dimensions,
            "median_ms": float(np.median(times[:, 0])), "mean_ms": float(times[:, 0].mean()),
            "cpu_ms": float(times[:, 1].mean()),
            "next_median_ms": float(np.median(times[:, 2])),
            "end_median_ms": float(np.median(times[:, 3])),
            "flush_mean_ms": float(times[:, 4].mean()),
            "less_flushes_median_ms": float(np.median(times[:, 0] - times[:, 4])),
            "loop_step_median_ms": float(np.median(steps[:, 0])),
            "loop_step_less_flush_median_ms": float(np.median(steps[:, 0] - steps[:, 1])),
            "first_100_mean_ms": float(np.mean([row[0] for row in first]) * 1000),
            "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 10000])
    parser.add_argument("--dimensions", type=int, default=5)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--variant", default=None,
                        help='ParzenSettings fields as JSON (default: the shipped settings), '
                             'e.g. \'{"gp": false}\'')
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="print the K costliest functions of the timed round trips "
                             "(cProfile; the timings are then those of a profiled run)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cost.json"))
    args = parser.parse_args()
    os.fdatasync = _timed_fdatasync  # the store's own calls, timed
    if args.variant:  # before any worker is forked, so that every process uses it
        from dataclasses import replace

        from comet_optimize.algorithms.bayes import ParzenSearch, ParzenSettings

        ParzenSearch.settings = replace(ParzenSettings(), **json.loads(args.variant))
    rows = [measure(n, args.dimensions, args.samples, args.profile) for n in args.sizes]
    print("| completed | round trip: median ms | mean ms | CPU ms | next() median ms "
          "| end() median ms | its two flushes: mean ms | round trip less its flushes: "
          "median ms | get_experiments() step: median ms | step less its flush: median ms "
          "| first 100: mean ms | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['completed']} | {r['median_ms']:.2f} | {r['mean_ms']:.2f} | "
              f"{r['cpu_ms']:.2f} | {r['next_median_ms']:.2f} | {r['end_median_ms']:.2f} | "
              f"{r['flush_mean_ms']:.2f} | {r['less_flushes_median_ms']:.2f} | "
              f"{r['loop_step_median_ms']:.2f} | {r['loop_step_less_flush_median_ms']:.2f} | "
              f"{r['first_100_mean_ms']:.1f} | {r['load']:.1f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
