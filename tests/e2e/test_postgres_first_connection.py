"""A worker whose first connection to a store that was reached fails waits it out.

A process's very first connection to a PostgreSQL store must succeed: a wrong
password or a server that is down is said at once. But a worker of a running
search that the server drops just as it starts (a restart, a failover) is not
facing a wrong URL: its own process had just read the config (the journal's
connection came second), or the launcher that started it had reached the
store. Such a worker died with "cannot connect to the store" (both workers of
a ``-j 2`` run, in a drill that froze the server for 40 s as they started).

Between the worker and the server runs a relay of the test's own (`tests.pg_relay`),
which lets the first connection through and turns the next ones away until the test,
having read the worker's "retrying" line, lets them through.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from comet_optimize.cli.launcher import Plan
from tests.pg_relay import Relay

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

WORKER = """
from comet_optimize import Optimizer
for experiment in Optimizer().get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
print("finished", flush=True)
"""
CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2, 3]}, "spec": {"metric": "loss"}}


def run_worker(url: str, optimizer_id: str, gate: Relay, extra_env: dict[str, str]
               ) -> tuple[int, str, str]:
    """Run WORKER; open the gate when it says it is retrying; (rc, stdout, stderr)."""
    env = {**os.environ, "COMET_OPTIMIZE_STORE": url, "COMET_OPTIMIZER_ID": optimizer_id,
           **extra_env}
    worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    for line in worker.stderr:
        seen.append(line)
        if "retrying for up to" in line:
            gate.open()
            break
    rest_out, rest_err = worker.communicate(timeout=120)
    return worker.returncode, rest_out, "".join(seen) + rest_err


@pytest.fixture
def gate():
    gates: list[Relay] = []

    def make(allowed: int) -> Relay:
        gates.append(Relay(allowed))
        return gates[-1]

    yield make
    for one in gates:
        one.close()


def test_the_second_connection_of_a_process_waits_out_a_server_gone(postgres_store, gate):
    opt = Optimizer(CONFIG, store=postgres_store, verbose=0)
    door = gate(allowed=1)  # the store's connection (the config); not the journal's
    rc, out, err = run_worker(door.url(postgres_store), opt.id, door, {})
    assert rc == 0, err
    assert "finished" in out and door.refused >= 1
    assert "lost the connection to the store" in err and "Traceback" not in err
    status = Optimizer(opt.id, store=postgres_store, verbose=0).status()
    assert (status["completed"], status["status"]) == (3, "completed")


def test_a_worker_the_launcher_started_waits_out_a_server_gone(postgres_store, gate):
    opt = Optimizer(CONFIG, store=postgres_store, verbose=0)
    plan = Plan(script="train.py", optimizer=opt.id, optimizer_id=opt.id,
                store=postgres_store, jobs=2, executable=sys.executable)
    told = {"COMET_OPTIMIZE_STORE_REACHED": plan.environment(0, base={})[
        "COMET_OPTIMIZE_STORE_REACHED"]}
    door = gate(allowed=0)  # not even the worker's first connection
    rc, out, err = run_worker(door.url(postgres_store), opt.id, door, told)
    assert rc == 0, err
    assert "finished" in out and door.refused >= 1
    status = Optimizer(opt.id, store=postgres_store, verbose=0).status()
    assert status["completed"] == 3


def test_a_first_connection_that_fails_is_still_an_error_at_once(postgres_store, gate):
    """A script run by hand against a store it never reached: one sentence, no wait."""
    opt = Optimizer(CONFIG, store=postgres_store, verbose=0)
    door = gate(allowed=0)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": door.url(postgres_store),
           "COMET_OPTIMIZER_ID": opt.id, "COMET_OPTIMIZE_PG_RETRY": "600"}
    env.pop("COMET_OPTIMIZE_STORE_REACHED", None)
    worker = subprocess.run([sys.executable, "-c", WORKER], env=env, text=True,
                            capture_output=True, timeout=120)
    assert worker.returncode != 0
    assert "cannot connect to the store" in worker.stderr
    assert "retrying" not in worker.stderr
