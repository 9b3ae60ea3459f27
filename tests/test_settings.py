"""Durations from the environment: a typo is one warning and the default, never a crash."""

from __future__ import annotations

import math

import pytest

from comet_optimize import liveness, progress
from comet_optimize.store import journal, postgres


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


STORE_DURATIONS = {
    "COMET_OPTIMIZE_DISK_WAIT": (journal._disk_wait_seconds, journal.DISK_FULL_WAIT_SECONDS),
    "COMET_OPTIMIZE_LOCK_WARNING": (journal._lock_warning_seconds,
                                    journal.LOCK_WAIT_WARNING_SECONDS),
    "COMET_OPTIMIZE_PG_RETRY": (postgres._retry_seconds, postgres.RETRY_SECONDS),
    "COMET_OPTIMIZE_PG_HOLD": (postgres.hold_seconds, postgres.HOLD_SECONDS),
}


@pytest.mark.parametrize("name", STORE_DURATIONS)
@pytest.mark.parametrize("text", ["soon", "nan", "inf", "-3"])
def test_a_bad_store_wait_is_one_warning_and_the_default(monkeypatch, capsys, name, text):
    """A NaN outage wait retried for ever, a negative one gave up at once, silently."""
    read, default = STORE_DURATIONS[name]
    monkeypatch.setenv(name, text)
    assert read() == default
    assert read() == default
    assert capsys.readouterr().err.count(f"{name}={text!r} is not") == 1


@pytest.mark.parametrize("name", STORE_DURATIONS)
def test_a_good_store_wait_is_taken(monkeypatch, name):
    read, _ = STORE_DURATIONS[name]
    monkeypatch.setenv(name, "7.5")
    assert read() == 7.5
