# file: example-2.py
from comet_optimize import Optimizer
import sys

# Next, create an optimizer, passing in the config:
# (You can leave out API_KEY if you already set it)
opt = Optimizer(sys.argv[1])


# define fit function here!
def fit(x):
    return (x - 3) ** 2


# Finally, get experiments, and train your models:
for experiment in opt.get_experiments(
        project_name="optimizer-search-02"):
    # Test the model
    loss = fit(experiment.get_parameter("x"))
    experiment.log_metric("loss", loss)
