"""XGBoost auto-logging: ``train`` (and the scikit-learn models that call it) reports each
round's evaluation results, as Comet's XGBoost integration does.

XGBoost is not a test dependency: a stand-in package with XGBoost's layout (``train``
bound in ``xgboost``, ``xgboost.training`` and ``xgboost.sklearn``; a
``callback.TrainingCallback`` base; ``fit(eval_set=...)`` naming its data sets
``validation_0``, ``validation_1``) is imported by a fresh process per case, since what
matters is when the package gets imported. The run with XGBoost 3.2 itself gave the same
names (tests/data/real_scripts.md, round 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

FAKE_XGBOOST = {
    "__init__.py": "from . import callback, training, sklearn\n"
                   "from .training import train\nfrom .sklearn import XGBRegressor\n",
    "callback.py": "class TrainingCallback:\n"
                   "    def after_iteration(self, model, epoch, evals_log):\n"
                   "        return False\n",
    "training.py": "def train(params, dtrain, num_boost_round=10, *, evals=None,\n"
                   "          callbacks=None, **kwargs):\n"
                   "    log = {}\n"
                   "    for i in range(num_boost_round):\n"
                   "        for data, name in evals or ():\n"
                   "            rmse = log.setdefault(name, {}).setdefault('rmse', [])\n"
                   "            rmse.append(data / (i + 1))\n"
                   "        if any(c.after_iteration('booster', i, log)\n"
                   "               for c in callbacks or ()):\n"
                   "            break\n"
                   "    return 'booster'\n",
    "sklearn.py": "from .training import train\n\n"
                  "class XGBRegressor:\n"
                  "    def __init__(self, callbacks=None):\n"
                  "        self.callbacks = callbacks\n\n"
                  "    def fit(self, X, y, eval_set=None):\n"
                  "        evals = [(data, f'validation_{i}')\n"
                  "                 for i, data in enumerate(eval_set or [])]\n"
                  "        train({}, X, 3, evals=evals, callbacks=self.callbacks)\n"
                  "        return self\n",
}

SKLEARN_API_FIRST = """
import xgboost
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "validation_1_rmse"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    xgboost.XGBRegressor(**FIT_KWARGS(experiment)).fit("X", "y", eval_set=[2.0, 1.0])
"""

TRAIN_IMPORTED_LATER = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "train_rmse"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    import xgboost as xgb  # imported only now: the import hook wraps train
    xgb.train({"max_depth": 2}, "dtrain", 3, evals=[(4.0, "train")], verbose_eval=False)
"""


def run(tmp_path, code: str, store: str, kwargs: dict | None = None,
        fit_kwargs: str = "lambda experiment: {}", fake: dict[str, str] | None = None,
        package_name: str = "xgboost") -> list[dict]:
    """The script ``code`` run in a fresh process with the stand-in ``package_name``
    (``fake``: file name -> text) importable; the search's experiments it reports."""
    package = tmp_path / "fake" / package_name
    package.mkdir(parents=True, exist_ok=True)
    for name, text in (FAKE_XGBOOST if fake is None else fake).items():
        (package / name).write_text(text)
    prelude = (f"STORE = {store!r}\nKWARGS = {kwargs or {}!r}\n"
               f"FIT_KWARGS = {fit_kwargs}\n")
    report = ("\nimport json\nprint('RESULT', json.dumps(Optimizer(opt.id, verbose=0, "
              "store=STORE).experiments()))\n")
    pythonpath = os.pathsep.join(p for p in (str(tmp_path / "fake"),
                                             os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run([sys.executable, "-c", prelude + code + report],
                            env={**os.environ, "PYTHONPATH": pythonpath},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.parametrize("code, metric, values", [
    (SKLEARN_API_FIRST, "validation_1_rmse", [1.0, 0.5, 1 / 3]),
    (TRAIN_IMPORTED_LATER, "train_rmse", [4.0, 2.0, 4 / 3]),
], ids=["fit-eval-set-imported-first", "train-imported-later"])
def test_train_logs_each_rounds_evaluation_into_the_current_experiment(
        tmp_path, file_store, code, metric, values):
    """A search over an XGBoost model whose objective Comet auto-logs (``validation_1_rmse``
    from ``fit(eval_set=...)``) had every experiment aborted: 'it logged no metric'."""
    experiments = run(tmp_path, code, file_store)
    assert [e["status"] for e in experiments] == ["completed", "completed"]
    for experiment in experiments:
        logged = experiment["metrics"][metric]
        assert logged["count"] == 3 and logged["step"] == 2
        assert logged["last"] == pytest.approx(values[-1])
        assert experiment["score"] == pytest.approx(min(values))
    if metric == "validation_1_rmse":
        assert set(experiments[0]["metrics"]) == {"validation_0_rmse", "validation_1_rmse"}


def test_the_experiments_own_xgboost_callback_is_not_logged_twice(tmp_path, file_store):
    experiments = run(tmp_path, SKLEARN_API_FIRST, file_store, fit_kwargs=(
        "lambda experiment: {'callbacks': [experiment.get_callback('xgboost')]}"))
    assert [e["metrics"]["validation_1_rmse"]["count"] for e in experiments] == [3, 3]


def test_auto_metric_logging_false_leaves_xgboost_alone(tmp_path, file_store):
    experiments = run(tmp_path, SKLEARN_API_FIRST, file_store, {"auto_metric_logging": False})
    assert [e["status"] for e in experiments] == ["aborted", "aborted"]
    assert all(not e["metrics"] for e in experiments)
