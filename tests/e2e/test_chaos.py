"""Chaos: eight workers (plain, threaded, forking) on one bayes search, hit at random.

A driver sends SIGKILL, SIGTERM, SIGSTOP + SIGCONT and SIGUSR1 (an exception
raised wherever the worker is, inside the library too) to random workers for
a few seconds, replacing killed ones, then lets the search finish. The
journal must then say exactly what happened: numbers unique and contiguous,
every normal end recorded with exactly its score, nothing left running, no
parameter set handed out twice outside trials and retries, no damage.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time

from comet_optimize import Optimizer
from tests.conftest import stored_events

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "chaos_worker.py")
CONFIG = {"algorithm": "bayes", "spec": {"maxCombo": 120, "retryAssignLimit": 1, "seed": 7},
          "parameters": {"x": {"type": "double", "min": -1, "max": 1},
                         "y": {"type": "double", "min": -1, "max": 1},
                         "k": {"type": "integer", "min": 0, "max": 3}}}
MODES = ["plain", "plain", "plain", "threads", "threads", "threads", "fork", "fork"]
CHAOS_SECONDS = 6.0
DEADLINE_SECONDS = 150.0  # generous: a loaded CI machine; a quiet run takes ~25 s


def test_chaos_leaves_an_exact_journal(file_store, tmp_path):
    groups: list[int] = []
    try:
        run_chaos(file_store, tmp_path, groups)
    finally:
        for group in groups:  # orphans of killed forking workers included
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)


def run_chaos(store: str, tmp_path, groups: list[int]) -> None:
    opt = Optimizer(CONFIG, verbose=0, store=store)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    rng = random.Random(1)
    results = []
    spawned = 0

    def spawn(mode: str) -> subprocess.Popen:
        nonlocal spawned
        spawned += 1
        path = tmp_path / f"results-{spawned}.txt"
        results.append(path)
        worker = subprocess.Popen(
            [sys.executable, WORKER, opt.id, mode, str(path), str(spawned)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        groups.append(worker.pid)
        return worker

    workers = [spawn(mode) for mode in MODES]
    start = time.monotonic()
    stopped: list[subprocess.Popen] = []
    hits = {"SIGKILL": 0, "SIGTERM": 0, "SIGSTOP": 0, "SIGUSR1": 0}
    while time.monotonic() - start < CHAOS_SECONDS:
        time.sleep(0.15)  # the pace of the chaos, not a synchronisation
        for worker in stopped:
            os.kill(worker.pid, signal.SIGCONT)
        stopped = []
        index = rng.randrange(len(workers))
        worker = workers[index]
        if worker.poll() is not None:
            continue
        action = rng.choice(list(hits))
        hits[action] += 1
        os.kill(worker.pid, getattr(signal, action))
        if action in ("SIGKILL", "SIGTERM"):
            worker.wait()
            workers[index] = spawn(MODES[index])
        elif action == "SIGSTOP":
            stopped.append(worker)
    for worker in stopped:
        os.kill(worker.pid, signal.SIGCONT)
    for worker in workers:
        worker.wait(timeout=DEADLINE_SECONDS)
    # Orphans of killed forking workers may still be finishing their last experiment.
    deadline = time.monotonic() + DEADLINE_SECONDS
    final = Optimizer(opt.id, verbose=0, store=store)
    while True:
        final.refresh()  # records the workers that died as failed
        status = final.status()
        if status["running"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)

    assert all(hits.values()), hits
    events = stored_events(store, opt.id)
    assigns = [e for e in events if e["type"] == "assign"]
    counts = [e["count"] for e in assigns]
    assert sorted(counts) == list(range(1, len(counts) + 1))
    outcome = {}
    for event in events:
        if event["type"] == "end":
            assert event["count"] not in outcome
            outcome[event["count"]] = event
        elif event["type"] == "update":
            outcome[event["count"]] = event
    assert set(outcome) == set(counts), "an experiment was never ended"
    reported = {}
    for result in results:
        if result.exists():
            for line in result.read_text().splitlines():
                count, score = line.split()
                reported[int(count)] = float(score)
    assert len(reported) > 20
    for count, score in reported.items():
        assert outcome[count]["status"] == "completed", outcome[count]
        assert outcome[count]["score"] == score
    first_tries = [(e["pid"], e["trial"]) for e in assigns if e["retry"] == 0]
    assert len(first_tries) == len(set(first_tries))
    assert all(len([a for a in assigns if (a["pid"], a["trial"]) == key]) <= 2
               for key in set(first_tries))
    assert status["running"] == 0 and status["status"] == "completed"
    assert not status["damage"]
