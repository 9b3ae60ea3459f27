"""A signal handler that logs or ends while this process is writing to the store.

Signal handlers run in the main thread, between two bytecodes of whatever it
was doing: inside one of our transactions too. A preemption handler that logs
a last metric (a progress write) or ends the experiment started a second
transaction inside the first; the inner one took the events the outer one had
decided but not yet written, so an experiment's end was applied in memory and
never reached the journal (recorded later as failed: "worker died").
The signal is sent at an exact point (``sys.setprofile``), in real processes,
against both stores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from comet_optimize import Optimizer
from tests.conftest import stored_events

CONFIG = {"algorithm": "grid", "spec": {"seed": 1, "metric": "loss"},
          "parameters": {"x": [1, 2, 3, 4]}}

SCRIPT = """
import os, signal, sys
from comet_optimize import Optimizer

current = None

def preempted(signum, frame):
    current.log_metric("last_words", 1)
    if sys.argv[1] == "end":
        current.end()

signal.signal(signal.SIGUSR1, preempted)
sent = False

def at(frame, event, arg):  # the signal arrives while the next decision is being made
    global sent
    if event == "call" and frame.f_code.co_name == "_choose" and current is not None \\
            and current.count == 2 and not sent:
        sent = True
        os.kill(os.getpid(), signal.SIGUSR1)

opt = Optimizer(verbose=0)
sys.setprofile(at)
for experiment in opt.get_experiments():
    current = experiment
    experiment.log_metric("loss", experiment.params["x"] / 10)
sys.setprofile(None)
assert sent
"""


def run(optimizer_id: str, store: str, handler_does: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id,
           "COMET_OPTIMIZE_PROGRESS_SECONDS": "1e-9"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), handler_does],
                          env=env, capture_output=True, text=True, timeout=60)


def test_a_handler_that_logs_mid_decision_loses_nothing(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    done = run(opt.id, store, "log")
    assert done.returncode == 0, done.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert [(r["status"], r["score"]) for r in records] == [
        ("completed", 0.1), ("completed", 0.2), ("completed", 0.3), ("completed", 0.4)]
    assert records[1]["metrics"]["last_words"]["last"] == 1  # logged before its end: kept
    kinds = [event["type"] for event in stored_events(store, opt.id)]
    assert kinds.count("end") == 4 and kinds.count("assign") == 4
    assert "damaged" not in done.stderr


def test_a_handler_that_ends_the_experiment_mid_decision_loses_nothing(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    done = run(opt.id, store, "end")
    assert done.returncode == 0, done.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert [(r["status"], r["score"]) for r in records] == [
        ("completed", 0.1), ("completed", 0.2), ("completed", 0.3), ("completed", 0.4)]
    assert "damaged" not in done.stderr
