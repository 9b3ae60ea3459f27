"""LightGBM auto-logging: ``train`` (and the scikit-learn models that call it) reports each
iteration's evaluation results, as Comet's LightGBM integration names them
(``{data set}_{metric}``, step = the iteration).

LightGBM is not a test dependency: a stand-in package with LightGBM's layout (``train``
defined in ``lightgbm.engine`` and bound in ``lightgbm`` and ``lightgbm.sklearn``;
callbacks called with an environment whose ``evaluation_result_list`` holds
``(data set, metric, value, higher is better)``; ``fit(eval_set=...)`` naming its data
sets ``valid_0``, ``valid_1``) runs in a fresh process per case. LightGBM 4.7 itself gave
the same names (``valid_0_l2``, ``training_l2``).
"""

from __future__ import annotations

import pytest

from tests.test_autolog_xgboost import run

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

SKLEARN_API_FIRST = """
import lightgbm
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "valid_1_l2"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    lightgbm.LGBMRegressor().fit("X", "y", eval_set=[2.0, 1.0], **FIT_KWARGS(experiment))
"""

TRAIN_IMPORTED_LATER = """
from comet_optimize import Optimizer
opt = Optimizer({"algorithm": "grid", "spec": {"metric": "training_l2"},
                 "parameters": {"u": [1, 2]}}, verbose=0, store=STORE)
for experiment in opt.get_experiments(**KWARGS):
    import lightgbm as lgb  # imported only now: the import hook wraps train
    lgb.train({"objective": "regression"}, "dtrain", 3, valid_sets=[4.0],
              valid_names=["training"])
"""


def lightgbm_run(tmp_path, code: str, store: str, **options) -> list[dict]:
    return run(tmp_path, code, store, fake=FAKE_LIGHTGBM, package_name="lightgbm", **options)


@pytest.mark.parametrize("code, metric, values", [
    (SKLEARN_API_FIRST, "valid_1_l2", [1.0, 0.5, 1 / 3]),
    (TRAIN_IMPORTED_LATER, "training_l2", [4.0, 2.0, 4 / 3]),
], ids=["fit-eval-set-imported-first", "train-imported-later"])
def test_train_logs_each_iterations_evaluation_into_the_current_experiment(
        tmp_path, file_store, code, metric, values):
    """A search over a LightGBM model whose objective Comet auto-logs (``valid_1_l2``)
    had every experiment aborted: 'it logged no metric'."""
    experiments = lightgbm_run(tmp_path, code, file_store)
    assert [e["status"] for e in experiments] == ["completed", "completed"]
    for experiment in experiments:
        logged = experiment["metrics"][metric]
        assert logged["count"] == 3 and logged["step"] == 2
        assert logged["last"] == pytest.approx(values[-1])
        assert experiment["score"] == pytest.approx(min(values))
    if metric == "valid_1_l2":
        assert set(experiments[0]["metrics"]) == {"valid_0_l2", "valid_1_l2"}


def test_the_experiments_own_lightgbm_callback_is_not_logged_twice(tmp_path, file_store):
    experiments = lightgbm_run(tmp_path, SKLEARN_API_FIRST, file_store, fit_kwargs=(
        "lambda experiment: {'callbacks': [experiment.get_callback('lightgbm')]}"))
    assert [e["metrics"]["valid_1_l2"]["count"] for e in experiments] == [3, 3]


def test_auto_metric_logging_false_leaves_lightgbm_alone(tmp_path, file_store):
    experiments = lightgbm_run(tmp_path, SKLEARN_API_FIRST, file_store,
                               kwargs={"auto_metric_logging": False})
    assert [e["status"] for e in experiments] == ["aborted", "aborted"]
    assert all(not e["metrics"] for e in experiments)
