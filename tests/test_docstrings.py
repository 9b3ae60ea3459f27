"""The runnable examples in the public classes' docstrings run and say what they show."""

from __future__ import annotations

import doctest

import pytest

import comet_optimize.experiment
import comet_optimize.optimizer
import comet_optimize.space


@pytest.mark.parametrize("module", [comet_optimize.optimizer, comet_optimize.experiment,
                                    comet_optimize.space])
def test_docstring_examples_run(module, store):
    result = doctest.testmod(module, extraglobs={"tmp_store": store}, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
