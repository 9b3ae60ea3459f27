"""A training script written the way Comet's tutorials write them runs unchanged (issue 9).

Name, tags, parameters, ``with experiment.train():`` metrics per epoch, a
confusion matrix under ``test()``, a saved model logged as an asset; run with
``comet optimize -j 2`` through ``import comet_ml``; ``export`` then shows
what it logged, and the files are under the experiment's folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from comet_optimize.store import FileStore
from tests.conftest import launch

COMET = [sys.executable, "-m", "comet_optimize.cli"]

TUTORIAL_SCRIPT = """\
import sys

import numpy as np
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(int)

for experiment in opt.get_experiments(project_name="tutorial"):
    lr = experiment.get_parameter("lr")
    experiment.set_name(f"logreg-lr-{lr:.3g}")
    experiment.add_tags(["tutorial", "logreg"])
    experiment.log_parameters({"epochs": 5, "features": 3})
    w = np.zeros(3)
    with experiment.train():
        for epoch in range(1, 6):
            p = 1 / (1 + np.exp(-X @ w))
            w -= lr * X.T @ (p - y) / len(y)
            p = 1 / (1 + np.exp(-X @ w))
            loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
            experiment.log_metric("loss", loss, epoch=epoch)
            experiment.log_metric("accuracy", float(np.mean((p > 0.5) == y)), epoch=epoch)
    with experiment.test():
        predicted = (1 / (1 + np.exp(-X @ w)) > 0.5).astype(int)
        experiment.log_metric("accuracy", float(np.mean(predicted == y)))
        experiment.log_confusion_matrix(y.tolist(), predicted.tolist(), labels=["neg", "pos"])
    model_file = f"model-{experiment.get_key()}.npy"
    np.save(model_file, w)
    experiment.log_model("logreg", model_file)
    experiment.end()
"""

CONFIG = {"algorithm": "random",
          "spec": {"metric": "loss", "objective": "minimize", "maxCombo": 4, "seed": 5},
          "parameters": {"lr": {"type": "double", "min": 0.01, "max": 1.0,
                                "scalingType": "loguniform"}}}


def test_a_tutorial_style_script_runs_unchanged_and_export_shows_what_it_logged(tmp_path):
    store = str(tmp_path / "store")
    launch(tmp_path, TUTORIAL_SCRIPT, CONFIG, store)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    [optimizer_id] = FileStore(store).list_ids()

    export = subprocess.run([*COMET, "optimize", "export", optimizer_id, "--store", store],
                            env=env, capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "completed"  # "loss" was logged only inside train()
        assert row["name"] == f"logreg-lr-{float(row['lr']):.3g}"
        assert row["tags"] == "tutorial,logreg"
        assert row["assets"] == "2"  # the confusion matrix and the model
        assert float(row["score"]) == float(row["metric_train_loss"])  # the last is the min
        assert 0 <= float(row["metric_test_accuracy"]) <= 1

    export = subprocess.run([*COMET, "optimize", "export", optimizer_id, "--store", store,
                             "--format", "json"], env=env, capture_output=True, text=True,
                            timeout=60)
    experiments = json.loads(export.stdout)
    assert {e["name"] for e in experiments} == {r["name"] for r in rows}
    folder = FileStore(store).folder(optimizer_id)
    for experiment in experiments:
        from comet_optimize import Optimizer

        record = next(e for e in Optimizer(optimizer_id, verbose=0, store=store).experiments()
                      if e["count"] == experiment["count"])
        assert record["logged_parameters"] == {"epochs": 5, "features": 3}
        kinds = sorted(a["type"] for a in record["assets"])
        assert kinds == ["confusion-matrix", "model"]
        for asset in record["assets"]:
            path = os.path.join(folder, "assets", record["id"], asset["path"])
            assert os.path.getsize(path) == asset["size"]
            if asset["type"] == "confusion-matrix":
                with open(path) as handle:
                    matrix = json.load(handle)
                assert matrix["labels"] == ["neg", "pos"]
                assert sum(map(sum, matrix["matrix"])) == 200


ODD_VALUES_SCRIPT = """\
import argparse
import sys

from comet_ml import Optimizer


class Device:  # what torch.device looks like to a logger: no number, no dict
    def __init__(self, kind):
        self.kind = kind

    def __str__(self):
        return self.kind


parser = argparse.ArgumentParser()
parser.add_argument("optimizer")
parser.add_argument("--device", type=Device, default=Device("cuda"))
parser.add_argument("--activation", default=print)
args = parser.parse_args()
opt = Optimizer(args.optimizer)
for experiment in opt.get_experiments(project_name="odd"):
    experiment.log_parameters(vars(args))
    experiment.log_other("model summary", "layer " * 20_000)  # 120 KB
    experiment.log_metric("loss", experiment.get_parameter("lr"), epoch=float("nan"))
    experiment.log_asset("checkpoint-never-saved.pt")
"""


def test_odd_values_a_comet_script_logs_never_end_its_trials(tmp_path):
    """A script logging ``vars(args)`` with a device object, a 120 KB model summary, a
    NaN epoch and a checkpoint it never saved runs under Comet; here every trial died at
    the first of these calls, recorded failed, and the search spent its budget on
    nothing. Now each is a warning and every trial completes: a value left out is said once
    per experiment, a value kept as its text once per process."""
    store = str(tmp_path / "store")
    run = launch(tmp_path, ODD_VALUES_SCRIPT, CONFIG, store, jobs=1)
    from comet_optimize import Optimizer

    [optimizer_id] = FileStore(store).list_ids()
    records = Optimizer(optimizer_id, verbose=0, store=store).experiments()
    assert [r["status"] for r in records] == ["completed"] * 4
    assert all(r["score"] == r["parameters"]["lr"] for r in records)
    assert all(r["logged_parameters"]["device"] == "cuda" for r in records)
    assert all("model summary" not in r.get("others", {}) for r in records)
    assert run.stderr.count("parameter 'device': a Device is not a number") == 1
    for warning in ("other 'model summary': the value is 120000 bytes",
                    "metric 'loss': epoch must be a number",
                    "'checkpoint-never-saved.pt' is not a file"):
        assert run.stderr.count(warning) == 4, warning  # once per experiment
