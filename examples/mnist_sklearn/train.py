"""The Comet docs' end-to-end example (Keras on MNIST), with scikit-learn on its 8x8 digits.

Same search as the docs: a network whose first layer has ``first_layer_units``
(normal around 500) sigmoid units followed by two layers of 128, trained with
a ``batch_size`` in 64/128/256; we add the learning rate. The score is the
test log-loss, logged as ``loss`` after each epoch (the best epoch counts).

usage: python train.py OPTIMIZER [--epochs N] [--project-name NAME] [--trials T]
   or: comet optimize -j 2 train.py opt.config -- --epochs 10
Needs scikit-learn:  pip install 'comet_optimize[examples]'
"""

import argparse
import logging
import os
import warnings

# `comet optimize -j N` runs N of these at once: one BLAS thread each avoids oversubscription.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from comet_optimize import Optimizer  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(message)s")
LOGGER = logging.getLogger("mnist_sklearn")

parser = argparse.ArgumentParser()
parser.add_argument("optimizer", help="a config file or an optimizer id")
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--project-name", default="my_project")
parser.add_argument("--trials", "-t", type=int, default=None)  # passed on by comet optimize
args = parser.parse_args()


def get_dataset():
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    LOGGER.info("%d train samples, %d test samples", len(x_train), len(x_test))
    return scaler.transform(x_train), y_train, scaler.transform(x_test), y_test


def build_model(experiment) -> MLPClassifier:
    return MLPClassifier(
        hidden_layer_sizes=(experiment.get_parameter("first_layer_units"), 128, 128),
        activation="logistic",
        batch_size=experiment.get_parameter("batch_size"),
        learning_rate_init=experiment.get_parameter("learning_rate"),
        max_iter=1, warm_start=True, random_state=0,  # one epoch per fit()
    )


def train(experiment, model, x_train, y_train, x_test, y_test) -> None:
    for epoch in range(experiment.get_parameter("epochs")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        experiment.log_metric("loss", log_loss(y_test, model.predict_proba(x_test)),
                              epoch=epoch)
        experiment.log_metric("accuracy", accuracy_score(y_test, model.predict(x_test)),
                              epoch=epoch)


x_train, y_train, x_test, y_test = get_dataset()
opt = Optimizer(args.optimizer, trials=args.trials)
for experiment in opt.get_experiments(project_name=args.project_name):
    experiment.log_parameter("epochs", args.epochs)
    model = build_model(experiment)
    train(experiment, model, x_train, y_train, x_test, y_test)
    LOGGER.info("#%d %s -> best loss %.4f", experiment.count, experiment.params,
                experiment.score())
    experiment.end()
