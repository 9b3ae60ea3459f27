"""Keras auto-logging (issue 9): model.fit reports its epoch metrics with no code in the script.

Keras 3 on JAX's CPU backend (the ``keras`` extra, installed by .ci/run). Each
case is a fresh process, since what matters is when Keras gets imported.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")

FIT = """
import numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")

def fit(epochs=3):
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0)
"""

BEFORE = """
import keras
from comet_optimize import Optimizer
""" + FIT + """
opt = Optimizer({"algorithm": "grid", "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    fit()
"""

AFTER = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    import keras  # imported only now: the import hook wraps fit
""" + "\n".join("    " + line for line in FIT.splitlines()) + """
    fit()
"""


def run(code: str, store: str, kwargs: dict | None = None) -> list[dict]:
    prelude = f"STORE = {store!r}\nKWARGS = {kwargs or {}!r}\n"
    report = ("\nimport json\nprint('RESULT', json.dumps(Optimizer(opt.id, verbose=0, "
              "store=STORE).experiments()))\n")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", prelude + code + report], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.fixture(autouse=True)
def needs_keras():
    """Found, not imported: Keras picks its backend at import (the workers use JAX)."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("jax") is None:
        pytest.skip("the keras extra (Keras 3 + jax[cpu]) is not installed")


@pytest.mark.parametrize("code", [BEFORE, AFTER], ids=["keras-imported-first", "imported-later"])
def test_fit_logs_its_epoch_metrics_into_the_current_experiment(file_store, code):
    experiments = run(code, file_store)
    assert [e["status"] for e in experiments] == ["completed", "completed"]
    for experiment in experiments:
        metrics = experiment["metrics"]
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(metrics)
        assert metrics["loss"]["count"] == 3 and metrics["loss"]["epoch"] == 3
        assert experiment["score"] <= metrics["loss"]["last"]  # min over the epochs


def test_auto_metric_logging_false_turns_it_off(file_store):
    experiments = run(BEFORE, file_store, {"auto_metric_logging": False})
    assert [e["status"] for e in experiments] == ["aborted", "aborted"]
    assert all(not e["metrics"] for e in experiments)


def test_keras_is_not_imported_by_us(file_store):
    code = ("import sys\nfrom comet_optimize import Optimizer\n"
            "opt = Optimizer({'algorithm': 'grid', 'parameters': {'u': [1]}}, verbose=0, "
            "store=STORE)\nexperiment = opt.next()\nexperiment.log_metric('loss', 1)\n"
            "experiment.end()\n"
            "assert 'keras' not in sys.modules and 'jax' not in sys.modules\n")
    assert run(code, file_store)[0]["status"] == "completed"


def test_the_docs_end_to_end_example_on_keras_3_optimises_loss_without_log_metric(file_store):
    script = os.path.join(EXAMPLES, "keras_mnist", "mnist_keras3.py")
    with open(script, encoding="utf-8") as handle:
        assert "log_metric(" not in handle.read()
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "COMET_OPTIMIZE_STORE": file_store}
    env.pop("COMET_OPTIMIZER_ID", None)
    result = subprocess.run([sys.executable, "-m", "comet_optimize", "run", script],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    from comet_optimize import Optimizer
    from comet_optimize.store import FileStore

    [optimizer_id] = FileStore(file_store).list_ids()
    status = Optimizer(optimizer_id, verbose=0, store=file_store).status()
    assert status["completed"] == 10 and status["aborted"] == 0
    assert status["name"] == "Optimize MNIST Network"
    # below ln(10), the cross-entropy of a uniform guess over 10 digits: it learned
    assert 0 < status["best"]["score"] < math.log(10)
