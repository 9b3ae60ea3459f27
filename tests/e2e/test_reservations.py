"""Reservations (random and grid searches whose experiments are short): a worker takes
several assignments in one decision and starts them one by one without deciding.

Real worker processes on both stores: the budget is spent exactly, no parameter set
is handed out twice, and reservations that a worker did not start go back to the
pool (neither failed nor retried) when it leaves its loop, exits, or is killed.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from comet_optimize import Optimizer
from comet_optimize.optimizer import RESERVE_MAX
from tests.conftest import stored_events

RANDOM = {"algorithm": "random", "spec": {"maxCombo": 120, "seed": 3},
          "parameters": {"x": {"type": "double", "min": 0.0, "max": 1.0}}}


def script(body: str, optimizer_id: str, store: str, **popen) -> subprocess.Popen:
    code = "import sys\nfrom comet_optimize import Optimizer\n" + textwrap.dedent(body)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


LOOP = """
    opt = Optimizer(verbose=0)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
    """

# Fast experiments until this worker holds reservations, then it says how many and
# waits inside an experiment (to be killed, or told to leave its loop).
HOLD = """
    opt = Optimizer(verbose=0)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
        if len(opt._reserved) >= 2:
            print("holding", experiment.count, len(opt._reserved), flush=True)
            if sys.stdin.readline().strip() == "leave":
                break
    print("left", flush=True)
    """


def check_exact(optimizer_id: str, store: str, failed: int = 0) -> dict:
    """The search ended with its budget spent exactly, each parameter set once."""
    opt = Optimizer(optimizer_id, verbose=0, store=store)
    status = opt.status()
    records = opt.experiments()
    assert status["status"] == "completed", status
    assert (status["reserved"], status["running"], status["failed"]) == (0, 0, failed)
    assert status["completed"] + status["failed"] == status["assigned"] == len(records)
    assert [r["count"] for r in records] == list(range(1, len(records) + 1))  # no gaps
    twice = [pid for pid, n in collections.Counter(
        (r["pid"], r["trial"], r["retry"]) for r in records).items() if n > 1]
    assert twice == []
    return status


def test_many_workers_spend_the_budget_exactly(store):
    opt = Optimizer(RANDOM, verbose=0, store=store)
    workers = [script(LOOP, opt.id, store) for _ in range(4)]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    status = check_exact(opt.id, store)
    assert (status["completed"], status["retryCount"]) == (120, 0)
    reserved = [e for e in stored_events(store, opt.id)
                if e.get("reserved") or e.get("type") == "reserve"]
    assert reserved, "the workers never reserved: this test no longer tests reservations"


def test_a_worker_that_leaves_its_loop_gives_its_reservations_back(store):
    opt = Optimizer(RANDOM, verbose=0, store=store)
    worker = script(HOLD, opt.id, store)
    line = worker.stdout.readline().split()
    assert line[0] == "holding", worker.stderr.read()
    held = int(line[2])
    assert 2 <= held <= RESERVE_MAX
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["reserved"], status["running"]) == (held, 1)
    out, err = worker.communicate("leave\n", timeout=60)
    assert worker.returncode == 0 and "left" in out, err
    after = Optimizer(opt.id, verbose=0, store=store).status()
    assert (after["reserved"], after["failed"], after["retryCount"]) == (0, 0, 0)
    assert after["assigned"] == status["assigned"]  # the released are not assignments
    released = [e["count"] for e in stored_events(store, opt.id) if e["type"] == "release"]
    assert len(released) == held
    # handed out again first, under their numbers, as first attempts
    resumed = Optimizer(opt.id, verbose=0, store=store)
    again = resumed.next()
    assert (again.count, again.data["retry"]) == (min(released), 0)
    again.log_metric("loss", 0.5)
    again.end()
    for experiment in resumed.get_experiments():
        experiment.log_metric("loss", 0.5)
    check_exact(opt.id, store)


@pytest.mark.parametrize("retry_assign_limit", [0, 1])
def test_a_killed_worker_holding_reservations(store, retry_assign_limit):
    """kill -9: its running experiment is failed (and retried as allowed); its
    reservations are released, not failed, and the budget is still spent exactly."""
    config = {**RANDOM, "spec": {**RANDOM["spec"], "retryAssignLimit": retry_assign_limit}}
    opt = Optimizer(config, verbose=0, store=store)
    worker = script(HOLD, opt.id, store)
    line = worker.stdout.readline().split()
    assert line[0] == "holding", worker.stderr.read()
    running, held = int(line[1]), int(line[2])
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=60)
    others = [script(LOOP, opt.id, store) for _ in range(2)]
    for other in others:
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
    status = check_exact(opt.id, store, failed=1)
    assert status["retryCount"] == retry_assign_limit
    assert status["completed"] == 120 - 1 + retry_assign_limit
    records = {r["count"]: r for r in Optimizer(opt.id, verbose=0, store=store).experiments()}
    assert records[running]["status"] == "failed"
    released = [e for e in stored_events(store, opt.id)
                if e["type"] == "release" and "died" in e["reason"]]
    assert len(released) == held
    assert all(records[e["count"]]["status"] == "completed" for e in released)


def test_a_grid_is_handed_out_whole_once_with_trials(store):
    config = {"algorithm": "grid", "trials": 2, "spec": {"maxCombo": 0, "seed": 1},
              "parameters": {"x": list(range(6)), "y": list(range(5))}}
    opt = Optimizer(config, verbose=0, store=store)
    first = script(HOLD, opt.id, store)
    assert first.stdout.readline().startswith("holding"), first.stderr.read()
    first.communicate("leave\n", timeout=60)
    workers = [script(LOOP, opt.id, store) for _ in range(3)]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    check_exact(opt.id, store)
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert collections.Counter(r["pid"] for r in records).most_common()[-1][1] == 2
    assert len(records) == 2 * 20  # maxCombo 0: 10 x the number of parameters


def test_status_is_not_complete_while_a_reservation_is_out(store):
    opt = Optimizer({**RANDOM, "spec": {"maxCombo": 12, "seed": 3}}, verbose=0, store=store)
    worker = script(HOLD, opt.id, store)
    line = worker.stdout.readline().split()
    assert line[0] == "holding", worker.stderr.read()
    # every parameter set is handed out or reserved: nothing left for another worker,
    # and the search is not complete while the holder has work to start
    other = Optimizer(opt.id, verbose=0, store=store)
    if other.status()["comboCount"] == 12:
        assert other.next() is None
    assert other.status()["status"] == "running"
    worker.communicate("go on\n", timeout=60)
    assert worker.returncode == 0
    check_exact(opt.id, store)


def test_a_worker_whose_experiments_get_slower_gives_back_what_it_cannot_start_soon(store):
    """Fast experiments earn a batch; one that takes ten times longer than a whole batch
    should (RESERVE_SECONDS) shrinks it, and the rest go back at once for others."""
    from comet_optimize.optimizer import RESERVE_SECONDS

    opt = Optimizer(RANDOM, verbose=0, store=store)
    held = None
    loop = opt.get_experiments()
    for experiment in loop:
        experiment.log_metric("loss", experiment.params["x"])
        if held is not None:
            break
        if len(opt._reserved) >= 4:
            held = len(opt._reserved)
            time.sleep(12 * RESERVE_SECONDS)  # this experiment's own (slow) work
    assert held is not None and len(opt._reserved) <= 1
    slower = [e for e in stored_events(store, opt.id)
              if e["type"] == "release" and "slower" in e["reason"]]
    assert len(slower) == held - 1
    loop.close()
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["reserved"], status["failed"], status["retryCount"]) == (0, 0, 0)
