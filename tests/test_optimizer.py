"""The Optimizer / Experiment API and the assignment life cycle, in one process."""

from __future__ import annotations

import json
import math

import pytest

from comet_optimize import Experiment, InvalidOptimizerParameters, Optimizer
from tests.conftest import stored_events

GRID_3X3 = {"algorithm": "random", "spec": {"maxCombo": 100},
            "parameters": {"a": [1, 2, 3], "b": ["x", "y", "z"]}}


def quadratic(params):
    return (params["x"] - 0.3) ** 2


def make(config, store, **kwargs):
    return Optimizer(config, verbose=0, store=store, **kwargs)


def journal_events(store, optimizer_id):
    return stored_events(store, optimizer_id)


def test_creation_prints_the_id_line_comet_users_resume_with(store, capfd):
    opt = Optimizer(GRID_3X3, store=store)
    assert f"COMET INFO: COMET_OPTIMIZER_ID={opt.id}" in capfd.readouterr().err
    assert opt.get_id() == f"COMET_OPTIMIZER_ID={opt.id}" and len(opt.id) == 32


def test_environment_id_wins_over_the_config(store, monkeypatch, capfd):
    first = make(GRID_3X3, store)
    monkeypatch.setenv("COMET_OPTIMIZER_ID", first.id)
    second = Optimizer({"algorithm": "grid", "parameters": {"q": [1]}}, store=store)
    assert second.id == first.id
    assert second.config["parameters"] == first.config["parameters"]
    assert "ignoring the given config" in capfd.readouterr().err


def test_a_string_that_is_neither_file_nor_id_is_a_clear_error(store):
    with pytest.raises(Exception, match="neither a config file nor an optimizer id"):
        make("no-such-file.config", store)


@pytest.mark.parametrize("algorithm", ["grid", "random", "bayes"])
def test_small_space_is_exhausted_without_repeats(store, algorithm):
    opt = make({**GRID_3X3, "algorithm": algorithm}, store)
    seen = []
    for experiment in opt.get_experiments():
        seen.append((experiment.params["a"], experiment.params["b"]))
        experiment.log_metric("loss", experiment.params["a"])
    assert len(seen) == 9 and len(set(seen)) == 9
    status = opt.status()
    assert status["status"] == "completed"
    assert status["configSpaceSize"] == 9 and status["max_combo"] == 9
    assert opt.next() is None


def test_trials_repeat_each_set_with_the_same_pid(store):
    opt = make({**GRID_3X3, "algorithm": "grid", "spec": {"maxCombo": 4}, "trials": 3}, store)
    rows = []
    for data in opt.get_parameters():
        Experiment(optimizer_data=data).log_metric("loss", 1.0)
        rows.append((data["pid"], data["trial"], json.dumps(data["parameters"])))
    assert len(rows) == 12
    by_pid = {}
    for pid, trial, params in rows:
        by_pid.setdefault(pid, []).append((trial, params))
    assert len(by_pid) == 4
    for trials in by_pid.values():
        assert [t for t, _ in trials] == [1, 2, 3]
        assert len({p for _, p in trials}) == 1


def test_trials_argument_overrides_the_config_when_creating(store):
    opt = make(GRID_3X3, store, trials=2)
    assert opt.config["trials"] == 2
    with pytest.raises(InvalidOptimizerParameters, match="integer >= 1"):
        make(GRID_3X3, store, trials=1.0)


def test_default_max_combo_is_ten_per_parameter(store):
    opt = make({"algorithm": "random", "parameters": {
        "x": {"type": "double", "min": 0, "max": 1},
        "y": {"type": "double", "min": 0, "max": 1}}}, store)
    assert opt.max_combo == 20
    assert sum(1 for e in opt.get_experiments() if not e.log_metric("loss", 1)) == 20


def test_previous_experiment_is_ended_before_the_next_suggestion(store):
    opt = make({"algorithm": "bayes", "spec": {"maxCombo": 3},
                "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}, store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", quadratic(experiment.params))
    kinds = [(e["type"], e.get("count")) for e in journal_events(store, opt.id)
             if e["type"] in ("assign", "end")]
    assert kinds == [("assign", 1), ("end", 1), ("assign", 2), ("end", 2),
                     ("assign", 3), ("end", 3)]


def test_score_is_the_best_logged_value_as_in_comet(store):
    opt = make({**GRID_3X3, "spec": {"maxCombo": 1, "objective": "maximize",
                                     "metric": "acc"}}, store)
    experiment = opt.next()
    for value in [0.5, 0.9, 0.7]:
        experiment.log_metric("acc", value, step=1)
    experiment.end()
    assert opt.status()["best"]["score"] == 0.9


@pytest.mark.parametrize("reduction,expected", [("last", 0.7), ("mean", 0.7), ("best", 0.5)])
def test_metric_reduction_extension(store, reduction, expected):
    opt = make({**GRID_3X3, "spec": {"maxCombo": 1, "metricReduction": reduction}}, store)
    with opt.next() as experiment:
        for value in [0.9, 0.5, 0.7]:
            experiment.log_metric("loss", value)
    assert math.isclose(opt.status()["best"]["score"], expected)


def test_missing_metric_is_aborted_and_the_warning_names_what_was_logged(store, capfd):
    opt = make({**GRID_3X3, "spec": {"maxCombo": 2}}, store)
    with opt.next() as experiment:
        experiment.log_metric("val_loss", 0.1)
        experiment.log_metric("accuracy", 0.9)
    status = opt.status()
    assert status["aborted"] == 1 and status["completed"] == 0
    err = capfd.readouterr().err
    assert "'loss'" in err and "accuracy, val_loss" in err and "aborted" in err


def test_nan_is_a_completed_result_that_ranks_worst_and_is_not_reassigned(store):
    opt = make({**GRID_3X3, "algorithm": "grid", "spec": {"maxCombo": 2, "retryAssignLimit": 2}},
               store)
    first = opt.next()
    first.log_metric("loss", float("nan"))
    first.end()
    second = opt.next()
    second.log_metric("loss", 5.0)
    second.end()
    assert opt.next() is None
    status = opt.status()
    assert status["completed"] == 2 and status["assigned"] == 2
    assert status["best"]["score"] == 5.0


def test_aborted_experiments_are_reassigned_up_to_the_limit(store):
    opt = make({**GRID_3X3, "algorithm": "grid", "spec": {"maxCombo": 1, "retryAssignLimit": 2}},
               store)
    counts = []
    for data in opt.get_parameters():  # never reports: every assignment is aborted
        counts.append((data["pid"], data["retry"]))
        Experiment(optimizer_data=data).end()
    assert len(counts) == 3
    assert len({pid for pid, _ in counts}) == 1
    assert [retry for _, retry in counts] == [0, 1, 2]
    assert opt.status()["aborted"] == 3


def test_experiment_handle(store):
    opt = make({**GRID_3X3, "spec": {"maxCombo": 1}}, store, project_name="proj")
    experiment = opt.next()
    assert experiment.project_name == "proj"
    assert experiment.get_parameter("a") in (1, 2, 3)
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        experiment.get_parameter("nope")
    experiment.log_parameter("epochs", 10)
    assert experiment.get_parameter("epochs") == 10
    experiment.log_parameters({"batch": 32})
    experiment.log_metrics({"loss": 0.25, "acc": 0.5})
    experiment.log_other("note", "hello")
    assert experiment.others["optimizer_id"] == opt.id
    assert experiment.others["optimizer_metric"] == "loss"
    assert experiment.others["optimizer_count"] == 1
    experiment.end()
    experiment.end()  # twice is harmless
    assert experiment.others["optimizer_metric_value"] == 0.25
    status = opt.status()
    assert status["completed"] == 1
    assert status["best"]["metrics"]["acc"]["last"] == 0.5
    recorded = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert recorded["others"] == {"note": "hello"}
    assert recorded["logged_parameters"] == {"epochs": 10, "batch": 32}
    assert recorded["project_name"] == "proj"


def test_status_has_comets_keys(store):
    opt = make(GRID_3X3, store)
    status = opt.status()
    for key in ["algorithm", "configSpaceSize", "endTime", "id", "lastUpdateTime", "maxCombo",
                "name", "parameters", "spec", "startTime", "status", "suggestion_count",
                "trials", "version", "assigned", "running", "completed", "aborted", "failed",
                "best"]:
        assert key in status
    assert status["status"] == "running"
    json.dumps(status)


def test_resume_in_the_same_process_continues_the_count(store):
    opt = make({"algorithm": "random", "spec": {"maxCombo": 10, "seed": 7},
                "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}, store)
    for _ in range(5):
        with opt.next() as experiment:
            experiment.log_metric("loss", experiment.params["x"])
    resumed = make(opt.id, store)
    counts = [e.count for e in resumed.get_experiments() if not e.log_metric("loss", 1)]
    assert counts == [6, 7, 8, 9, 10]
