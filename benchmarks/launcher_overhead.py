"""What `comet optimize -j 2` costs per experiment, beyond starting interpreters.

Runs a search of 100 experiments whose training takes no time (each worker
logs the metric and prints one line, so output streaming is included) and
compares it with:

* ``python -c pass``: bare interpreter start-up;
* the same launch on a search that is already complete: the fixed cost of the
  launcher plus two workers that import comet_optimize, attach and find nothing;
* one plain process running the 100 experiments itself, without the launcher.

``(full - empty) / 100`` is our machinery's cost per experiment (suggest,
journal append under the lock with fsync, ending, streaming the output), with
two workers competing for the lock. Prints a table and writes JSON to
``benchmarks/results/launcher_overhead.json``.

usage: python benchmarks/launcher_overhead.py [--experiments 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

WORKER = """\
import sys
from comet_optimize import Optimizer
opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
    print("done", experiment.count)
"""

COMET = [sys.executable, "-m", "comet_optimize.cli"]


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(experiments: int, repeat: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"python": [], "import": [], "empty": [], "full": [],
                                       "in_process": []}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "worker.py")
        with open(script, "w") as handle:
            handle.write(WORKER)
        config = os.path.join(tmp, "opt.config")
        with open(config, "w") as handle:
            json.dump({"algorithm": "grid", "spec": {"maxCombo": experiments},
                       "parameters": {"x": list(range(experiments))}}, handle)
        for round_ in range(repeat):
            env = {**os.environ, "COMET_OPTIMIZE_STORE": os.path.join(tmp, f"store{round_}")}
            env.pop("COMET_OPTIMIZER_ID", None)
            samples["python"].append(timed([sys.executable, "-c", "pass"], env))
            samples["import"].append(timed(
                [sys.executable, "-c", "import comet_optimize.optimizer"], env))
            optimizer_id = subprocess.run([*COMET, "optimize", config], env=env, check=True,
                                          capture_output=True, text=True).stdout.strip()
            samples["full"].append(timed([*COMET, "optimize", "-j", "2", script, optimizer_id],
                                         env))
            samples["empty"].append(timed([*COMET, "optimize", "-j", "2", script, optimizer_id],
                                          env))
            env["COMET_OPTIMIZE_STORE"] = os.path.join(tmp, f"plain{round_}")
            samples["in_process"].append(timed([sys.executable, script, config], env))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.experiments
    t = measure(n, args.repeat)
    per_experiment = (t["full"] - t["empty"]) / n
    in_process = (t["in_process"] - t["import"]) / n
    rows = [
        ("python -c pass", t["python"], "interpreter start-up"),
        ("python -c 'import comet_optimize.optimizer'", t["import"], "start-up + numpy/scipy"),
        ("comet optimize -j 2, nothing left to do", t["empty"], "launcher + 2 workers, fixed"),
        (f"comet optimize -j 2, {n} experiments", t["full"], "the measured run"),
        (f"one plain process, {n} experiments", t["in_process"], "no launcher"),
    ]
    print(f"{'what':<48} {'wall (s)':>9}  note")
    for name, seconds, note in rows:
        print(f"{name:<48} {seconds:>9.3f}  {note}")
    print()
    print(f"launcher, per experiment: (full - fixed) / {n} = {per_experiment * 1000:.2f} ms")
    print(f"all-in, per experiment:   (full - python start-up) / {n} = "
          f"{(t['full'] - t['python']) / n * 1000:.2f} ms")
    print(f"one process, per experiment (no launcher): {in_process * 1000:.2f} ms")
    result = {
        "experiments": n, "repeat": args.repeat, "median_seconds": t,
        "launcher_ms_per_experiment": per_experiment * 1000,
        "all_in_ms_per_experiment": (t["full"] - t["python"]) / n * 1000,
        "in_process_ms_per_experiment": in_process * 1000,
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "launcher_overhead.json")
    with open(path, "w") as handle:
        json.dump(result, handle, indent=2)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
