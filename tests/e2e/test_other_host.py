"""A worker on another host: alive while its heartbeat is fresh, failed once the lease lapses.

The other host is real as far as the code can tell: the worker runs in its own UTS
namespace (``unshare -u``) under another hostname, sharing the store's folder as a
network file system would. Instead of waiting out the lease, the test ages the
heartbeat file, which is exactly what a dead worker's file looks like later.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

from comet_optimize import Optimizer
from tests.conftest import age_heartbeat, heartbeat_names

WORKER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workers", "worker.py")


def can_rename_host() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-u", "sh", "-c", "hostname otherhost"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not can_rename_host(),
                                reason="needs unshare -u (root) to fake another host")


def test_other_hosts_worker_is_failed_only_when_its_heartbeat_lease_lapses(store):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]},
                     "spec": {"retryAssignLimit": 1}}, verbose=0, store=store)
    script = f'hostname otherhost && exec "{sys.executable}" "{WORKER}" {opt.id} --hang'
    worker = subprocess.Popen(["unshare", "-u", "sh", "-c", script],
                              env={**os.environ, "COMET_OPTIMIZE_STORE": store},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = worker.stdout.readline()
    assert line.startswith("ready"), worker.stderr.read()

    running = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert running["host"] == "otherhost" and running["status"] == "running"
    beat = [n for n in heartbeat_names(store, opt.id) if n.startswith("otherhost-")]
    assert len(beat) == 1

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    for stream in (worker.stdin, worker.stdout, worker.stderr):
        stream.close()
    # Dead, but this host cannot see it: within the lease it stays running.
    assert Optimizer(opt.id, verbose=0, store=store).status()["running"] == 1

    age_heartbeat(store, opt.id, beat[0])
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["running"], status["failed"]) == (0, 1)

    resumed = Optimizer(opt.id, verbose=0, store=store)
    retried = [e.data["retry"] for e in resumed.get_experiments() if not e.log_metric("loss", 1)]
    assert sorted(retried) == [0, 1]  # the other x, and the failed one once more
    assert resumed.status()["status"] == "completed"
