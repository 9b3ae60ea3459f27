"""Many worker processes sharing one search through the journal's lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from comet_optimize import Optimizer
from tests.conftest import stored_events

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "worker.py")


def run_workers(optimizer_id, store, n, *args):
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    procs = [subprocess.Popen([sys.executable, WORKER, optimizer_id, *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append([json.loads(line) for line in out.splitlines()])
    return results


def journal(store, optimizer_id):
    return stored_events(store, optimizer_id)


def test_four_processes_cover_a_3x3_space_exactly_once(store):
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 100},
                     "parameters": {"a": [1, 2, 3], "b": [10, 20, 30]}}, verbose=0, store=store)
    results = run_workers(opt.id, store, 4)
    done = [row for rows in results for row in rows]
    assert len(done) == 9
    assert len({(r["params"]["a"], r["params"]["b"]) for r in done}) == 9
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["status"] == "completed"
    assert status["completed"] == 9 and status["assigned"] == 9


def test_eight_processes_share_400_assignments_without_loss(store):
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 400},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1},
                                    "y": {"type": "integer", "min": 0, "max": 10**6}}},
                    verbose=0, store=store)
    results = run_workers(opt.id, store, 8, "--mode", "parameters")
    done = [row for rows in results for row in rows]
    assert len(done) == 400
    assert len({r["pid"] for r in done}) == 400
    assert sorted(r["count"] for r in done) == list(range(1, 401))
    events = journal(store, opt.id)
    assigns = [e for e in events if e["type"] == "assign"]
    ends = [e for e in events if e["type"] == "end"]
    assert len(assigns) == 400 and len({e["pid"] for e in assigns}) == 400
    assert len(ends) == 400 and all(e["status"] == "completed" for e in ends)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["assigned"], status["completed"], status["running"]) == (400, 400, 0)
    assert status["status"] == "completed"


def test_parallel_bayes_workers_hand_out_unique_sets(store):
    opt = Optimizer({"algorithm": "bayes", "spec": {"maxCombo": 60},
                     "parameters": {"a": {"type": "integer", "min": 1, "max": 5},
                                    "b": {"type": "integer", "min": 1, "max": 5},
                                    "c": {"type": "integer", "min": 1, "max": 5}}},
                    verbose=0, store=store)
    results = run_workers(opt.id, store, 3)
    done = [row for rows in results for row in rows]
    assert len(done) == 60
    assert len({r["pid"] for r in done}) == 60
