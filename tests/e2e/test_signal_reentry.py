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

import pytest

from comet_optimize import Optimizer
from comet_optimize.events import assigned_keys
from tests.conftest import stored_events

CONFIG = {"algorithm": "grid", "spec": {"seed": 1, "metric": "loss"},
          "parameters": {"x": [1, 2, 3, 4]}}
# grid hands out reservations (the end is written with the next start, no decision);
# bayes decides each time: the signal lands in each kind of write.
ALGORITHMS = ["grid", "bayes"]

SCRIPT = """
import os, signal, sys
from comet_optimize import Optimizer

current = None
armed = sent = False

def preempted(signum, frame):
    current.log_metric("last_words", 1)
    if sys.argv[1] == "end":
        current.end()

signal.signal(signal.SIGUSR1, preempted)

def at(frame, event, arg):
    # The signal arrives in the write that ends #2: "decided", once its end event is made
    # and not yet written; "written", once the store has the events and before this
    # process has folded them in (a file's append; PostgreSQL's pipeline).
    global sent
    if not armed or sent or event != "return":
        return
    name, where = frame.f_code.co_name, frame.f_code.co_filename
    if (sys.argv[2] == "decided" and name == "_result_event") or (
            sys.argv[2] == "written" and name in ("append", "run")
            and os.sep + "store" + os.sep in where):
        sent = True
        os.kill(os.getpid(), signal.SIGUSR1)

opt = Optimizer(verbose=0)
sys.setprofile(at)
for experiment in opt.get_experiments():
    current = experiment
    experiment.log_metric("loss", experiment.params["x"] / 10)
    armed = experiment.count == 2
sys.setprofile(None)
assert sent
"""


def run(optimizer_id: str, store: str, handler_does: str, when: str
        ) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id,
           "COMET_OPTIMIZE_PROGRESS_SECONDS": "1e-9"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), handler_does, when],
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("when", ["decided", "written"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_handler_that_logs_mid_write_loses_nothing(store, algorithm, when):
    opt = Optimizer({**CONFIG, "algorithm": algorithm}, verbose=0, store=store)
    done = run(opt.id, store, "log", when)
    assert done.returncode == 0, done.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert sorted((r["status"], r["score"]) for r in records) == [
        ("completed", 0.1), ("completed", 0.2), ("completed", 0.3), ("completed", 0.4)]
    assert records[1]["metrics"]["last_words"]["last"] == 1  # logged as it ended: kept
    events = stored_events(store, opt.id)
    kinds = [event["type"] for event in events]
    assert kinds.count("end") == 4 and sum(len(assigned_keys(e)) for e in events) == 4
    assert "damaged" not in done.stderr


@pytest.mark.parametrize("when", ["decided", "written"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_handler_that_ends_the_experiment_mid_write_loses_nothing(store, algorithm, when):
    opt = Optimizer({**CONFIG, "algorithm": algorithm}, verbose=0, store=store)
    done = run(opt.id, store, "end", when)
    assert done.returncode == 0, done.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert sorted((r["status"], r["score"]) for r in records) == [
        ("completed", 0.1), ("completed", 0.2), ("completed", 0.3), ("completed", 0.4)]
    assert "damaged" not in done.stderr


# The main thread waits for the optimizer while another thread holds it and sends
# SIGUSR1 `count` times, each once the handler before has run, as a fast timer would.
# A signal that lands just before a thread starts to wait for a lock is handled only
# once that wait ends (CPython): one left unanswered is sent again.
WHILE_ANOTHER_THREAD_HOLDS = """
import signal, sys, threading
from comet_optimize import Optimizer

def signals_while_another_thread_holds(opt, entered, count, wait):
    holding, waiting = threading.Event(), threading.Event()

    def decision_of_another_thread():
        with opt._lock:
            holding.set()
            assert waiting.wait(30)
            for _ in range(count):
                entered.clear()
                while not entered.is_set():
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
                    entered.wait(0.05)

    other = threading.Thread(target=decision_of_another_thread)
    other.start()
    assert holding.wait(30)
    waiting.set()
    wait()  # waits for the other thread's lock
    other.join()
"""

STORM = WHILE_ANOTHER_THREAD_HOLDS + """
opt = Optimizer(sys.argv[1], verbose=0)
experiment = opt.next()
experiment.log_metric("loss", 0.5)
experiment.end()
ticks = 0
entered = threading.Event()

def tick(signum, frame):
    global ticks
    ticks += 1
    entered.set()
    experiment.log_metric("ticks", ticks)  # after the end: an update, written at once

signal.signal(signal.SIGUSR1, tick)
signals_while_another_thread_holds(opt, entered, 400, lambda: experiment.log_metric("ticks", 0))
print("ticks", ticks, file=open(sys.argv[2], "w"))
"""


def test_a_handler_that_logs_while_its_thread_waits_for_the_optimizer_does_not_nest(
        store, tmp_path):
    """The main thread waits for the optimizer (another thread decides) and a signal
    handler logs to an ended experiment: the handler waited for the lock too, so the
    next signal ran it again inside the wait, nested, until the recursion limit. It
    now leaves the write to the wait it interrupted, which makes it on getting the lock."""
    opt = Optimizer(CONFIG, verbose=0, store=store)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    told = tmp_path / "ticks"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(STORM), opt.id, str(told)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    ticks = int(told.read_text().split()[1])
    assert ticks >= 400
    record = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert (record["status"], record["score"]) == ("completed", 0.5)
    assert record["metrics"]["ticks"]["last"] == ticks


STATUS_WAIT = WHILE_ANOTHER_THREAD_HOLDS + """
opt = Optimizer(sys.argv[1], verbose=0)
experiment = opt.next()
experiment.log_metric("loss", 1.0)
experiment.end()
entered = threading.Event()

def handler(signum, frame):
    entered.set()
    experiment.log_metric("loss", 0.25)  # after the end: an update, written at once

signal.signal(signal.SIGUSR1, handler)
# status() waits for the other thread: a wait that writes nothing of its own
signals_while_another_thread_holds(opt, entered, 1, opt.status)
reader = Optimizer(opt.id, verbose=0, readonly=True)
print(reader.experiments()[0]["metrics"]["loss"]["last"], file=open(sys.argv[2], "w"))
"""


def test_a_handler_s_write_left_to_a_wait_that_writes_nothing_is_still_written(
        store, tmp_path):
    """A handler that interrupts a wait for the optimizer leaves its write for later; when
    the wait was one that writes nothing (status(), a fork, the fold before a decision)
    the write stayed in memory: other processes never saw it, and an exit lost it."""
    opt = Optimizer(CONFIG, verbose=0, store=store)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store}
    told = tmp_path / "seen"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(STATUS_WAIT), opt.id,
                           str(told)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert told.read_text().strip() == "0.25"  # seen by another reader before the exit
    record = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert record["metrics"]["loss"]["last"] == 0.25
