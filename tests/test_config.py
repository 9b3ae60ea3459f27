"""Config loading and validation (SPEC §2): every source, every default, every bad input."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import comet_optimize
from comet_optimize import InvalidOptimizerParameters, OptimizerException, config_file
from comet_optimize.config import (
    MAX_INTEGER,
    MIN_INTEGER,
    NORMAL_TAIL,
    load,
    read_config_file,
    validate,
)
from comet_optimize.space import Space

ALGORITHMS = ("grid", "random", "bayes")
GOOD_PARAMETERS = {"x": {"type": "integer", "min": 1, "max": 5}}

# The docs' example-2.config, as the docs write it (Python literal, comments, trailing commas).
DOCS_EXAMPLE_2 = """\
{
    # We pick the Bayes algorithm:
    "algorithm": "bayes",

    # Declare your hyperparameters in the Vizier-inspired format:
    "parameters": {
        "x": {"type": "integer", "min": 1, "max": 5},
    },

    # Declare what we will be optimizing, and how:
    "spec": {
        "metric": "loss",
        "objective": "minimize",
    },
}
"""

# Every complete config in the docs; `{...}` placeholders replaced by real content.
REAL_PARAMETERS = '{"x": {"type": "integer", "min": 1, "max": 5}, "y": [0.1, 0.2], }'
DOCS_EXAMPLES = {
    "complete-example": (
        '{"algorithm": "bayes", "spec": { "maxCombo": 0, "objective": "minimize", '
        '"metric": "loss", "minSampleSize": 100, "retryLimit": 20, "retryAssignLimit": 0, }, '
        '"parameters": { "hidden-layer-size": {"type": "integer", "min": 5, "max": 100}, '
        '"hidden2-layer-size": {"type": "discrete", "values": [16, 32, 64]}, }, '
        '"name": "My Bayesian Search", "trials": 1, }'
    ),
    "bayes-spec": (
        '{"algorithm": "bayes", "spec": { "maxCombo": 0, "objective": "minimize", '
        '"metric": "loss", "minSampleSize": 100, "retryLimit": 20, "retryAssignLimit": 0, }, '
        f'"trials": 1, "parameters": {REAL_PARAMETERS}, "name": "My Optimizer Name", }}'
    ),
    "grid-spec": (
        '{"algorithm": "grid", "spec": { "randomize": True, "maxCombo": 0, "metric": "loss", '
        '"gridSize": 10, "minSampleSize": 100, "retryLimit": 20, "retryAssignLimit": 0, }, '
        f'"trials": 1, "parameters": {REAL_PARAMETERS}, "name": "My Optimizer Name", }}'
    ),
    "random-spec": (
        '{"algorithm": "random", "spec": { "maxCombo": 100, "metric": "loss", "gridSize": 10, '
        '"minSampleSize": 100, "retryLimit": 20, "retryAssignLimit": 0, }, '
        f'"trials": 1, "parameters": {REAL_PARAMETERS}, "name": "My Optimizer Name", }}'
    ),
    "integer-discrete": (
        '{"algorithm": "bayes", "spec": {"metric": "loss"}, "parameters": { '
        '"hidden-layer-size": {"type": "integer", "min": 5, "max": 100}, '
        '"hidden2-layer-size": {"type": "discrete", "values": [16, 32, 64]}, }, '
        '"trials": 1, "name": "My Optimizer Name", }'
    ),
    "double-discrete": (
        '{"algorithm": "bayes", "spec": {"metric": "loss"}, "parameters": { '
        '"momentum": {"type": "double", "min": 0.0, "max": 0.9}, '
        '"learning-rate": {"type": "discrete", "values": [0.01, 0.1, 0.8]}, }, '
        '"trials": 1, "name": "My Optimizer Name", }'
    ),
    "scaling-types": (
        '{"algorithm": "bayes", "spec": {"metric": "loss"}, "parameters": { '
        '"momentum": {"type": "float", "min": 0.0, "max": 0.9, "scalingType": "uniform"}, '
        '"learning-rate": {"type": "float", "min": 0.001, "max": 1.0, '
        '"scalingType": "loguniform"}, '
        '"dropout": {"type": "float", "mu": 0.5, "sigma": 0.1, "scalingType": "normal"}, }, '
        '"trials": 1, "name": "My Optimizer Name", }'
    ),
    "categorical": (
        '{"algorithm": "bayes", "spec": {"metric": "loss"}, "parameters": { '
        '"activation": {"type": "categorical", "values": ["sigmoid", "relu", "leaky-relu"]}, }, '
        '"trials": 1, "name": "My Optimizer Name", }'
    ),
    "grid-size": (
        '{"algorithm": "grid", "parameters": {"x": {"type": "double", "scalingType": "uniform", '
        '"min": 0.0, "max": 100.0, "gridSize": 25, }, }, }'
    ),
    "retry-assign-limit": (
        '{"algorithm": "bayes", "spec": { "retryAssignLimit": 1, }, '
        f'"parameters": {REAL_PARAMETERS}, "name": "My Bayesian Search", "trials": 1, }}'
    ),
    "mnist": (
        '{ "algorithm": "bayes", "name": "Optimize MNIST Network", '
        '"spec": {"maxCombo": 10, "objective": "minimize", "metric": "loss"}, '
        '"parameters": { "first_layer_units": { "type": "integer", "mu": 500, "sigma": 50, '
        '"scalingType": "normal", }, "batch_size": {"type": "discrete", "values": [64, 128, 256]}, '
        '}, "trials": 1, }'
    ),
}


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- loading


def test_dict_config_is_validated_with_its_values():
    config = validate({"algorithm": "random", "parameters": GOOD_PARAMETERS,
                       "spec": {"metric": "acc", "objective": "maximize"}, "trials": 3})
    assert config.algorithm == "random"
    assert config.trials == 3
    assert config.spec.metric == "acc"
    assert config.spec.objective == "maximize"
    (x,) = config.parameters
    assert (x.name, x.type, x.scaling, x.min, x.max) == ("x", "integer", "uniform", 1, 5)


def test_json_file_with_true_false_null_loads(tmp_path):
    path = write(tmp_path, "opt.json", """{
        "algorithm": "grid",
        "spec": {"randomize": true, "seed": null, "metric": "loss"},
        "parameters": {"flag": {"type": "discrete", "values": [0, 1]}},
        "name": null,
        "verbose": false
    }""")
    config, raw = load(path)
    assert config.spec.randomize is True
    assert config.spec.seed is None
    assert config.name is None
    assert raw["verbose"] is False


def test_docs_example_2_config_loads_as_written(tmp_path):
    path = write(tmp_path, "example-2.config", DOCS_EXAMPLE_2)
    config, raw = load(path)
    assert raw == {"algorithm": "bayes",
                   "parameters": {"x": {"type": "integer", "min": 1, "max": 5}},
                   "spec": {"metric": "loss", "objective": "minimize"}}
    assert config.algorithm == "bayes"
    assert config.parameters[0].max == 5


def test_python_literal_file_accepts_true_false_none_and_negative_numbers(tmp_path):
    path = write(tmp_path, "opt.config", """{
        "algorithm": "grid",  # trailing comment
        "spec": {"randomize": True, "seed": None,},
        "parameters": {"x": {"type": "double", "min": -1.5, "max": +2,},},
        "name": None,
    }""")
    config, _ = load(path)
    assert config.spec.randomize is True
    assert (config.parameters[0].min, config.parameters[0].max) == (-1.5, 2)


@pytest.mark.parametrize("extension", [".yml", ".yaml"])
def test_yaml_file_loads(tmp_path, extension):
    path = write(tmp_path, "opt" + extension, """\
algorithm: random
spec:
  metric: accuracy
  objective: maximize
  randomize: false
parameters:
  lr: {type: double, scalingType: loguniform, min: 1.0e-4, max: 1.0}
  act: [relu, tanh]
trials: 2
""")
    config, _ = load(path)
    assert config.algorithm == "random"
    assert config.spec.objective == "maximize"
    assert config.trials == 2
    lr, act = config.parameters
    assert (lr.scaling, lr.min, lr.max) == ("loguniform", 1e-4, 1.0)
    assert (act.type, act.values) == ("categorical", ("relu", "tanh"))


def test_shorthand_lists_and_scalars_expand_to_discrete_or_categorical():
    config = validate({"algorithm": "grid", "parameters": {
        "batch": [16, 32, 64], "rate": [0.1, 0.5], "act": ["relu", "tanh"],
        "epochs": 10, "opt": "adam"}})
    by_name = {p.name: p for p in config.parameters}
    assert (by_name["batch"].type, by_name["batch"].values) == ("discrete", (16, 32, 64))
    assert (by_name["rate"].type, by_name["rate"].values) == ("discrete", (0.1, 0.5))
    assert (by_name["act"].type, by_name["act"].values) == ("categorical", ("relu", "tanh"))
    assert (by_name["epochs"].type, by_name["epochs"].values) == ("discrete", (10,))
    assert (by_name["opt"].type, by_name["opt"].values) == ("categorical", ("adam",))
    assert config.to_dict()["parameters"]["epochs"] == {"type": "discrete", "values": [10]}


def test_float_is_an_alias_for_double():
    config = validate({"algorithm": "random",
                       "parameters": {"m": {"type": "float", "min": 0.0, "max": 0.9}}})
    assert config.parameters[0].type == "double"
    assert config.to_dict()["parameters"]["m"]["type"] == "double"


def test_to_dict_fills_every_spec_default():
    stored = validate({"algorithm": "bayes", "parameters": GOOD_PARAMETERS}).to_dict()
    spec = stored["spec"]
    expected = {"maxCombo": 0, "objective": "minimize", "metric": "loss", "gridSize": 10,
                "minSampleSize": 100, "retryLimit": 20, "retryAssignLimit": 0,
                "randomize": False}
    assert {key: spec[key] for key in expected} == expected
    assert spec["randomize"] is False
    assert stored["trials"] == 1
    assert stored["name"] is None
    assert stored["parameters"]["x"] == {"type": "integer", "scalingType": "uniform",
                                         "min": 1, "max": 5}


def test_parameter_grid_size_is_kept_next_to_the_spec_default():
    config = validate({"algorithm": "grid", "spec": {"gridSize": 4}, "parameters": {
        "x": {"type": "double", "min": 0, "max": 1, "gridSize": 7}}})
    assert config.spec.grid_size == 4
    assert config.parameters[0].grid_size == 7


@pytest.mark.parametrize("name", sorted(DOCS_EXAMPLES))
def test_every_docs_example_config_validates(tmp_path, name):
    path = write(tmp_path, f"{name}.config", DOCS_EXAMPLES[name])
    config, raw = load(path)
    assert config.algorithm == raw["algorithm"]
    assert [p.name for p in config.parameters] == list(raw["parameters"])


def test_stored_form_validates_back_to_the_same_config(tmp_path):
    for text in DOCS_EXAMPLES.values():
        config, _ = load(write(tmp_path, "c.config", text))
        assert validate(config.to_dict()) == config


# ---------------------------------------------------------------- unknown spec keys


def test_unknown_spec_key_only_warns_and_the_config_loads():
    with pytest.warns(UserWarning, match=r"spec\.learningRate: unknown key, ignored"):
        config = validate({"algorithm": "random", "parameters": GOOD_PARAMETERS,
                           "spec": {"learningRate": 3, "metric": "loss"}})
    assert config.spec.metric == "loss"
    assert "learningRate" not in config.to_dict()["spec"]  # not stored, so never warned again


def test_a_spec_key_written_another_way_is_named():
    """``maxcombo`` is ignored (the budget falls back to its default): the warning says
    which key was meant."""
    with pytest.warns(UserWarning, match=r'spec\.maxcombo: unknown key, ignored; did you '
                                         r'mean "maxCombo"\?'):
        validate({"algorithm": "random", "parameters": GOOD_PARAMETERS,
                  "spec": {"maxcombo": 3, "metric": "loss"}})


def test_a_top_level_key_written_in_spec_says_where_it_belongs():
    """A public MNIST sweep writes ``"trials": 10`` inside ``spec``: ignored there (by
    Comet too), so each set runs once; the warning said only 'unknown key'."""
    with pytest.warns(UserWarning, match=r"spec\.trials: unknown key, ignored; 'trials' is "
                                         r"a top-level key of the config, beside 'spec'"):
        config = validate({"algorithm": "random", "parameters": GOOD_PARAMETERS,
                           "spec": {"trials": 10, "metric": "loss"}})
    assert config.trials == 1


def test_scaling_type_written_in_snake_case_with_the_default_value_only_warns():
    """Public Comet scripts (a spike-sorter tuning script, a CoDraw search) write
    ``"scaling_type": "uniform"`` and Comet runs them: the same search either way, so
    it loads; ``"scaling_type": "loguniform"`` is still refused (see BAD_CONFIGS)."""
    parameters = {"weight": {"type": "float", "scaling_type": "uniform", "min": -2, "max": 2},
                  "seed": {"type": "integer", "scaling_type": "uniform", "min": 1, "max": 9}}
    with pytest.warns(UserWarning) as caught:
        config = validate({"algorithm": "bayes", "parameters": parameters,
                           "spec": {"metric": "loss"}})
    assert sorted(str(w.message) for w in caught) == [
        'parameters.seed: unknown key "scaling_type" ignored (its value, "uniform", is the '
        "default scalingType)",
        'parameters.weight: unknown key "scaling_type" ignored (its value, "uniform", is the '
        "default scalingType)"]
    assert [p.scaling for p in config.parameters] == ["uniform", "uniform"]
    assert "scaling_type" not in str(config.to_dict())


def test_known_spec_keys_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate({"algorithm": "grid", "parameters": GOOD_PARAMETERS,
                  "spec": {"maxCombo": 3, "randomize": True, "seed": 5}})


# ---------------------------------------------------------------- the bad-config catalogue
#
# Each case builds a config for a given algorithm (a dict, or a file path) and
# names the message fragment the user must see. Cases whose fault is the
# algorithm itself run once.


def param(definition):
    return lambda alg, tmp: {"algorithm": alg, "parameters": {"lr": definition}}


def spec(values):
    return lambda alg, tmp: {"algorithm": alg, "spec": values, "parameters": GOOD_PARAMETERS}


def top(**keys):
    return lambda alg, tmp: {"algorithm": alg, "parameters": GOOD_PARAMETERS, **keys}


def file(name, text):
    return lambda alg, tmp: write(tmp, name, text.replace("ALG", alg))


def raw_file(name, data: bytes):
    """A file of exactly these bytes (encodings, binaries); ALG becomes the algorithm."""
    def build(alg, tmp):
        path = tmp / name
        path.write_bytes(data.replace(b"A\x00L\x00G\x00", alg.encode("utf-16-le"))
                         .replace(b"ALG", alg.encode()))
        return str(path)
    return build


def many_doubles(count):
    return {f"x{i}": {"type": "double", "min": 0, "max": 1} for i in range(count)}




def alias_bomb(levels: int) -> str:
    """Anchors each listing 10 aliases of the one before: 10**levels values once expanded.

    They sit in ``name``, which the old validator repeated in its message.
    """
    head = "algorithm: ALG\nparameters: {x: [1, 2]}\nname:\n"
    return head + "  - &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, levels))


ALIAS_BOMB = alias_bomb(10)
GOOD_JSON = '{"algorithm": "ALG", "parameters": {"x": [1, 2]}}'


ONCE = ("bayes",)
SENTINEL = "code-was-run.flag"

BAD_CONFIGS = [
    ("loguniform-min-0", param({"type": "double", "scalingType": "loguniform", "min": 0,
                                "max": 1}),
     "parameters.lr: loguniform needs min > 0 (got 0)", ALGORITHMS),
    ("loguniform-min-negative", param({"type": "double", "scalingType": "loguniform",
                                       "min": -1, "max": 1}),
     "parameters.lr: loguniform needs min > 0 (got -1)", ALGORITHMS),
    ("bad-objective", spec({"objective": "minimise"}),
     'spec.objective: must be "minimize" or "maximize" (got "minimise")', ALGORITHMS),
    ("unknown-algorithm", lambda alg, tmp: {"algorithm": "baye", "parameters": GOOD_PARAMETERS},
     'unknown algorithm "baye" (choose grid, random or bayes)', ONCE),
    ("missing-algorithm", lambda alg, tmp: {"parameters": GOOD_PARAMETERS},
     "algorithm: missing (choose grid, random or bayes)", ONCE),
    ("min-greater-than-max", param({"type": "double", "min": 2, "max": 1}),
     "parameters.lr: min > max (2 > 1)", ALGORITHMS),
    ("integer-min-greater-than-max", param({"type": "integer", "min": 9, "max": 3}),
     "parameters.lr: min > max (9 > 3)", ALGORITHMS),
    ("normal-without-mu", param({"type": "double", "scalingType": "normal", "sigma": 1}),
     "parameters.lr: normal scaling needs 'mu'", ALGORITHMS),
    ("normal-without-sigma", param({"type": "double", "scalingType": "normal", "mu": 0}),
     "parameters.lr: normal scaling needs 'sigma'", ALGORITHMS),
    ("lognormal-without-sigma", param({"type": "integer", "scalingType": "lognormal",
                                       "mu": 1}),
     "parameters.lr: lognormal scaling needs 'sigma'", ALGORITHMS),
    ("sigma-zero", param({"type": "double", "scalingType": "normal", "mu": 0, "sigma": 0}),
     "parameters.lr.sigma: must be > 0 (got 0)", ALGORITHMS),
    ("sigma-negative", param({"type": "double", "scalingType": "normal", "mu": 0,
                              "sigma": -2.5}),
     "parameters.lr.sigma: must be > 0 (got -2.5)", ALGORITHMS),
    ("uniform-without-max", param({"type": "double", "min": 0}),
     "parameters.lr: uniform scaling needs 'max'", ALGORITHMS),
    ("empty-values", param({"type": "discrete", "values": []}),
     "parameters.lr.values: empty list", ALGORITHMS),
    ("empty-shorthand-list", param([]),
     "parameters.lr: empty list of values", ALGORITHMS),
    ("missing-values", param({"type": "categorical"}),
     "parameters.lr.values: missing (a categorical parameter needs a list of values)",
     ALGORITHMS),
    ("mixed-types", param({"type": "discrete", "values": [1, "two"]}),
     "parameters.lr.values: mixed types (numbers and strings)", ALGORITHMS),
    ("mixed-types-shorthand", param(["a", 1]),
     "parameters.lr.values: mixed types (numbers and strings)", ALGORITHMS),
    ("categorical-with-numbers", param({"type": "categorical", "values": [1, 2]}),
     "parameters.lr.values: categorical values must be strings (got 1); use discrete",
     ALGORITHMS),
    ("discrete-with-strings", param({"type": "discrete", "values": ["a", "b"]}),
     'parameters.lr.values: discrete values must be numbers (got "a"); use categorical',
     ALGORITHMS),
    ("discrete-with-bool", param({"type": "discrete", "values": [1, True]}),
     "parameters.lr.values: discrete values are all numbers or all booleans, not both "
     "(got [1, True])", ALGORITHMS),
    ("duplicate-values", param({"type": "discrete", "values": [1, 2, 2]}),
     "parameters.lr.values: duplicate value 2", ALGORITHMS),
    ("duplicate-categories", param(["relu", "relu"]),
     'parameters.lr.values: duplicate value "relu"', ALGORITHMS),
    ("integer-non-integer-min", param({"type": "integer", "min": 0.5, "max": 3}),
     "parameters.lr.min: an integer parameter needs integer bounds (got 0.5)", ALGORITHMS),
    ("integer-non-integer-max", param({"type": "integer", "min": 0, "max": 3.2}),
     "parameters.lr.max: an integer parameter needs integer bounds (got 3.2)", ALGORITHMS),
    ("bound-infinite", param({"type": "double", "min": 0, "max": math.inf}),
     "parameters.lr.max: must be finite (got inf)", ALGORITHMS),
    ("bound-nan", param({"type": "double", "min": math.nan, "max": 1}),
     "parameters.lr.min: must be finite (got nan)", ALGORITHMS),
    ("range-overflows", param({"type": "double", "min": -1e308, "max": 1e308}),
     "parameters.lr: max - min overflows a float (-1e+308 to 1e+308)", ALGORITHMS),
    ("bound-string", param({"type": "double", "min": "0", "max": 1}),
     'parameters.lr.min: must be a number (got "0")', ALGORITHMS),
    ("discrete-infinite", param([1, math.inf]),
     "parameters.lr.values: values must be finite (got inf)", ALGORITHMS),
    ("trials-0", top(trials=0), "trials: must be an integer >= 1 (got 0)", ALGORITHMS),
    ("trials-1.0", top(trials=1.0), "trials: must be an integer >= 1 (got 1.0)", ALGORITHMS),
    ("trials-true", top(trials=True), "trials: must be an integer >= 1 (got True)",
     ALGORITHMS),
    ("trials-string", top(trials="3"), 'trials: must be an integer >= 1 (got "3")',
     ALGORITHMS),
    ("unknown-top-level-key", top(paramters={}),
     'unknown top-level key "paramters"; did you mean "parameters"? (allowed: algorithm, '
     "spec, parameters, name, trials, verbose)", ALGORITHMS),
    ("parameter-key-in-another-case", param({"type": "double", "min": 1e-5, "max": 1,
                                             "scaling_type": "loguniform"}),
     'parameters.lr: unknown key "scaling_type" for a double parameter; did you mean '
     '"scalingType"?', ALGORITHMS),
    ("name-not-a-string", top(name=5), "name: must be a string (got 5)", ALGORITHMS),
    ("unknown-parameter-key", param({"type": "double", "min": 0, "max": 1, "step": 0.1}),
     'parameters.lr: unknown key "step" for a double parameter', ALGORITHMS),
    ("numeric-key-on-categorical", param({"type": "categorical", "values": ["a"], "min": 0}),
     'parameters.lr: unknown key "min" for a categorical parameter', ALGORITHMS),
    ("unknown-type", param({"type": "int", "min": 0, "max": 1}),
     'parameters.lr.type: unknown type "int" (choose integer, double, float, discrete or '
     "categorical)", ALGORITHMS),
    ("missing-type", param({"min": 0, "max": 1}),
     "parameters.lr: missing 'type'", ALGORITHMS),
    ("unknown-scaling-type", param({"type": "double", "min": 0, "max": 1,
                                    "scalingType": "log"}),
     'parameters.lr.scalingType: unknown scaling "log" (choose linear, uniform, normal, '
     "lognormal, loguniform)", ALGORITHMS),
    ("parameter-is-none", param(None),
     "parameters.lr: must be a dict with a 'type', a list of values or a value (got None)",
     ALGORITHMS),
    ("missing-parameters", lambda alg, tmp: {"algorithm": alg},
     "parameters: missing (declare at least one parameter)", ALGORITHMS),
    ("empty-parameters", lambda alg, tmp: {"algorithm": alg, "parameters": {}},
     "parameters: empty (declare at least one parameter)", ALGORITHMS),
    ("parameters-not-a-dict", lambda alg, tmp: {"algorithm": alg, "parameters": ["x"]},
     "parameters: must be a dict of name -> definition", ALGORITHMS),
    ("spec-not-a-dict", spec(["maxCombo", 3]), "spec: must be a dict", ALGORITHMS),
    ("max-combo-negative", spec({"maxCombo": -1}),
     "spec.maxCombo: must be an integer >= 0 (got -1)", ALGORITHMS),
    ("grid-size-0", spec({"gridSize": 0}), "spec.gridSize: must be an integer >= 1 (got 0)",
     ALGORITHMS),
    ("parameter-grid-size-0", param({"type": "double", "min": 0, "max": 1, "gridSize": 0}),
     "parameters.lr.gridSize: must be an integer >= 1 (got 0)", ALGORITHMS),
    ("min-sample-size-0", spec({"minSampleSize": 0}),
     "spec.minSampleSize: must be an integer >= 1 (got 0)", ALGORITHMS),
    ("retry-limit-float", spec({"retryLimit": 2.5}),
     "spec.retryLimit: must be an integer >= 0 (got 2.5)", ALGORITHMS),
    ("retry-assign-limit-string", spec({"retryAssignLimit": "x"}),
     'spec.retryAssignLimit: must be an integer >= 0 (got "x")', ALGORITHMS),
    ("randomize-yes", spec({"randomize": "yes"}),
     'spec.randomize: must be true or false (got "yes")', ALGORITHMS),
    ("metric-empty", spec({"metric": ""}), 'spec.metric: must be a non-empty string (got "")',
     ALGORITHMS),
    # a public PyTorch MNIST sweep (session 9) wrote W&B's metric form into a Comet config
    ("metric-in-wandbs-form", spec({"metric": {"name": "val_accuracy", "goal": "maximize"}}),
     'spec.metric: must be a non-empty string (got {"goal": "maximize", "name": "val_acc...); '
     'that is W&B\'s form: a Comet config says "metric": "val_accuracy", "objective": '
     '"maximize"', ALGORITHMS),
    ("metric-reduction-unknown", spec({"metricReduction": "median"}),
     'spec.metricReduction: must be "best", "last" or "mean" (got "median")', ALGORITHMS),
    ("seed-negative", spec({"seed": -1}), "spec.seed: must be an integer >= 0 (got -1)",
     ALGORITHMS),
    ("lognormal-min-negative", param({"type": "double", "scalingType": "lognormal", "mu": 0,
                                      "sigma": 1, "min": -1}),
     "parameters.lr: lognormal values are positive, min must be >= 0 (got -1)", ALGORITHMS),
    ("lognormal-max-zero", param({"type": "double", "scalingType": "lognormal", "mu": 0,
                                  "sigma": 1, "max": 0}),
     "parameters.lr: lognormal values are positive, max must be > 0 (got 0)", ALGORITHMS),
    ("truncation-without-mass", param({"type": "double", "scalingType": "normal", "mu": 0,
                                       "sigma": 1, "min": 50, "max": 60}),
     "parameters.lr: min/max leave no probability mass under normal(mu=0, sigma=1)",
     ALGORITHMS),
    ("file-not-a-mapping", file("list.config", '["ALG", {"x": [1, 2]}]'),
     "list.config: the config must be a mapping with 'algorithm', 'spec' and 'parameters' "
     "(got a list)", ALGORITHMS),
    ("file-syntax-error", file("broken.config",
                               '{\n  "algorithm": "ALG",\n  "parameters": {"x": [1, 2}\n}\n'),
     "broken.config: not valid JSON or a Python literal (syntax error at line 3", ALGORITHMS),
    ("yaml-syntax-error", file("broken.yaml", "algorithm: ALG\nparameters: {x: [1, 2}\n"),
     "broken.yaml: not valid YAML at line 2", ALGORITHMS),
    ("file-with-code", file("evil.config",
                            '{"algorithm": "ALG",\n "parameters": {"x": [1, 2]},\n'
                            f' "name": __import__("pathlib").Path("{SENTINEL}").touch(),\n}}'),
     "evil.config: line 3: only literals are allowed in a config "
     "(found '__import__(\"pathlib\").Path(", ALGORITHMS),
    ("file-with-list-key", file("listkey.config",
                                '{"algorithm": "ALG", "parameters": {[1]: 2}}'),
     "listkey.config: line 1: a key must be a string or a number (found '[1]')", ALGORITHMS),
    ("file-bad-value-names-the-file", file("badvalue.json",
                                           '{"algorithm": "ALG", "trials": 0, '
                                           '"parameters": {"x": [1, 2]}}'),
     "badvalue.json: trials: must be an integer >= 1 (got 0)", ALGORITHMS),
    # issue 8, item 5: YAML aliases that expand, and values too long to repeat
    ("yaml-alias-bomb", file("bomb.yaml", ALIAS_BOMB),
     "bomb.yaml: line 8: more than 20000 values in a YAML config (aliases expanded)",
     ALGORITHMS),
    ("yaml-alias-cycle", file("cycle.yaml", "algorithm: ALG\nparameters: &p {x: *p}\n"),
     "cycle.yaml: line 2: the alias *p refers to a node that contains it", ALGORITHMS),
    ("long-value-is-cut-short", top(name=["x" * 10**6]),
     'name: must be a string (got ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...)', ALGORITHMS),
    ("long-parameter-name-is-cut-short", lambda alg, tmp: {
        "algorithm": alg, "parameters": {"p" * 10**6: {"type": "double", "min": 0}}},
     'parameters."' + "p" * 40 + '...": uniform scaling needs \'max\'',
     ALGORITHMS),
    ("huge-integer-is-not-printed", param([1, 10**5000]),
     "parameters.lr.values: integers must be between -2**63 and 2**63 - 1 "
     "(got a 5001-digit integer)", ALGORITHMS),
    # item 7: sizes, with the limit in the message
    ("grid-size-huge", spec({"gridSize": 10**8}),
     "spec.gridSize: must be at most 10000 (got 100000000)", ALGORITHMS),
    ("parameter-grid-size-huge", param({"type": "double", "min": 0, "max": 1,
                                        "gridSize": 10**8}),
     "parameters.lr.gridSize: must be at most 10000 (got 100000000)", ALGORITHMS),
    ("min-sample-size-huge", spec({"minSampleSize": 10**12}),
     "spec.minSampleSize: must be at most 1000000 (got 1000000000000)", ALGORITHMS),
    ("retry-limit-huge", spec({"retryLimit": 10**9}),
     "spec.retryLimit: must be at most 10000 (got 1000000000)", ALGORITHMS),
    ("max-combo-beyond-64-bits", spec({"maxCombo": 2**63}),
     "spec.maxCombo: must be at most 2**63 - 1 (got 9223372036854775808)", ALGORITHMS),
    ("retry-assign-limit-beyond-64-bits", spec({"retryAssignLimit": 10**30}),
     "spec.retryAssignLimit: must be at most 2**63 - 1 (got a 31-digit integer)", ALGORITHMS),
    ("seed-beyond-64-bits", spec({"seed": 2**63}),
     "spec.seed: must be at most 2**63 - 1 (got 9223372036854775808)", ALGORITHMS),
    ("trials-beyond-64-bits", top(trials=2**64),
     "trials: must be at most 2**63 - 1 (got 18446744073709551616)", ALGORITHMS),
    ("grid-of-more-than-2**63-points",
     lambda alg, tmp: {"algorithm": "grid", "parameters": many_doubles(19)},
     "the grid has more than 2**63 - 1 points", ONCE),
    ("grid-of-too-many-samples",
     lambda alg, tmp: {"algorithm": "grid", "spec": {"minSampleSize": 1_000_000},
                       "parameters": {f"x{i}": {"type": "double", "min": 0, "max": 1,
                                                "gridSize": 1} for i in range(11)}},
     "the grid's ranges would be estimated from 11000000 samples, more than 10000000 "
     "(lower spec.minSampleSize or gridSize)", ONCE),
    # item 8: every parameter's draws are finite numbers of its type
    ("integer-beyond-64-bits-uniform", param({"type": "integer", "min": 0, "max": 2**64}),
     "parameters.lr.max: an integer parameter's bounds must be between -2**63 and 2**63 - 1 "
     "(got 18446744073709551616)", ALGORITHMS),
    ("integer-beyond-64-bits-linear", param({"type": "integer", "scalingType": "linear",
                                             "min": -2**63 - 1, "max": 0}),
     "parameters.lr.min: an integer parameter's bounds must be between -2**63 and 2**63 - 1 "
     "(got -9223372036854775809)", ALGORITHMS),
    ("integer-bound-of-400-digits", file("digits.json",
                                         '{"algorithm": "ALG", "parameters": {"x": {"type": '
                                         '"integer", "min": 0, "max": 1' + "0" * 400 + "}}}"),
     "digits.json: parameters.x.max: an integer parameter's bounds must be between -2**63 "
     "and 2**63 - 1 (got a 401-digit integer)", ALGORITHMS),
    ("double-bound-of-400-digits", param({"type": "double", "min": 0, "max": 10**400}),
     "parameters.lr.max: beyond the range of a float, about 1.8e308 "
     "(got a 401-digit integer)", ALGORITHMS),
    ("discrete-value-of-400-digits", file("digits.yaml", "algorithm: ALG\nparameters:\n"
                                          "  x: [1, -1" + "0" * 400 + "]\n"),
     "digits.yaml: parameters.x.values: integers must be between -2**63 and 2**63 - 1 "
     "(got a negative 401-digit integer)", ALGORITHMS),
    ("mu-of-400-digits", param({"type": "double", "scalingType": "normal", "mu": 10**400,
                                "sigma": 1}),
     "parameters.lr.mu: beyond the range of a float, about 1.8e308 (got a 401-digit integer)",
     ALGORITHMS),
    ("sigma-1e308", param({"type": "double", "scalingType": "normal", "mu": 0,
                           "sigma": 1e308}),
     "parameters.lr: normal(mu=0, sigma=1e+308) draws values beyond the range of a float",
     ALGORITHMS),
    ("lognormal-mu-800", param({"type": "double", "scalingType": "lognormal", "mu": 800,
                                "sigma": 1}),
     "parameters.lr: lognormal(mu=800, sigma=1) draws values beyond the range of a float",
     ALGORITHMS),
    ("integer-lognormal-beyond-64-bits", param({"type": "integer", "scalingType": "lognormal",
                                                "mu": 40, "sigma": 1}),
     "parameters.lr: lognormal(mu=40, sigma=1) draws values beyond 64 bits for an integer",
     ALGORITHMS),
    ("integer-normal-beyond-64-bits", param({"type": "integer", "scalingType": "normal",
                                             "mu": 1e19, "sigma": 1}),
     "parameters.lr: normal(mu=1e+19, sigma=1) draws values beyond 64 bits for an integer",
     ALGORITHMS),
    # item 9: nesting, encodings, sizes of files
    ("json-nested-5000-deep", file("deep.json", "[" * 5000 + "]" * 5000),
     "deep.json: nested more than 32 levels deep", ALGORITHMS),
    ("literal-nested-5000-deep", file("deep.config",
                                      '{"algorithm": "ALG", "name": ' + "[" * 5000 + "]" * 5000
                                      + "}"),
     "deep.config: nested more than 32 levels deep", ALGORITHMS),
    # Python 3.10's parser sees the sum as an expression before its depth is counted.
    ("literal-sum-of-5000-terms", file("sum.config", "1" + "+1" * 5000),
     ("sum.config: nested more than 32 levels deep",
      "sum.config: line 1: only literals are allowed"), ALGORITHMS),
    ("yaml-nested-200-deep", file("deep.yaml", "".join("  " * i + "a:\n" for i in range(200))),
     "deep.yaml: nested more than 32 levels deep", ALGORITHMS),
    ("yaml-flow-nested-5000-deep", file("flow.yaml", "[" * 5000 + "]" * 5000),
     "flow.yaml: not valid YAML at line 1", ALGORITHMS),
    ("latin-1-file", raw_file("latin1.config", '{"name": "caf\xe9", "algorithm": "ALG", '
                              '"parameters": {"x": [1]}}'.encode("latin-1")),
     "latin1.config: not UTF-8 text (byte 0xe9 at offset 13); save the config as UTF-8",
     ALGORITHMS),
    ("utf-16-without-bom", raw_file("utf16.json", GOOD_JSON.encode("utf-16-le")),
     "utf16.json: contains NUL bytes: a binary file, or UTF-16/32 without a byte-order mark",
     ALGORITHMS),
    ("binary-file", raw_file("model.config", bytes(range(256)) * 4),
     "model.config: contains NUL bytes", ALGORITHMS),
    ("truncated-utf-16", raw_file("odd.config", '{"trials": 1}'.encode("utf-16") + b"\x00"),
     "odd.config: not valid UTF-16-LE text (bad bytes at offset 28)", ALGORITHMS),
    ("file-too-large", file("huge.json", '{"algorithm": "ALG", "name": "' + "x" * 300_000
                            + '", "parameters": {"x": [1]}}'),
     "huge.json: too large for a config file (the limit is 256 KiB)", ALGORITHMS),
    # item 10: duplicate keys
    ("duplicate-key-json", file("dup.json", '{"algorithm": "ALG", "parameters": {"x": [1]}, '
                                '"algorithm": "grid"}'),
     'dup.json: duplicate key "algorithm"', ALGORITHMS),
    ("duplicate-nested-key-json", file("dup2.json", '{"algorithm": "ALG", "parameters": '
                                       '{"x": [1], "x": [2]}}'),
     'dup2.json: duplicate key "x"', ALGORITHMS),
    ("duplicate-key-yaml", file("dup.yaml", "algorithm: ALG\nparameters:\n  x: [1]\n"
                                "  x: {type: integer, min: 0, max: 3}\n"),
     'dup.yaml: line 4: duplicate key "x"', ALGORITHMS),
    ("duplicate-key-literal", file("dup.config", "{'algorithm': 'ALG',\n 'spec': {'seed': 1,\n"
                                   " 'seed': 2}, 'parameters': {'x': [1]}}"),
     'dup.config: line 3: duplicate key "seed"', ALGORITHMS),
]


def test_bad_config_catalogue_is_large_and_unique():
    ids = [case[0] for case in BAD_CONFIGS]
    assert len(ids) >= 25
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("build, fragment, algorithms",
                         [case[1:] for case in BAD_CONFIGS],
                         ids=[case[0] for case in BAD_CONFIGS])
def test_bad_config_is_refused_before_anything_is_stored(tmp_path, monkeypatch, build,
                                                         fragment, algorithms):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "store"
    messages = set()
    for algorithm in algorithms:
        config = build(algorithm, tmp_path)
        with pytest.raises(InvalidOptimizerParameters) as caught:
            comet_optimize.Optimizer(config, verbose=0, store=str(store))
        assert isinstance(caught.value, OptimizerException)
        message = str(caught.value)
        assert any(part in message for part in
                   (fragment if isinstance(fragment, tuple) else (fragment,))), message
        if isinstance(config, str):
            assert message.startswith(config), "a file's error names the file"
        messages.add(message)
        assert not store.exists() or not os.listdir(store)
    assert len(messages) == 1, f"the algorithms disagree: {messages}"
    assert not (tmp_path / SENTINEL).exists(), "the config file's code was run"


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidOptimizerParameters, match="cannot read the config file"):
        read_config_file(tmp_path / "nope.config")


def _read_in_a_thread(path) -> tuple[threading.Thread, list]:
    outcome: list = []

    def read() -> None:
        try:
            outcome.append(read_config_file(path))
        except InvalidOptimizerParameters as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, outcome


def test_a_config_pipe_nothing_writes_to_is_an_error_not_a_wait(tmp_path, monkeypatch):
    """A FIFO nothing opens for writing made ``comet optimize SCRIPT FIFO`` wait forever
    in open(); it is one sentence after ``PIPE_OPEN_SECONDS``."""
    monkeypatch.setattr(config_file, "PIPE_OPEN_SECONDS", 0.0, raising=False)
    fifo = tmp_path / "opt.fifo"
    os.mkfifo(fifo)
    reader, outcome = _read_in_a_thread(fifo)
    reader.join(timeout=60)
    if reader.is_alive():  # blocked in open(): a writer lets it go before the test fails
        os.close(os.open(fifo, os.O_WRONLY))
        reader.join(timeout=60)
        pytest.fail("reading a FIFO nothing writes to did not end")
    assert str(outcome[0]) == f"{fifo}: nothing opened the pipe for writing within 0 s"


def test_a_config_pipe_whose_writer_is_slow_is_waited_for_and_bounded(tmp_path, monkeypatch):
    """A writer that is there but slow (a script building the config) is waited for past
    ``PIPE_OPEN_SECONDS``, with one line saying so; one that holds the pipe open after a
    whole config is read; one that never finishes is an error after
    ``PIPE_WRITER_SECONDS``."""
    monkeypatch.setattr(config_file, "PIPE_OPEN_SECONDS", 0.0)
    waiting = threading.Event()
    monkeypatch.setattr(config_file.messages, "info", lambda line: waiting.set())
    fifo = tmp_path / "opt.fifo"
    os.mkfifo(fifo)
    text = json.dumps({"algorithm": "random", "parameters": GOOD_PARAMETERS})

    writer = os.open(fifo, os.O_RDWR)  # a writer, there before the reader, silent
    try:
        reader, outcome = _read_in_a_thread(fifo)
        assert waiting.wait(timeout=60), "no line said the reader waits for the writer"
        os.write(writer, text.encode())  # the whole config, and the pipe kept open
        reader.join(timeout=60)
        assert outcome[0]["algorithm"] == "random"

        monkeypatch.setattr(config_file, "PIPE_WRITER_SECONDS", 0.0)
        os.write(writer, text[:10].encode())  # a part, never finished
        reader, outcome = _read_in_a_thread(fifo)
        reader.join(timeout=60)
        assert str(outcome[0]) == (f"{fifo}: the pipe's writer sent no end of config "
                                   f"within 0 s")
    finally:
        os.close(writer)


def test_a_backslash_in_a_python_literal_config_is_kept_without_a_warning(tmp_path):
    """``"name": "C:\\logs"`` in a config written as a Python literal (it has a comment, so
    it is not JSON): Python keeps the backslash, but warned about the escape (a
    SyntaxWarning printed on 3.12), and under warnings-as-errors the config was refused."""
    path = tmp_path / "opt.config"
    path.write_text('# a comment\n{"algorithm": "random", "name": "C:\\logs",\n'
                    ' "parameters": {"x": {"type": "integer", "min": 1, "max": 5}}}\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_config_file(path)["name"] == "C:\\logs"


def test_validate_prefixes_the_source_file():
    with pytest.raises(InvalidOptimizerParameters, match=r"^my\.config: trials: "):
        validate({"algorithm": "grid", "parameters": GOOD_PARAMETERS, "trials": 0},
                 source="my.config")


# ---------------------------------------------------------------- property test

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-6, max_value=1e6)
sigmas = st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def numeric_parameters(draw) -> dict:
    """A valid integer or double definition, any scaling, optional truncation."""
    kind = draw(st.sampled_from(["integer", "double", "float"]))
    scaling = draw(st.sampled_from(["linear", "uniform", "normal", "lognormal", "loguniform"]))
    definition = {"type": kind, "scalingType": scaling}
    integer = kind == "integer"
    if scaling in ("linear", "uniform", "loguniform"):
        if integer:
            low = draw(st.integers(1 if scaling == "loguniform" else -10**6, 10**6))
            high = low + draw(st.integers(0, 10**6))
        else:
            low = draw(positive if scaling == "loguniform" else finite)
            high = low + draw(st.floats(0, 1e6))
        definition.update(min=low, max=high)
    else:
        mu = draw(st.floats(-5, 5) if scaling == "lognormal" else finite)
        sigma = draw(sigmas if scaling == "normal" else st.floats(1e-3, 3))
        centre = math.exp(mu) if scaling == "lognormal" else mu
        definition.update(mu=mu, sigma=sigma)
        # Bounds, when given, keep the centre inside so the truncation has mass.
        if draw(st.booleans()):
            below = draw(st.floats(0.01, 1)) * (centre if scaling == "lognormal" else 3 * sigma)
            low = centre - below
            definition["min"] = math.floor(low) if integer else low
            if scaling == "lognormal":
                definition["min"] = max(definition["min"], 0)
        if draw(st.booleans()):
            high = centre + draw(st.floats(0.01, 3)) * (centre if scaling == "lognormal" else sigma)
            definition["max"] = math.ceil(high) if integer else high
    if draw(st.booleans()):
        definition["gridSize"] = draw(st.integers(1, 50))
    return definition


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(definition=numeric_parameters(), algorithm=st.sampled_from(ALGORITHMS))
def test_valid_numeric_parameters_validate_and_round_trip(definition, algorithm):
    config = validate({"algorithm": algorithm, "parameters": {"p": definition}})
    (parameter,) = config.parameters
    assert parameter.type == ("double" if definition["type"] == "float" else definition["type"])
    assert parameter.scaling == definition["scalingType"]
    again = validate(config.to_dict())
    assert again == config
    assert again.to_dict() == config.to_dict()


# ---------------------------------------------------------------- hostile input (issue 8)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("name", ["opt.json", "opt.config", "opt.yaml"])
def test_utf8_with_or_without_bom_and_utf16_or_32_with_bom_are_read(tmp_path, encoding, name):
    text = ("algorithm: grid\nname: caf\u00e9\nparameters: {x: [1, 2]}\n"
            if name.endswith(".yaml") else
            '{"algorithm": "grid", "name": "caf\u00e9", "parameters": {"x": [1, 2]}}')
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # Python writes no mark for an explicit byte order
    path = tmp_path / name
    path.write_bytes(data)
    config, _ = load(str(path))
    assert config.name == "caf\u00e9"


def test_yaml_aliases_and_merge_keys_that_stay_small_still_load(tmp_path):
    path = write(tmp_path, "shared.yaml", """\
algorithm: grid
parameters:
  a: &unit {type: double, min: 0.0, max: 1.0, gridSize: 3}
  b: *unit
  c:
    <<: *unit
    max: 2.0
""")
    config, _ = load(path)
    by_name = {p.name: p for p in config.parameters}
    assert by_name["b"] == ParameterConfig_like(by_name["a"], name="b")
    assert (by_name["c"].min, by_name["c"].max) == (0.0, 2.0)


def ParameterConfig_like(parameter, **changes):  # noqa: N802 - reads as the dataclass
    import dataclasses

    return dataclasses.replace(parameter, **changes)


@pytest.mark.parametrize("levels", [6, 10])
def test_yaml_alias_bomb_is_refused_in_bounded_time_and_memory(tmp_path, levels):
    """The issue's bomb: 1 min 58 s, 13.7 GB and a 2.1 GB line before (a 6-level one: 7 MB)."""
    path = write(tmp_path, "bomb.yaml", alias_bomb(levels).replace("ALG", "random"))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InvalidOptimizerParameters) as caught:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 10 * 2**20
    assert len(str(caught.value)) < 300


HOSTILE_VALUES = [
    "x" * 10**6,
    "line one\nline two\r\x1b[31m",
    ["x" * 10**6] * 3,
    {"k" * 10**5: "v" * 10**5},
    10**4000,
    -(10**4000),
    [[[[[[[[[[["deep"]]]]]]]]]]],
    b"\xff" * 10**5,
    1j,
    object(),
]


def _self_referencing_list() -> list:
    items: list = []
    items.append(items)
    return items


@pytest.mark.parametrize("value", HOSTILE_VALUES + [_self_referencing_list()],
                         ids=lambda value: type(value).__name__)
@pytest.mark.parametrize("place", ["algorithm", "name", "key", "parameter", "values", "type",
                                  "objective", "bound", "spec", "parameter-name"])
def test_every_echoed_value_is_cut_short_on_one_line(value, place):
    config = {"algorithm": "random", "parameters": {"x": [1, 2]}}
    if place == "algorithm":
        config["algorithm"] = value
    elif place == "name":
        config["name"] = value
    elif place == "key":
        config[value if isinstance(value, (str, int, bytes, complex)) else "k" * 10**6] = 1
    elif place == "parameter":
        config["parameters"] = {"x": value}
    elif place == "values":
        config["parameters"] = {"x": {"type": "discrete", "values": [1, "a", value]}}
    elif place == "type":
        config["parameters"] = {"x": {"type": value}}
    elif place == "objective":
        config["spec"] = {"objective": value}
    elif place == "bound":
        config["parameters"] = {"x": {"type": "double", "min": value, "max": 1}}
    elif place == "spec":
        config["spec"] = {"retryLimit": value}
    else:
        config["parameters"] = {value if isinstance(value, str) else "n" * 10**6:
                                {"type": "double"}}
    try:
        validate(config, source="c.config")
    except InvalidOptimizerParameters as error:
        message = str(error)
        assert len(message) < 300 and "\n" not in message and "\x1b" not in message, message
    else:
        # any string is a name, or a one-value categorical parameter
        assert isinstance(value, str) and place in ("name", "parameter")


def test_normal_tail_covers_the_space_edge():
    """The finiteness check assumes draws stay within NORMAL_TAIL sigmas; the space decides."""
    from scipy.special import ndtri

    from comet_optimize.space import _EDGE

    assert -ndtri(_EDGE) < NORMAL_TAIL


magnitudes = st.sampled_from([0.0, 1e-300, 1e-3, 1.0, 1e3, 1e15, 1e17, 1e100, 1e300, 1e308,
                              2.0**53, 2.0**62, 2.0**63])
signed = st.builds(lambda m, sign: sign * m, magnitudes, st.sampled_from([-1.0, 1.0]))


@st.composite
def extreme_numeric_parameters(draw) -> dict:
    """Any numeric definition with bounds, mu and sigma anywhere in the float range."""
    kind = draw(st.sampled_from(["integer", "double"]))
    scaling = draw(st.sampled_from(["linear", "uniform", "normal", "lognormal", "loguniform"]))
    definition = {"type": kind, "scalingType": scaling}
    for key in ("min", "max", "mu", "sigma"):
        if draw(st.booleans()):
            value = draw(signed | st.integers(-2**70, 2**70)
                         | st.sampled_from([2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**62]))
            if kind == "integer" and key in ("min", "max") and isinstance(value, float):
                value = int(value) if abs(value) < 1e300 else value
            definition[key] = value
    return definition


@settings(max_examples=150, deadline=None)
@given(definition=extreme_numeric_parameters())
def test_a_valid_parameter_only_ever_draws_finite_numbers_of_its_type(definition):
    """Issue 8, item 8: sigma 1e308 drew -inf, lognormal mu 800 drew inf, 2**64 crashed."""
    try:
        config = validate({"algorithm": "random", "parameters": {"p": definition},
                           "spec": {"seed": 1}})
    except InvalidOptimizerParameters as error:
        assert len(str(error)) < 300
        return
    space = Space.from_config(config)
    rng = np.random.default_rng(0)
    rows = space.sample_internal(rng, 64)
    # The extremes of the unit interval a draw can reach, too.
    rows = np.vstack([rows, np.full((1, 1), 1e-12), np.full((1, 1), 1 - 1e-12)])
    for row in rows:
        value = space.decode(row)["p"]
        if definition["type"] == "integer":
            assert type(value) is int and MIN_INTEGER <= value <= MAX_INTEGER, \
                (definition, value)
        else:
            assert type(value) is float and math.isfinite(value), (definition, value)


# ---------------------------------------------------------------- the command line


COMET = [sys.executable, "-m", "comet_optimize.cli"]
CLI_CASES = {
    "bomb.yaml": ALIAS_BOMB.replace("ALG", "bayes"),
    "deep.json": "[" * 5000 + "]" * 5000,
    "sum.config": "1" + "+1" * 5000,
    "grid.json": '{"algorithm": "grid", "spec": {"gridSize": 100000000}, '
                 '"parameters": {"x": {"type": "double", "min": 0, "max": 1}}}',
    "wide.json": '{"algorithm": "random", "parameters": {"x": {"type": "integer", "min": 0, '
                 '"max": 1' + "0" * 400 + '}}}',
    "sigma.yaml": "algorithm: random\nparameters:\n  x: {type: double, scalingType: normal, "
                  "mu: 0, sigma: 1.0e+308}\n",
    "dup.json": '{"algorithm": "random", "parameters": {"x": [1]}, "algorithm": "grid"}',
}


@pytest.mark.parametrize("name", sorted(CLI_CASES) + ["latin1.config", "binary.config"])
def test_comet_optimize_with_a_hostile_config_is_one_line_and_exit_2(tmp_path, name):
    path = tmp_path / name
    if name == "latin1.config":
        path.write_bytes('{"algorithm": "grid", "name": "caf\xe9"}'.encode("latin-1"))
    elif name == "binary.config":
        path.write_bytes(bytes(range(256)))
    else:
        path.write_text(CLI_CASES[name], encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text("raise SystemExit('the script must not run')\n")
    store = tmp_path / "store"
    run = subprocess.run([*COMET, "optimize", "--store", str(store), str(script), str(path)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 300 + len(str(path)), run.stderr
    assert str(path) in lines[0] and "Traceback" not in run.stderr
    assert not store.exists() or not os.listdir(store)


def test_a_config_dict_with_numpy_numbers_and_arrays_validates_like_its_file():
    raw = {"algorithm": "bayes", "parameters": {
        "layers": {"type": "integer", "min": np.int64(1), "max": np.int32(8)},
        "rate": {"type": "double", "min": np.float32(0.5), "max": np.float64(2.0)},
        "batch": {"type": "discrete", "values": np.array([16, 32, 64])},
        "act": ("relu", "tanh")}}
    config = validate(raw)
    plain = validate({"algorithm": "bayes", "parameters": {
        "layers": {"type": "integer", "min": 1, "max": 8},
        "rate": {"type": "double", "min": 0.5, "max": 2.0},
        "batch": {"type": "discrete", "values": [16, 32, 64]},
        "act": ["relu", "tanh"]}})
    assert config.to_dict() == plain.to_dict()


def test_a_config_dict_too_large_or_too_deep_is_refused_like_a_file():
    with pytest.raises(InvalidOptimizerParameters, match=r"too large \(the limit is 256 KiB"):
        validate({"algorithm": "random",
                  "parameters": {f"p{i}": [1, 2] for i in range(50_000)}})
    looped: dict = {}
    looped["again"] = looped
    with pytest.raises(InvalidOptimizerParameters, match=r"nested more than 32 levels deep"):
        validate({"algorithm": "random", "parameters": {"x": [1]}, "name": looped})
