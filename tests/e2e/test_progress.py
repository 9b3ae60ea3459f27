"""Metrics logged before a hard death are kept (progress events, `comet_optimize.progress`).

A script killed by the kernel (``kill -9``, the OOM killer) runs no exit
handler. Its experiment was recorded ``failed`` with no metrics at all, so
hours of training left nothing to look at. Real scripts in real processes,
killed for real, against both stores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from comet_optimize import Optimizer
from tests.conftest import stored_events

CONFIG = {"algorithm": "grid", "spec": {"retryAssignLimit": 1, "seed": 1, "metric": "loss"},
          "parameters": {"x": [1, 2, 3]}}


def run_script(body: str, optimizer_id: str, store: str, interval: str
               ) -> subprocess.CompletedProcess:
    script = "from comet_optimize import Optimizer\nimport os, sys\n" + textwrap.dedent(body)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id,
           "COMET_OPTIMIZE_PROGRESS_SECONDS": interval}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)


KILLED_AFTER_THREE_EPOCHS = """
    opt = Optimizer(verbose=0)
    experiment = opt.next()
    for epoch in range(3):
        experiment.log_metric("loss", 1.0 / (epoch + 1), epoch=epoch)
        experiment.log_metric("accuracy", 0.5 + epoch / 10, epoch=epoch)
    os.kill(os.getpid(), 9)
    """


def test_a_killed_script_keeps_the_metrics_it_logged(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script(KILLED_AFTER_THREE_EPOCHS, opt.id, store, interval="1e-9")
    assert run.returncode == -signal.SIGKILL, run.stderr

    search = Optimizer(opt.id, verbose=0, store=store)
    search.refresh()  # another worker notices the death and records it
    record = search.experiments()[0]
    assert record["status"] == "failed" and record["score"] is None
    assert "died" in record["reason"]
    assert record["metrics"]["loss"] == {"count": 3, "last": 1 / 3, "epoch": 2}
    assert record["metrics"]["accuracy"]["last"] == pytest.approx(0.7)
    assert search.status()["best"] is None  # a progress report is never a result

    retried = search.next()  # re-assigned as retryAssignLimit allows, with a fresh record
    assert (retried.data["pid"], retried.data["retry"]) == (record["pid"], 1)
    assert search.experiments()[1]["metrics"] == {}
    retried.log_metric("loss", 0.25)
    retried.end()


def test_a_running_experiment_shows_its_metrics_so_far_to_other_processes(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    os.environ["COMET_OPTIMIZE_PROGRESS_SECONDS"] = "1e-9"
    try:
        experiment = opt.next()
        experiment.log_metric("loss", 0.75, step=10)
        seen = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
        assert (seen["status"], seen["metrics"]) == (
            "running", {"loss": {"count": 1, "last": 0.75, "step": 10}})
        status = subprocess.run(  # and `status` says how it is going
            [sys.executable, "-m", "comet_optimize.cli", "optimize", "status", opt.id,
             "--store", store], capture_output=True, text=True, timeout=60)
        assert "#1 loss 0.75 (step 10)" in status.stdout, status.stdout + status.stderr
        experiment.log_metric("loss", 0.5, step=20)
        experiment.end()
    finally:
        del os.environ["COMET_OPTIMIZE_PROGRESS_SECONDS"]
    record = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert (record["status"], record["score"], record["metrics"]["loss"]["count"]) == (
        "completed", 0.5, 2)


def test_short_experiments_write_no_progress_at_all(store):
    """The default interval: an experiment that ends within it pays nothing."""
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script("""
        for experiment in Optimizer(verbose=0).get_experiments():
            for epoch in range(50):
                experiment.log_metric("loss", experiment.params["x"] / (epoch + 1))
        """, opt.id, store, interval="")
    assert run.returncode == 0, run.stderr
    kinds = [event["type"] for event in stored_events(store, opt.id)]
    assert "progress" not in kinds and kinds.count("end") == 3


def test_progress_turned_off_writes_none_and_the_end_still_records_everything(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script(KILLED_AFTER_THREE_EPOCHS, opt.id, store, interval="0")
    assert run.returncode == -signal.SIGKILL
    assert "progress" not in [event["type"] for event in stored_events(store, opt.id)]


def test_a_bad_interval_is_one_warning_and_the_default(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script("""
        experiment = Optimizer(verbose=0).next()
        experiment.log_metric("loss", 0.5)
        experiment.log_metric("loss", 0.25)
        """, opt.id, store, interval="soon")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("COMET_OPTIMIZE_PROGRESS_SECONDS='soon' is not a number") == 1
    assert "Traceback" not in run.stderr


def test_an_experiment_killed_in_its_first_seconds_keeps_its_metrics(store):
    """The first progress write comes a second in, not an interval in: a script that dies
    a few seconds into an experiment (a bad batch, an OOM at the first epoch) keeps them."""
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script("""
        import time
        experiment = Optimizer(verbose=0).next()
        experiment.log_metric("loss", 0.9, epoch=0)
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # the first epoch's work
            pass
        experiment.log_metric("loss", 0.8, epoch=1)
        os.kill(os.getpid(), 9)
        """, opt.id, store, interval="")
    assert run.returncode == -signal.SIGKILL, run.stderr
    search = Optimizer(opt.id, verbose=0, store=store)
    search.refresh()
    record = search.experiments()[0]
    assert record["status"] == "failed"
    assert record["metrics"]["loss"] == {"count": 2, "last": 0.8, "epoch": 1}


def test_a_log_never_waits_for_another_thread_to_write_progress(file_store, monkeypatch):
    """Progress is only a copy: a log call while another thread holds the optimizer (a
    long bayes decision) returns at once rather than wait for the lock. A signal
    handler that logged and waited there was run again by the next signal, nested,
    until the recursion limit (a 20 ms timer, four threads running bayes)."""
    monkeypatch.setenv("COMET_OPTIMIZE_PROGRESS_SECONDS", "1e-9")
    opt = Optimizer(CONFIG, verbose=0, store=file_store)
    experiment = opt.next()
    holding, release = threading.Event(), threading.Event()

    def decision_of_another_thread():
        with opt._lock:
            holding.set()
            release.wait(60)

    other = threading.Thread(target=decision_of_another_thread)
    other.start()
    assert holding.wait(60)
    logger = threading.Thread(target=experiment.log_metric, args=("loss", 0.5))
    logger.start()
    logger.join(10)
    waited = logger.is_alive()
    release.set()
    other.join()
    logger.join()
    assert not waited
    experiment.end()
    record = Optimizer(opt.id, verbose=0, store=file_store).experiments()[0]
    assert (record["status"], record["score"]) == ("completed", 0.5)
