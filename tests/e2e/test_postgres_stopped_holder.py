"""A worker stopped (SIGSTOP, not dead) while it holds a PostgreSQL search's lock.

Its connection stays up, so keepalives never end its session. The others must
not wait for ever without a word: after ``COMET_OPTIMIZE_LOCK_WARNING``
seconds a waiting worker says who holds the lock (process and host), and once
the holder's session has been idle in its transaction for
``COMET_OPTIMIZE_PG_HOLD`` seconds it ends that session, which releases the
lock. When the stopped worker resumes, the result it was writing is recorded
once, not lost.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from tests.conftest import stored_events

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

# Ends its first experiment inside the next decision, and stops itself in the middle
# of that decision (inside the search's lock) the first time only.
HOLDER = """
import os, signal, sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
suggest, calls = opt.algorithm.suggest_with_id, []  # what the optimizer calls for a choice

def stop_once(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        print("stopping", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
    return suggest(*args, **kwargs)

opt.algorithm.suggest_with_id = stop_once
experiments = opt.get_experiments()
first = next(experiments)
first.log_metric("loss", 1.5)
second = next(experiments)  # records the first one's end: stops while deciding
second.log_metric("loss", 2.5)
second.end()
print("done", first.count, second.count, flush=True)
"""

OTHER = """
import sys
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
experiment = opt.next()
experiment.log_metric("loss", 3.5)
experiment.end()
print("other", experiment.count, flush=True)
"""


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def test_a_stopped_lock_holder_is_named_bounded_and_its_result_kept_once(postgres_store):
    store = postgres_store
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 10},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1}}},
                    verbose=0, store=store)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZE_LOCK_WARNING": "1",
           "COMET_OPTIMIZE_PG_HOLD": "3"}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, opt.id], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == "stopping\n"
        while process_state(holder.pid) != "T":  # stopped, holding the search's lock
            os.sched_yield()
        other = subprocess.run([sys.executable, "-c", OTHER, opt.id], env=env, text=True,
                               capture_output=True, timeout=60)
        assert other.returncode == 0, other.stderr
        holder_name = f"process {holder.pid} on {socket.gethostname()}"
        waited = [line for line in other.stderr.splitlines() if "s for the lock" in line]
        assert len(waited) == 1, other.stderr
        assert holder_name in waited[0] and "idle in its transaction" in waited[0]
        ended = [line for line in other.stderr.splitlines() if "ended the session" in line]
        assert len(ended) == 1 and holder_name in ended[0], other.stderr
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert out.startswith("done 1 "), out
    assert err.count("lost the connection to the store") == 1, err

    events = stored_events(store, opt.id)
    # started: assigned at once, or reserved then started (see Optimizer.get_experiments)
    assigned = [e["count"] for e in events if e["type"] == "assign" and not e.get("reserved")]
    assigned += [e["count"] for e in events if e["type"] == "start"]
    assert len(assigned) == len(set(assigned)) == 3
    ends = [e for e in events if e["type"] == "end"]
    assert sorted(e["count"] for e in ends) == [1, 2, 3]  # each result once, none lost
    first = next(e for e in ends if e["count"] == 1)
    assert first["status"] == "completed" and first["score"] == 1.5
    assert Optimizer(opt.id, verbose=0, store=store).status()["completed"] == 3
