"""Workers that die or stop: nothing is lost, nothing is stuck running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "worker.py")
CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}


def start_worker(optimizer_id, store, *args):
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    return subprocess.Popen([sys.executable, WORKER, optimizer_id, *args], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_mid_experiment(optimizer_id, store):
    """A worker takes an experiment, says so, and is killed with SIGKILL."""
    worker = start_worker(optimizer_id, store, "--hang")
    line = worker.stdout.readline()
    assert line.startswith("ready"), worker.stderr.read()
    count = int(line.split()[1])
    status = Optimizer(optimizer_id, verbose=0, store=store).status()
    assert status["running"] == 1  # alive and holding its assignment
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    worker.stdin.close()
    worker.stdout.close()
    worker.stderr.close()
    return count


@pytest.mark.parametrize("retry_assign_limit", [0, 1])
def test_killed_worker_is_failed_and_reassigned_only_as_allowed(store, retry_assign_limit):
    config = {**CONFIG, "spec": {"retryAssignLimit": retry_assign_limit}}
    opt = Optimizer(config, verbose=0, store=store)
    count = kill_mid_experiment(opt.id, store)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["failed"], status["running"]) == (1, 0)
    killed = next(a for a in Optimizer(opt.id, verbose=0, store=store).experiments()
                  if a["count"] == count)
    assert killed["status"] == "failed" and "died" in killed["reason"]

    resumed = Optimizer(opt.id, verbose=0, store=store)
    handed_out = []
    for experiment in resumed.get_experiments():
        handed_out.append((experiment.data["pid"], experiment.data["retry"]))
        experiment.log_metric("loss", experiment.params["x"])
    retries = [pid for pid, retry in handed_out if retry > 0]
    assert len(retries) == retry_assign_limit
    assert len(handed_out) == 2 + retry_assign_limit
    final = resumed.status()
    assert final["status"] == "completed"
    assert final["completed"] == 2 + retry_assign_limit and final["failed"] == 1


def test_second_kill_of_the_same_set_is_not_retried_past_the_limit(store):
    opt = Optimizer({**CONFIG, "parameters": {"x": [1]}, "spec": {"retryAssignLimit": 1}},
                    verbose=0, store=store)
    kill_mid_experiment(opt.id, store)
    kill_mid_experiment(opt.id, store)  # the one re-assignment, killed too
    resumed = Optimizer(opt.id, verbose=0, store=store)
    assert resumed.next() is None
    status = resumed.status()
    assert (status["failed"], status["assigned"], status["status"]) == (2, 2, "completed")


def test_resume_after_interruption_continues_from_the_sixth(store):
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 10},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1}}},
                    verbose=0, store=store)
    first = start_worker(opt.id, store, "--stop-after", "5")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert [json.loads(line)["count"] for line in out.splitlines()] == [1, 2, 3, 4, 5]
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["completed"], status["running"], status["status"]) == (5, 0, "running")

    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": opt.id}
    second = subprocess.run([sys.executable, WORKER, "ignored.config"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    rows = [json.loads(line) for line in second.stdout.splitlines()]
    assert [r["count"] for r in rows] == [6, 7, 8, 9, 10]
    final = Optimizer(opt.id, verbose=0, store=store).status()
    assert (final["completed"], final["status"]) == (10, "completed")
