"""A worker for the report and dashboard tests: scores, an abort and a crash.

usage: report_worker.py OPTIMIZER
Experiment #3 ends without its metric (aborted); the worker that gets #5 dies
holding it (failed); every other experiment logs a loss that depends on every
parameter, so parameter importance has something to find.
"""

import math
import os
import sys

from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments(project_name="report-tests"):
    p = experiment.params
    if experiment.count == 3:
        experiment.log_metric("accuracy", 0.5)  # not the search's metric: aborted
        continue
    if experiment.count == 5:
        os._exit(3)  # dies holding #5: failed
    loss = ((math.log10(p["lr"]) + 2) ** 2 + 0.1 * p["layers"]
            + (0.5 if p["activation"] == "tanh" else 0.0) + p["dropout"])
    experiment.log_metric("loss", loss + 0.01 * experiment.get_parameter("layers")
                          * (experiment.count % 3))
