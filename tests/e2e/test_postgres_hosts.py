"""One search, three hosts, one PostgreSQL server; one host dies entirely.

Each simulated host is a UTS and PID namespace (``unshare``) with its own
host name, running ``comet optimize -j 2`` on the same search through the
loopback server. Killing a host's PID namespace init takes every process of
that host with it, as a power cut would. Its running experiments can only be
judged by their heartbeat leases on the server's clock: they must be failed
when the lease lapses and re-assigned to the surviving hosts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from comet_optimize import Optimizer

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

LEASE = 3.0
COMBOS = 90
WORKER = """
import sys, time
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    time.sleep(0.25)  # the work
    experiment.log_metric("loss", experiment.params["x"] ** 2)
"""


def can_unshare() -> bool:
    probe = subprocess.run(["unshare", "--uts", "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not can_unshare(),
                                reason="needs unshare --uts --pid (root) to simulate hosts")


def start_host(name: str, script: str, optimizer_id: str, store: str) -> subprocess.Popen:
    command = (f'hostname {name} && exec "{sys.executable}" -m comet_optimize.cli optimize '
               f'-j 2 "{script}" {optimizer_id} --store "{store}"')
    return subprocess.Popen(["unshare", "--uts", "--pid", "--fork", "--mount-proc",
                             "sh", "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COMET_OPTIMIZE_LEASE": str(LEASE)})


def namespace_init(host: subprocess.Popen) -> int:
    """The host's PID 1 (unshare's child): killing it kills the whole namespace."""
    with open(f"/proc/{host.pid}/task/{host.pid}/children") as handle:
        children = handle.read().split()
    assert len(children) == 1, children
    return int(children[0])


def count_events(url: str, optimizer_id: str, *fragments: str) -> int:
    """Events of the search whose JSON contains every fragment."""
    import psycopg

    where = "".join(" AND strpos(body, %s) > 0" for _ in fragments)
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(f"SELECT count(*) FROM comet_optimize_events WHERE search = %s"
                            f"{where}", (optimizer_id, *fragments)).fetchone()[0]


def test_a_host_that_dies_has_its_experiments_failed_then_reassigned(postgres_store, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(WORKER)
    opt = Optimizer({"algorithm": "random",
                     "spec": {"maxCombo": COMBOS, "seed": 3, "retryAssignLimit": 1},
                     "parameters": {"x": {"type": "double", "min": -1.0, "max": 1.0}}},
                    verbose=0, store=postgres_store)
    hosts = {name: start_host(name, str(script), opt.id, postgres_store)
             for name in ("host-a", "host-b", "host-c")}
    try:
        deadline = time.monotonic() + 120
        # Until the run is well under way and both of host-a's workers hold an experiment
        # (on a loaded machine its workers may start after the others have done 12).
        while (count_events(postgres_store, opt.id, '"type":"end"') < 12
               or count_events(postgres_store, opt.id, '"type":"assign"', '"host":"host-a"') < 2):
            assert all(h.poll() is None for h in hosts.values()), \
                {n: h.communicate() for n, h in hosts.items() if h.poll() is not None}
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(namespace_init(hosts["host-a"]), signal.SIGKILL)  # the whole host, at once
        outputs = {name: host.communicate(timeout=300) for name, host in hosts.items()}
    finally:
        for host in hosts.values():
            if host.poll() is None:
                host.kill()
                host.communicate()
    for name in ("host-b", "host-c"):
        assert hosts[name].returncode == 0, outputs[name][1]
        assert "Traceback" not in outputs[name][1]

    final = Optimizer(opt.id, verbose=0, store=postgres_store)
    status = final.status()
    experiments = final.experiments()
    assert (status["status"], status["running"], status["completed"]) == (
        "completed", 0, COMBOS), status
    failed = [e for e in experiments if e["status"] == "failed"]
    assert failed, "host-a was killed while running experiments"
    assert {e["host"] for e in failed} == {"host-a"}
    assert status["assigned"] == COMBOS + len(failed)  # the budget, spent exactly
    first_tries = [(e["pid"], e["trial"]) for e in experiments if e["retry"] == 0]
    assert len(first_tries) == len(set(first_tries)) == COMBOS  # no set handed out twice
    for dead in failed:
        again = [e for e in experiments if (e["pid"], e["trial"]) == (dead["pid"], dead["trial"])
                 and e["count"] > dead["count"]]
        assert len(again) == 1 and again[0]["retry"] == 1, (dead, again)
        assert again[0]["status"] == "completed" and again[0]["host"] in {"host-b", "host-c"}
    for experiment in experiments:
        if experiment["status"] == "completed":
            assert experiment["score"] == experiment["parameters"]["x"] ** 2
