"""A worker's first decisions do no start-up work inside the search's lock.

Every worker that joins a search makes its first decision while the others queue
for the same lock, so whatever that decision loads on first use is waited out by
all of them: numpy loads ``numpy.random`` on first use (10-50 ms), the first
Experiment imports the auto-logging module, and bayes's one-thread BLAS limit
looks through the process's libraries whenever modules were imported since its
last look. A deciding Optimizer does all of that when it is made
(`optimizer._prepare_to_decide`).

A fresh interpreter attaches to a search, then an audit hook records every
import, and every open of ``/proc/self/maps``, made while a decision is under
way (a frame of `Optimizer._transaction` on the stack).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

WORKER = """
import json, sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[2], verbose=0, store=sys.argv[1])
inside = []

def during_a_decision():
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "_transaction" and code.co_filename.endswith("optimizer.py"):
            return True
        frame = frame.f_back
    return False

def hook(event, args):
    if event == "import" and during_a_decision():
        inside.append(args[0])
    elif event == "open" and str(args[0]) == "/proc/self/maps" and during_a_decision():
        inside.append("read /proc/self/maps")

sys.addaudithook(hook)
for experiment, _ in zip(opt.get_experiments(), range(3)):
    experiment.log_metric("loss", 1.0)
experiment = opt.next()
experiment.end()
print(json.dumps(inside))
"""


@pytest.mark.parametrize("algorithm", ["random", "bayes", "grid"])
def test_the_first_decisions_of_a_process_load_nothing_inside_the_lock(store, algorithm):
    config = {"algorithm": algorithm, "spec": {"maxCombo": 20},
              "parameters": {"x": {"type": "double", "min": 0, "max": 1, "gridSize": 5},
                             "n": {"type": "integer", "min": 1, "max": 4}}}
    search = Optimizer(config, verbose=0, store=store).id
    done = subprocess.run([sys.executable, "-c", WORKER, store, search], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_connection_prepares_its_statements_before_it_asks_for_the_lock(monkeypatch,
                                                                          tmp_path):
    """libpq's own trace of the journal's connection: no statement is prepared (Parse)
    between the lock's statement and the COMMIT that releases it."""
    from conftest import fresh_postgres_store
    from psycopg import pq

    store = fresh_postgres_store(monkeypatch)
    search = Optimizer({"algorithm": "random", "spec": {"maxCombo": 5},
                        "parameters": {"x": {"type": "double", "min": 0, "max": 1}}},
                       verbose=0, store=store).id
    worker = Optimizer(search, verbose=0, store=store)
    trace = tmp_path / "trace"
    with open(trace, "w") as handle:
        connection = worker._journal._db.get()
        connection.pgconn.trace(handle.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            worker.next().end()
        finally:
            connection.pgconn.untrace()
    sent = [line.split("\t") for line in trace.read_text().splitlines() if line.startswith("F")]
    sent = [(fields[2].strip(), fields[3]) for fields in sent if len(fields) > 3]
    locks = [i for i, (kind, text) in enumerate(sent)
             if kind == "Bind" and '"comet_optimize_lock"' in text]
    commits = [i for i, (kind, text) in enumerate(sent)
               if kind == "Bind" and '"comet_optimize_commit"' in text]
    assert locks and len(locks) == len(commits)
    for lock, commit in zip(locks, commits):
        assert [text for kind, text in sent[lock:commit] if kind == "Parse"] == []
