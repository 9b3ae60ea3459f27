"""A worker process for the multi-process tests.

usage: worker.py OPTIMIZER [--mode experiments|parameters] [--stop-after K]
                           [--hang] [--loss quadratic|count]

--hang: take one experiment, print "ready <count>" and block on stdin (to be killed).
--hang-then-report: the same, then on a line from stdin log loss 0.5, end, print "done".
--stop-after K: complete K experiments then exit without asking for more.
Prints one JSON line per experiment it completed: {"count", "pid", "trial", "params"}.
"""

import argparse
import json
import sys

from comet_optimize import Experiment, Optimizer

parser = argparse.ArgumentParser()
parser.add_argument("optimizer")
parser.add_argument("--mode", default="experiments")
parser.add_argument("--stop-after", type=int, default=None)
parser.add_argument("--hang", action="store_true")
parser.add_argument("--hang-then-report", action="store_true")
args = parser.parse_args()

opt = Optimizer(args.optimizer, verbose=0)


def loss(params):
    return float(sum(v * v for v in params.values() if isinstance(v, (int, float))))


if args.hang:
    experiment = opt.next()
    print(f"ready {experiment.count}", flush=True)
    sys.stdin.read()
    sys.exit(0)

if args.hang_then_report:
    experiment = opt.next()
    print(f"ready {experiment.count}", flush=True)
    sys.stdin.readline()
    experiment.log_metric("loss", 0.5)
    experiment.end()
    print("done", flush=True)
    sys.exit(0)

done = 0
if args.mode == "parameters":
    for data in opt.get_parameters():
        experiment = Experiment(optimizer_data=data)
        experiment.log_metric("loss", loss(data["parameters"]))
        experiment.end()
        print(json.dumps({"count": data["count"], "pid": data["pid"], "trial": data["trial"],
                          "params": data["parameters"]}), flush=True)
        done += 1
        if args.stop_after is not None and done >= args.stop_after:
            break
else:
    for experiment in opt.get_experiments(project_name="tests"):
        experiment.log_metric("loss", loss(experiment.params))
        print(json.dumps({"count": experiment.count, "pid": experiment.data["pid"],
                          "trial": experiment.data["trial"], "params": experiment.params}),
              flush=True)
        done += 1
        if args.stop_after is not None and done >= args.stop_after:
            break
