"""Auto-logging of XGBoost's and LightGBM's ``train`` (which their scikit-learn models
call): each round's evaluation results are logged as Comet's integrations name them,
``{data set}_{metric}`` at step = the round (from 0).

Neither library is a test dependency: a stand-in package with the real one's layout
(``train`` defined in one module and bound in the package and its ``sklearn`` module;
XGBoost's ``callback.TrainingCallback`` base and ``evals_log``; LightGBM's callables
called with an environment whose ``evaluation_result_list`` holds ``(data set, metric,
value, higher is better)``; ``fit(eval_set=...)`` naming the data sets
``validation_0``... or ``valid_0``...) is imported by a fresh process per case, since what
matters is when the package gets imported. XGBoost 3.2 and LightGBM 4.7 themselves gave
the same names (tests/data/real_scripts.md, round 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import NamedTuple

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

XGBOOST_FIT_FIRST = """
import xgboost
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "validation_1_rmse"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    xgboost.XGBRegressor(**FIT_KWARGS(experiment)).fit("X", "y", eval_set=[2.0, 1.0])
"""

XGBOOST_TRAIN_LATER = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "train_rmse"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    import xgboost as xgb  # imported only now: the import hook wraps train
    xgb.train({"max_depth": 2}, "dtrain", 3, evals=[(4.0, "train")], verbose_eval=False)
"""


FAKE_LIGHTGBM = {
    "__init__.py": "from . import engine, sklearn\nfrom .engine import train\n"
                   "from .sklearn import LGBMRegressor\n",
    "engine.py": "from types import SimpleNamespace\n\n"
                 "def train(params, train_set, num_boost_round=100, valid_sets=None,\n"
                 "          valid_names=None, callbacks=None):\n"
                 "    names = valid_names or [f'valid_{i}' for i in range(len(valid_sets or []))]\n"
                 "    for i in range(num_boost_round):\n"
                 "        results = [(name, 'l2', data / (i + 1), False)\n"
                 "                   for data, name in zip(valid_sets or [], names)]\n"
                 "        env = SimpleNamespace(model='booster', params=params, iteration=i,\n"
                 "                              begin_iteration=0, end_iteration=num_boost_round,\n"
                 "                              evaluation_result_list=results)\n"
                 "        for callback in sorted(callbacks or [], key=lambda c: c.order):\n"
                 "            callback(env)\n"
                 "    return 'booster'\n",
    "sklearn.py": "from .engine import train\n\n"
                  "class LGBMRegressor:\n"
                  "    def __init__(self, n_estimators=3):\n"
                  "        self.n_estimators = n_estimators\n\n"
                  "    def fit(self, X, y, eval_set=None, callbacks=None):\n"
                  "        train({}, X, self.n_estimators, valid_sets=list(eval_set or []),\n"
                  "              callbacks=callbacks)\n"
                  "        return self\n",
}

LIGHTGBM_FIT_FIRST = """
import lightgbm
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "valid_1_l2"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    lightgbm.LGBMRegressor().fit("X", "y", eval_set=[2.0, 1.0], **FIT_KWARGS(experiment))
"""

LIGHTGBM_TRAIN_LATER = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "training_l2"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    import lightgbm as lgb  # imported only now: the import hook wraps train
    lgb.train({"objective": "regression"}, "dtrain", 3, valid_sets=[4.0],
              valid_names=["training"])
"""



class Trainer(NamedTuple):
    package: str
    files: dict[str, str]
    fit_first: str  # the scikit-learn API, the package imported before the loop
    fit_metric: str  # the spec metric that script's second evaluation set scores
    fit_metrics: set[str]  # every metric it logs
    train_later: str  # train(), the package imported inside the loop
    train_metric: str


XGBOOST = Trainer("xgboost", FAKE_XGBOOST, XGBOOST_FIT_FIRST, "validation_1_rmse",
                  {"validation_0_rmse", "validation_1_rmse"}, XGBOOST_TRAIN_LATER,
                  "train_rmse")
LIGHTGBM = Trainer("lightgbm", FAKE_LIGHTGBM, LIGHTGBM_FIT_FIRST, "valid_1_l2",
                   {"valid_0_l2", "valid_1_l2"}, LIGHTGBM_TRAIN_LATER, "training_l2")
TRAINERS = pytest.mark.parametrize("trainer", [XGBOOST, LIGHTGBM], ids=["xgboost", "lightgbm"])


def run(tmp_path, trainer: Trainer, code: str, store: str, kwargs: dict | None = None,
        fit_kwargs: str = "lambda experiment: {}") -> list[dict]:
    """The script ``code`` run in a fresh process with the trainer's stand-in package
    importable; the search's experiments it reports."""
    package = tmp_path / "fake" / trainer.package
    package.mkdir(parents=True, exist_ok=True)
    for name, text in trainer.files.items():
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


@TRAINERS
@pytest.mark.parametrize("how", ["fit-eval-set-imported-first", "train-imported-later"])
def test_train_logs_each_rounds_evaluation_into_the_current_experiment(
        tmp_path, file_store, trainer, how):
    """A search over a model whose objective Comet auto-logs (``validation_1_rmse`` from
    XGBoost's ``fit(eval_set=...)``, ``valid_1_l2`` from LightGBM's) had every experiment
    aborted: 'it logged no metric'."""
    if how == "fit-eval-set-imported-first":
        code, metric, values = trainer.fit_first, trainer.fit_metric, [1.0, 0.5, 1 / 3]
    else:
        code, metric, values = trainer.train_later, trainer.train_metric, [4.0, 2.0, 4 / 3]
    experiments = run(tmp_path, trainer, code, file_store)
    assert [e["status"] for e in experiments] == ["completed", "completed"]
    for experiment in experiments:
        logged = experiment["metrics"][metric]
        assert logged["count"] == 3 and logged["step"] == 2
        assert logged["last"] == pytest.approx(values[-1])
        assert experiment["score"] == pytest.approx(min(values))
    if metric == trainer.fit_metric:
        assert set(experiments[0]["metrics"]) == trainer.fit_metrics


@TRAINERS
def test_the_experiments_own_callback_is_not_logged_twice(tmp_path, file_store, trainer):
    experiments = run(tmp_path, trainer, trainer.fit_first, file_store, fit_kwargs=(
        f"lambda experiment: {{'callbacks': [experiment.get_callback({trainer.package!r})]}}"))
    assert [e["metrics"][trainer.fit_metric]["count"] for e in experiments] == [3, 3]


@TRAINERS
def test_auto_metric_logging_false_leaves_the_trainer_alone(tmp_path, file_store, trainer):
    experiments = run(tmp_path, trainer, trainer.fit_first, file_store,
                      {"auto_metric_logging": False})
    assert [e["status"] for e in experiments] == ["aborted", "aborted"]
    assert all(not e["metrics"] for e in experiments)


TRAIN_BY_NAME_BEFORE_THE_LOOP = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "training_l2"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
from PACKAGE import train  # bound by name before the first experiment exists
for experiment in opt.get_experiments(**KWARGS):
    train(*ARGUMENTS)
"""


@pytest.mark.parametrize("trainer, arguments", [
    (XGBOOST, '{"max_depth": 2}, "dtrain", 3'),
    (LIGHTGBM, '{}, "dtrain", 3, [4.0], ["training"], [Mine()]'),
], ids=["xgboost", "lightgbm-callbacks-by-position"])
def test_train_imported_by_name_early_or_given_callbacks_by_position_is_logged(
        tmp_path, file_store, trainer, arguments):
    """``from xgboost import train`` after the Optimizer was made but before its first
    experiment kept the unwrapped function (no metric logged, every experiment
    aborted); LightGBM's ``train`` given its callbacks by position (its ninth argument,
    here the sixth) was a TypeError, 'multiple values for argument callbacks'."""
    code = TRAIN_BY_NAME_BEFORE_THE_LOOP.replace("PACKAGE", trainer.package)
    if trainer is XGBOOST:
        code = code.replace('"training_l2"', '"train_rmse"').replace(
            "train(*ARGUMENTS)", f"train({arguments}, evals=[(4.0, 'train')])")
    else:
        code = ("class Mine:\n    order = 5\n    calls = 0\n\n"
                "    def __call__(self, env):\n        Mine.calls += 1\n\n"
                + code.replace("train(*ARGUMENTS)", f"train({arguments})")
                + "assert Mine.calls == 6, Mine.calls  # the script's own, still called\n")
    experiments = run(tmp_path, trainer, code, file_store)
    metric = "train_rmse" if trainer is XGBOOST else "training_l2"
    assert [e["status"] for e in experiments] == ["completed", "completed"]
    assert [e["metrics"][metric]["count"] for e in experiments] == [3, 3]
