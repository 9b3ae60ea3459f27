"""Throughput of several processes sharing one random search, against Optuna's journal.

P worker processes share one search of E experiments with a trivial objective.
Each worker times every "give me the next experiment" call (ours: one step of
the ``get_experiments()`` loop, which also records the previous result; Optuna:
``ask()`` + ``tell()`` on a ``JournalFileBackend``), so the worst single wait
shows lock starvation.

    python benchmarks/throughput.py [--experiments 2000] [--processes 4] [--skip-optuna]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time

import numpy as np

CONFIG = {"algorithm": "random",
          "parameters": {"x": {"type": "double", "min": -5.0, "max": 5.0},
                         "y": {"type": "double", "min": -5.0, "max": 5.0}}}


def ours_worker(optimizer_id: str, store: str, barrier, queue) -> None:
    from comet_optimize import Optimizer

    opt = Optimizer(optimizer_id, verbose=0, store=store)
    experiments = opt.get_experiments()  # each step ends the previous one and assigns the next
    waits = []
    barrier.wait()
    while True:
        start = time.perf_counter()
        experiment = next(experiments, None)
        waits.append(time.perf_counter() - start)
        if experiment is None:
            break
        experiment.log_metric("loss", experiment.params["x"] ** 2 + experiment.params["y"] ** 2)
    queue.put((time.perf_counter(), waits))


def optuna_worker(path: str, per_worker: int, barrier, queue) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
    study = optuna.load_study(study_name="bench", storage=storage,
                              sampler=optuna.samplers.RandomSampler())
    waits = []
    barrier.wait()
    for _ in range(per_worker):
        start = time.perf_counter()
        trial = study.ask()
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
        study.tell(trial, x * x + y * y)
        waits.append(time.perf_counter() - start)
    queue.put((time.perf_counter(), waits))


def run(target, args_for, processes: int) -> dict:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(processes + 1), ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args_for, barrier, queue))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    end = max(finished for finished, _ in results)
    waits = np.concatenate([w for _, w in results]) * 1000
    return {"seconds": end - start, "median_wait_ms": float(np.median(waits)),
            "p99_wait_ms": float(np.percentile(waits, 99)), "worst_wait_ms": float(waits.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--skip-optuna", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/throughput.json")
    args = parser.parse_args()
    from comet_optimize import Optimizer

    rows = {}
    store = tempfile.mkdtemp(prefix="comet-throughput-")
    opt = Optimizer({**CONFIG, "spec": {"maxCombo": args.experiments}}, verbose=0, store=store)
    rows["comet_optimize"] = run(ours_worker, (opt.id, store), args.processes)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["completed"] == args.experiments, status
    if not args.skip_optuna:
        import optuna

        path = os.path.join(tempfile.mkdtemp(prefix="optuna-throughput-"), "journal.log")
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))
        optuna.create_study(study_name="bench", storage=storage)
        rows["optuna_journal"] = run(optuna_worker, (path, args.experiments // args.processes),
                                     args.processes)
    print(f"{args.processes} processes, {args.experiments} experiments, trivial objective")
    print("| store | experiments/s | median wait ms | p99 wait ms | worst wait ms |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        r["experiments_per_second"] = args.experiments / r["seconds"]
        print(f"| {name} | {r['experiments_per_second']:.0f} | {r['median_wait_ms']:.2f} | "
              f"{r['p99_wait_ms']:.2f} | {r['worst_wait_ms']:.1f} |")
    if "optuna_journal" in rows:
        ratio = rows["comet_optimize"]["experiments_per_second"] / \
            rows["optuna_journal"]["experiments_per_second"]
        print(f"throughput ratio comet_optimize / optuna: {ratio:.1f}x")
        rows["ratio"] = ratio
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
