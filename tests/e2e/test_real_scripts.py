"""Calls that public Comet optimizer scripts make, run through ``comet optimize`` (session 8).

Each script below is ours, written to make the calls that a real script made,
in the same order, and that broke here:

* ``{"type": "discrete", "values": [True, False]}`` (kbacsa-ethz/phys-stoch
  ``comet_sweep.py`` writes ``[False]``; other public scripts ``[True, False]``):
  refused as "discrete values must be numbers", so the script never started.
* a sweep worker started by a sweep driver with ``COMET_OPTIMIZER_ID`` (the
  worker side of a public ``comet_sweep`` tool): ``from comet_ml import
  experiment`` for its logger's name, ``comet_ml.config.set_global_experiment``
  with what ``Optimizer.next()`` gave, then ``comet_ml.get_global_experiment()``
  in its logging helpers and ``experiment._log_asset(..., on_asset_upload=...)``
  whose callback deletes the temporary file: an ImportError, then an
  AttributeError, and every experiment failed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

from comet_optimize.store import FileStore
from tests.conftest import launch, stored_events

COMET = [sys.executable, "-m", "comet_optimize.cli"]

FLAG_SCRIPT = """\
import sys
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1], api_key="not-needed")
for experiment in opt.get_experiments(project_name="flags"):
    dissipative = experiment.get_parameter("dissipative")
    assert dissipative is True or dissipative is False, repr(dissipative)
    assert experiment.params["learn_kinetic"] is False
    experiment.log_metric("loss", experiment.get_parameter("dim") + (0.5 if dissipative else 0))
    experiment.end()
"""

FLAG_CONFIG = {
    "algorithm": "grid",
    "spec": {"metric": "loss", "objective": "minimize", "maxCombo": 4, "seed": 3},
    "parameters": {"dim": {"type": "discrete", "values": [10, 20]},
                   "dissipative": {"type": "discrete", "values": [True, False]},
                   "learn_kinetic": {"type": "discrete", "values": [False]}},
}


def run_launcher(tmp_path, script: str, config: dict):
    store = str(tmp_path / "store")
    run = launch(tmp_path, script, config, store)
    [optimizer_id] = FileStore(store).list_ids()
    export = subprocess.run([*COMET, "optimize", "export", optimizer_id, "--store", store],
                            capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    return run, list(csv.DictReader(io.StringIO(export.stdout))), store, optimizer_id


def test_discrete_booleans_are_handed_out_as_booleans(tmp_path):
    run, rows, _, _ = run_launcher(tmp_path, FLAG_SCRIPT, FLAG_CONFIG)
    assert "Traceback" not in run.stderr and "WARNING" not in run.stderr
    assert len(rows) == 4
    assert {(r["dim"], r["dissipative"]) for r in rows} == {
        ("10", "True"), ("10", "False"), ("20", "True"), ("20", "False")}
    for row in rows:
        assert row["status"] == "completed"
        assert float(row["score"]) == int(row["dim"]) + (0.5 if row["dissipative"] == "True" else 0)


SWEEP_WORKER = """\
import io
import logging
import os
import sys
import numpy as np
import comet_ml
from comet_ml import experiment as experiment_module

logger = logging.getLogger(experiment_module.__name__)
logger.addHandler(logging.StreamHandler(io.StringIO()))
opt = comet_ml.Optimizer(os.environ["COMET_OPTIMIZER_ID"], verbose=0,
                         experiment_class=comet_ml.Experiment)
while True:
    experiment = opt.next(project_name="sweep", workspace=None)
    comet_ml.config.set_global_experiment(experiment)
    if experiment is None:
        break
    x = comet_ml.get_global_experiment().params["x"]
    comet_ml.get_global_experiment().log_metrics({"loss": (x - 2) ** 2}, prefix=None, step=1)
    temporary = f"tmp-{experiment.get_key()}.npy"
    np.save(temporary, np.arange(x))
    uploaded = []
    comet_ml.get_global_experiment()._log_asset(
        temporary, file_name="weights.npy",
        on_asset_upload=lambda *a, **k: (uploaded.append(1), os.remove(temporary)),
        on_failed_asset_upload=lambda *a, **k: os.remove(temporary))
    assert uploaded == [1] and not os.path.exists(temporary)
    comet_ml.get_global_experiment().end()
"""

SWEEP_CONFIG = {"algorithm": "grid", "spec": {"metric": "loss", "objective": "minimize",
                                              "seed": 4},
                "parameters": {"x": {"type": "discrete", "values": [1, 2, 3, 4]}}}


def test_a_sweep_worker_using_the_global_experiment_and_upload_callbacks(tmp_path):
    run, rows, store, optimizer_id = run_launcher(tmp_path, SWEEP_WORKER, SWEEP_CONFIG)
    assert "Traceback" not in run.stderr
    assert sorted((int(r["x"]), r["status"], float(r["score"])) for r in rows) == [
        (1, "completed", 1.0), (2, "completed", 0.0), (3, "completed", 1.0),
        (4, "completed", 4.0)]
    for row in rows:
        stored = os.path.join(store, optimizer_id, "assets", row["id"], "asset", "weights.npy")
        assert os.path.isfile(stored), stored


SKIP_SCRIPT = """\
import sys
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1])
for experiment in opt.get_experiments(project_name="tuning", log_code=False,
                                      auto_metric_logging=False, log_env_gpu=False):
    if experiment.get_parameter("opt") == "sam" and experiment.get_parameter("swa") == "swa":
        experiment.log_metric("val_acc_sum", None)  # this combination is not wanted
        experiment.end()
        continue
    experiment.log_metric("val_acc_sum", 1.0 + (experiment.get_parameter("opt") == "sgd"))
    experiment.end()
"""

SKIP_CONFIG = {"algorithm": "grid",
               "spec": {"metric": "val_acc_sum", "objective": "maximize", "maxCombo": 10000},
               "parameters": {"opt": {"type": "categorical", "values": ["sgd", "sam"]},
                              "swa": {"type": "categorical", "values": ["None", "swa"]}},
               "trials": 1}


def test_an_objective_logged_as_none_to_skip_a_combination_says_so(tmp_path):
    """A public CIFAR tuning script skips a combination by logging its objective as None:
    the warning said it 'ended without logging the metric' it had just logged."""
    run, rows, store, optimizer_id = run_launcher(tmp_path, SKIP_SCRIPT, SKIP_CONFIG)
    assert "Traceback" not in run.stderr
    statuses = {(r["opt"], r["swa"]): r["status"] for r in rows}
    assert statuses == {("sgd", "None"): "completed", ("sgd", "swa"): "completed",
                        ("sam", "None"): "completed", ("sam", "swa"): "aborted"}
    assert ("logged the metric 'val_acc_sum' only as values that are not numbers "
            "(the last: None); recorded as aborted") in run.stderr
    assert "ended without logging the metric" not in run.stderr
    assert "recorded as its text" not in run.stderr  # None is JSON's null, not a text
    report_data = subprocess.run(
        [sys.executable, "-c", "import sys, json; from comet_optimize import Optimizer; "
         "from comet_optimize.report import data; "
         "opt = Optimizer(sys.argv[1], readonly=True, verbose=0, store=sys.argv[2]); "
         "print(json.dumps(data.failures(opt.experiments(), 'val_acc_sum')))",
         optimizer_id, store], capture_output=True, text=True, timeout=60)
    assert report_data.returncode == 0, report_data.stderr
    [item] = json.loads(report_data.stdout)["items"]
    assert item["reason"] == "logged the metric 'val_acc_sum' only as values that are not numbers"


CONTINUE_BY_KEY_SCRIPT = """\
import sys
import comet_ml
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1])
for experiment in opt.get_experiments(project_name="codraw", log_git_metadata=False):
    # What PyTorch Lightning's CometLogger(experiment_key=experiment.get_key()) does:
    logger_experiment = comet_ml.start(experiment_key=experiment.get_key(), mode="get",
                                       project_name="codraw")
    assert isinstance(logger_experiment, comet_ml.Experiment)
    assert logger_experiment.get_key() == experiment.get_key()
    logger_experiment.log_metric("val_ap_seen", 1)
    logger_experiment.end()  # the logger's finalize() after fit(): not the trial's end
    comet_ml.end()  # nor is this
    # and what its Lightning 1.x version did, in trainer.test() after that:
    existing = comet_ml.ExistingExperiment(None, experiment.get_key())
    existing.log_metric("val_ap", experiment.get_parameter("x") / 10)
    existing.end()
    assert not experiment.ended
    experiment.log_metric("val_ap", experiment.get_parameter("x") / 100)  # the script's own
"""

CONTINUE_CONFIG = {"algorithm": "grid", "spec": {"metric": "val_ap", "objective": "maximize",
                                                 "seed": 2},
                   "parameters": {"x": {"type": "discrete", "values": [1, 2, 3]}}}


def test_start_with_the_running_experiments_key_continues_it(tmp_path):
    """A public CoDraw search script gives each trial's key to Lightning's CometLogger,
    which calls comet_ml.start(experiment_key=...): refused as 'kept on Comet's server',
    the first trial failed and the script died."""
    run, rows, _, _ = run_launcher(tmp_path, CONTINUE_BY_KEY_SCRIPT, CONTINUE_CONFIG)
    assert "Traceback" not in run.stderr
    # A second handle's end() left the trial to its loop: each is completed once, with
    # the objective logged after the logger ended (not aborted, then handed out again).
    assert sorted((int(r["x"]), r["status"], float(r["score"])) for r in rows) == [
        (1, "completed", 0.1), (2, "completed", 0.2), (3, "completed", 0.3)]
    assert "recorded as aborted" not in run.stderr


def test_a_key_this_process_does_not_run_is_still_refused(tmp_path):
    script = ("import comet_ml\n"
              "for make in (lambda: comet_ml.start(experiment_key='0' * 32),\n"
              "             lambda: comet_ml.ExistingExperiment(previous_experiment='0' * 32)):\n"
              "    try:\n"
              "        make()\n"
              "    except comet_ml.OptimizerException as error:\n"
              "        print(error)\n")
    env = {**os.environ, "COMET_OPTIMIZE_STORE": str(tmp_path / "store")}
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                      "comet_optimize", "_compat"), env.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2 and all("Comet's server" in line for line in lines), lines


# Round 2 (session 9): calls of public scripts that ended a trial after its training.
ROUND2_LOGGING = """\
import sys
import comet_ml
from comet_ml.integration.sklearn import log_model
from sklearn.linear_model import LinearRegression


class Dict2Obj(object):  # a script's own holder of its settings
    def __init__(self, dictionary):
        for key in dictionary:
            setattr(self, key, dictionary[key])


opt = comet_ml.Optimizer(sys.argv[1])
for experiment in opt.get_experiments(project_name="round2"):
    x = experiment.get_parameter("x")
    experiment.log_parameters(Dict2Obj({"lr": 0.01, "task": "tcam", "x": x}))
    model = LinearRegression().fit([[0], [1]], [0, x])
    # comet_ml.integration.pytorch's order of arguments, given to the sklearn one:
    log_model(experiment, model, f"model_{experiment.get_key()}")
    # sklearn's name for the predictions; Comet's keyword is y_predicted:
    experiment.log_confusion_matrix(y_true=[0, 1, 1], y_pred=[0, 1, 0], step=1)
    with experiment.test():
        experiment.log_metric("corloc", x / 10)
    experiment.end()
"""

ROUND2_CONFIG = {"algorithm": "grid", "spec": {"metric": "test_corloc", "objective": "maximize",
                                               "seed": 5},
                 "parameters": {"x": {"type": "discrete", "values": [1, 2, 3]}}}


def test_logging_calls_given_data_they_cannot_use_warn_and_the_trial_completes(tmp_path):
    """Public scripts (transphorm's LSTM-FCN search, a PyTorch MNIST sweep, a TTCAM search)
    pass sklearn.log_model the model before its name, log_confusion_matrix ``y_pred=``,
    and log_parameters their own settings object: each call raised and failed its trial
    after the training, so no result reached the search."""
    run, rows, store, optimizer_id = run_launcher(tmp_path, ROUND2_LOGGING, ROUND2_CONFIG)
    assert "Traceback" not in run.stderr
    assert sorted((int(r["x"]), r["status"], float(r["score"])) for r in rows) == [
        (1, "completed", 0.1), (2, "completed", 0.2), (3, "completed", 0.3)]
    assert run.stderr.count("log_model: the model name must be a string, not "
                            "LinearRegression (sklearn.log_model takes the experiment, the "
                            "name, then the model") == 3
    assert run.stderr.count("log_confusion_matrix: y_true= without y_predicted= (it was "
                            "given y_pred=, which log_confusion_matrix does not take), so "
                            "nothing was stored") == 3
    ends = [e for e in stored_events(store, optimizer_id) if e["type"] == "end"]
    assert sorted(e["logged_parameters"]["x"] for e in ends) == [1, 2, 3]
    assert all(e["logged_parameters"]["lr"] == 0.01 and e["logged_parameters"]["task"] ==
               "tcam" for e in ends)
    assert not any(e.get("assets") for e in ends)  # nothing stored for the refused calls


GET_PARAMETERS_DRIVER = """\
import json
import subprocess
import sys
from comet_ml import Optimizer

opt = Optimizer(sys.argv[1])
for parameters in opt.get_parameters():
    x = parameters["parameters"]["x"]
    # the training process logs to an Experiment of its own; only x == 2 is given the
    # assignment (Experiment(optimizer_data=...)), as Comet's docs say to report one
    data = json.dumps(parameters) if x == 2 else ""
    subprocess.run([sys.executable, "child.py", str(x), data], check=True)
"""

GET_PARAMETERS_CHILD = """\
import json
import sys
import comet_ml

x = int(sys.argv[1])
data = json.loads(sys.argv[2]) if sys.argv[2] else None
experiment = comet_ml.Experiment(project_name="juno", optimizer_data=data)
experiment.log_metric("validation_loss", x / 10)
experiment.end()
"""


def test_get_parameters_that_no_experiment_reported_say_so(tmp_path):
    """A public search driver (JUNO's dense nets) hands get_parameters() sets to training
    processes that log to Experiments of their own: each set was 'aborted' with 'ended
    without logging the metric 'validation_loss' (it logged no metric)', about a metric
    the user saw logged, and nothing said what reports a set."""
    (tmp_path / "child.py").write_text(GET_PARAMETERS_CHILD)
    config = {"algorithm": "grid", "spec": {"metric": "validation_loss", "seed": 1},
              "parameters": {"x": {"type": "discrete", "values": [1, 2, 3]}}}
    run, rows, _, _ = run_launcher(tmp_path, GET_PARAMETERS_DRIVER, {**config})
    assert "Traceback" not in run.stderr
    statuses = {int(r["x"]): (r["status"], r["score"]) for r in rows}
    assert statuses == {1: ("aborted", ""), 2: ("completed", "0.2"), 3: ("aborted", "")}
    assert run.stderr.count("(parameters handed out by get_parameters() / next_data()) was "
                            "never reported: no Experiment(optimizer_data=...) logged the "
                            "metric 'validation_loss' for it; recorded as aborted") == 2
    assert "it logged no metric" not in run.stderr
