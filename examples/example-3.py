# example-3.py: the docs' argparse example, fixed so it runs (the docs forgot
# to create the optimizer and to define train()).
from comet_optimize import Optimizer, Experiment  # noqa: F401  (as in the docs)
import argparse

parser = argparse.ArgumentParser()
## Add your own args here:
parser.add_argument("--project-name", default=None)

## These passed on from "comet optimize":
parser.add_argument("optimizer", default="test1_optimizer.json")
parser.add_argument("--trials", "-t", type=int, default=None)
parsed = parser.parse_args()

opt = Optimizer(parsed.optimizer, trials=parsed.trials)


def train(x):
    return (x - 3) ** 2


count = 0
for experiment in opt.get_experiments(project_name=parsed.project_name):
    loss = train(experiment.params["x"])
    msg = experiment.log_metric("loss", loss)
    count += 1

print("Optimizer job done! Completed %s experiments." % count)
