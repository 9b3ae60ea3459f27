"""What `comet optimize` launches in the end-to-end tests (written like the docs' example-3).

usage: launched_worker.py OPTIMIZER [--flag V] [--trials T] [--fail-process I]
                          [--hang-while FILE] [--ignore-sigint]

Prints one JSON line {"hello": ...} with what it was given (argv, env, pid), then
"done <count>" per experiment. --fail-process I: worker I exits 1 at once.
--hang-while FILE: while FILE exists, take one experiment, print "ready <count> <pid>"
and block (until a signal). --ignore-sigint: only SIGKILL stops it.
"""

import argparse
import json
import os
import signal
import sys

from comet_optimize import Optimizer

parser = argparse.ArgumentParser()
parser.add_argument("optimizer")
parser.add_argument("--flag", default=None)
parser.add_argument("--trials", "-t", type=int, default=None)
parser.add_argument("--fail-process", type=int, default=None)
parser.add_argument("--hang-while", default=None)
parser.add_argument("--ignore-sigint", action="store_true")
args = parser.parse_args()

if args.ignore_sigint:
    signal.signal(signal.SIGINT, signal.SIG_IGN)

env = {k: v for k, v in os.environ.items()
       if k.startswith(("COMET_", "CUDA_")) or k == "PYTHONUNBUFFERED"}
print(json.dumps({"hello": {"argv": sys.argv[1:], "pid": os.getpid(), "env": env,
                            "pgid": os.getpgid(0), "sid": os.getsid(0)}}))

process = int(os.environ["COMET_OPTIMIZER_PROCESS_ID"])
if args.fail_process == process:
    print("failing on purpose", file=sys.stderr)
    sys.exit(1)

opt = Optimizer(sys.argv[1], trials=args.trials, verbose=0)
for experiment in opt.get_experiments(project_name="e2e"):
    if args.hang_while and os.path.exists(args.hang_while):
        print(f"ready {experiment.count} {os.getpid()}")
        while True:  # blocks until a signal ends the process
            signal.pause()
    experiment.log_metric("loss", float(experiment.params["x"]) ** 2)
    print(f"done {experiment.count}")
