"""Comet-shaped identity and status (issue 9): the keys, meanings and units Comet gives."""

from __future__ import annotations

import json
import time

import pytest

from comet_optimize import Experiment, Optimizer, OptimizerException

COMET_KEYS = {"algorithm", "comboCount", "configSpaceSize", "endTime", "id", "lastUpdateTime",
              "maxCombo", "name", "parameters", "retryCount", "spec", "startTime", "state",
              "status", "trials", "version"}
SMALL = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}


def make(config, store, **kwargs):
    return Optimizer(config, verbose=0, store=store, **kwargs)


def test_status_carries_every_comet_key_with_comets_units(store):
    before = time.time() * 1000
    opt = make(SMALL, store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    status = opt.status()
    after = time.time() * 1000
    assert COMET_KEYS <= set(status)
    for key in ("startTime", "lastUpdateTime", "endTime"):  # milliseconds, as Comet
        assert isinstance(status[key], int) and before - 1 <= status[key] <= after + 1, key
    assert status["started"] == pytest.approx(status["startTime"] / 1000, abs=0.001)
    assert status["ended"] == pytest.approx(status["endTime"] / 1000, abs=0.001)
    assert status["maxCombo"] == 0 and status["max_combo"] == 3  # as configured / effective
    assert status["name"] == opt.id  # Comet names an unnamed search by its id
    assert status["comboCount"] == 3 and status["retryCount"] == 0
    assert status["status"] == "completed" and status["completed"] == 3
    json.dumps(status)


def test_status_name_is_the_configured_name_and_retries_are_counted(store):
    opt = make({"algorithm": "grid", "name": "my search", "spec": {"retryAssignLimit": 1},
                "parameters": {"x": [1, 2]}}, store)
    opt.next().end()  # aborted: handed out again
    status = opt.status()
    assert status["name"] == "my search"
    opt.next().end()
    assert opt.status()["retryCount"] == 1 and opt.status()["comboCount"] == 1


def test_get_id_is_comets_line_and_attaches(store):
    opt = make(SMALL, store)
    assert opt.get_id() == f"COMET_OPTIMIZER_ID={opt.id}"
    again = make(opt.get_id(), store)
    assert again.id == opt.id


def test_the_environment_variable_may_hold_the_get_id_line(store, monkeypatch):
    opt = make(SMALL, store)
    monkeypatch.setenv("COMET_OPTIMIZER_ID", opt.get_id())
    assert make(None, store).id == opt.id


def test_completion_line_when_next_returns_none(store, capfd):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1]}}, store=store)
    opt.next().end()
    capfd.readouterr()
    assert opt.next() is None
    assert f"COMET INFO: Optimizer search {opt.id} has completed" in capfd.readouterr().err


def test_no_completion_line_when_quiet(store, capfd):
    opt = make({"algorithm": "grid", "parameters": {"x": [1]}}, store)
    opt.next().end()
    assert opt.next() is None
    assert "has completed" not in capfd.readouterr().err


class Tagged(Experiment):
    pass


@pytest.mark.parametrize("kind", ["Experiment", "OfflineExperiment"])
def test_experiment_class_by_name(store, kind):
    opt = make(SMALL, store, experiment_class=kind)
    experiment = opt.next()
    assert type(experiment) is Experiment


def test_experiment_class_subclass_and_callable(store):
    opt = make(SMALL, store, experiment_class=Tagged)
    assert isinstance(opt.next(), Tagged)
    made = []

    def factory(**kwargs):
        made.append(kwargs)
        return Experiment(**kwargs)

    other = make(SMALL, store, experiment_class=factory)
    experiment = other.next(project_name="p")
    assert isinstance(experiment, Experiment) and made[0]["project_name"] == "p"
    experiment.log_metric("loss", 1.0)
    experiment.end()
    assert other.status()["completed"] == 1


def test_unknown_experiment_class_is_a_clear_error(store):
    with pytest.raises(OptimizerException, match="experiment_class"):
        make(SMALL, store, experiment_class="ExistingExperiment")


@pytest.mark.parametrize("parameters, expected", [
    ({"a": {"type": "double", "min": 0, "max": 1},
      "b": {"type": "double", "min": 0, "max": 1}}, 20),  # docs: 10 x 2, not the 100 grid
    ({f"p{i}": {"type": "double", "min": 0, "max": 1} for i in range(4)}, 40),
    ({"x": [1, 2, 3]}, 3),  # capped by the grid
])
def test_grid_max_combo_zero_is_ten_per_parameter(store, parameters, expected):
    opt = make({"algorithm": "grid", "spec": {"maxCombo": 0}, "parameters": parameters}, store)
    assert opt.max_combo == expected
    count = 0
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", 1.0)
        count += 1
    assert count == expected


def test_whole_grid_by_setting_max_combo_to_its_size(store):
    parameters = {"a": {"type": "double", "min": 0, "max": 1},
                  "b": {"type": "double", "min": 0, "max": 1}}
    opt = make({"algorithm": "grid", "spec": {"maxCombo": 100}, "parameters": parameters}, store)
    assert opt.max_combo == 100 == opt.config_space_size


def test_an_api_key_passed_as_comet_scripts_do_is_never_recorded(store):
    opt = make(SMALL, store, api_key="SECRET-KEY")
    experiment = opt.next(project_name="p")
    experiment.log_metric("loss", 1.0)
    experiment.end()
    [row] = opt.experiments()
    assert row["project_name"] == "p" and "api_key" not in row
    assert "SECRET-KEY" not in json.dumps(opt.experiments())
