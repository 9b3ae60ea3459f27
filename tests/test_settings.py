"""Durations from the environment: a typo is one warning and the default, never a crash."""

from __future__ import annotations

import math

import pytest

from comet_optimize import liveness, progress


@pytest.mark.parametrize("text", ["soon", "nan", "inf", "-3", "0"])
def test_a_bad_lease_is_one_warning_and_the_default(monkeypatch, capsys, text):
    monkeypatch.setenv("COMET_OPTIMIZE_LEASE", text)
    assert liveness.lease_seconds() == liveness.LEASE_SECONDS
    assert liveness.lease_seconds() == liveness.LEASE_SECONDS
    assert capsys.readouterr().err.count(f"COMET_OPTIMIZE_LEASE={text!r} is not") == 1


@pytest.mark.parametrize("text", ["soon", "nan", "inf", "-3"])
def test_a_bad_progress_interval_is_one_warning_and_the_default(monkeypatch, capsys, text):
    monkeypatch.setenv("COMET_OPTIMIZE_PROGRESS_SECONDS", text)
    assert progress.progress_seconds() == progress.PROGRESS_SECONDS
    assert progress.progress_seconds() == progress.PROGRESS_SECONDS
    assert capsys.readouterr().err.count(
        f"COMET_OPTIMIZE_PROGRESS_SECONDS={text!r} is not") == 1


def test_good_values_are_taken(monkeypatch):
    monkeypatch.setenv("COMET_OPTIMIZE_LEASE", "30")
    monkeypatch.setenv("COMET_OPTIMIZE_PROGRESS_SECONDS", "2.5")
    assert (liveness.lease_seconds(), progress.progress_seconds()) == (30.0, 2.5)
    monkeypatch.setenv("COMET_OPTIMIZE_PROGRESS_SECONDS", "0")  # never
    assert progress.progress_seconds() == math.inf
