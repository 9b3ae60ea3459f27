"""The docs' examples run as written (with ``from comet_optimize import Optimizer``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from comet_optimize.config import read_config_file, validate

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def run(args, store, **env):
    return subprocess.run([sys.executable, *args], cwd=EXAMPLES, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COMET_OPTIMIZE_STORE": store, **env})


def completed_search(result, store):
    match = re.search(r"COMET INFO: COMET_OPTIMIZER_ID=([0-9a-f]{32})", result.stderr)
    assert match, result.stderr
    return Optimizer(match.group(1), verbose=0, store=store).status()


def test_example_1_runs_the_bayes_search_to_the_end(store):
    result = run(["example-1.py"], store)
    assert result.returncode == 0, result.stderr
    status = completed_search(result, store)
    assert (status["status"], status["completed"]) == ("completed", 5)
    assert status["best"]["parameters"] == {"x": 3}


def test_example_2_config_loads_exactly_as_the_docs_write_it():
    config = validate(read_config_file(os.path.join(EXAMPLES, "example-2.config")))
    assert config.algorithm == "bayes"
    assert config.parameters[0].name == "x"


def test_example_2_runs_from_its_config_file_and_resumes_by_id(store):
    first = run(["example-2.py", "example-2.config"], store)
    assert first.returncode == 0, first.stderr
    status = completed_search(first, store)
    assert status["completed"] == 5
    again = run(["example-2.py", status["id"]], store)  # by id: nothing left to do
    assert again.returncode == 0, again.stderr
    assert completed_search(again, store)["assigned"] == 5


def test_example_3_takes_forwarded_arguments_and_trials(store):
    result = run(["example-3.py", "example-2.config", "--project-name", "p", "--trials", "2"],
                 store)
    assert result.returncode == 0, result.stderr
    assert "Completed 10 experiments" in result.stdout


@pytest.mark.parametrize("name", ["numpy_mlp"])
def test_realistic_example_runs(store, name):
    result = run([os.path.join(name, "train.py"), os.path.join(name, "opt.config")], store)
    assert result.returncode == 0, result.stderr
    status = completed_search(result, store)
    assert status["status"] == "completed" and status["completed"] == status["max_combo"]
    assert status["best"]["score"] < 0.5


def test_the_docs_parallel_command_runs_example_2(store):
    """`comet optimize -j 2 example-2.py example-2.config`, exactly as the docs write it."""
    result = run(["-m", "comet_optimize.cli", "optimize", "-j", "2", "example-2.py",
                  "example-2.config"], store)
    assert result.returncode == 0, result.stderr
    status = completed_search(result, store)
    assert (status["status"], status["completed"], status["assigned"]) == ("completed", 5, 5)


def test_the_mnist_sklearn_example_config_is_valid():
    raw = read_config_file(os.path.join(EXAMPLES, "mnist_sklearn", "opt.config"))
    assert validate(raw).algorithm == "bayes"
