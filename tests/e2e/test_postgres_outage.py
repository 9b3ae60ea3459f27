"""A PostgreSQL restart in the middle of ``comet optimize -j 4``: no result is lost.

The server is the one ``.ci/with-postgres`` started; the test restarts it
with ``pg_ctl restart -m fast`` (every connection dropped, every transaction
in flight rolled back) once the run is well under way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from comet_optimize import Optimizer

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

WORKER = """
import sys, time
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    time.sleep(0.02)  # the work
    experiment.log_metric("loss", experiment.params["x"] ** 2)
    print("done", experiment.count, flush=True)
"""


def server_control() -> tuple[list[str], str]:
    """(the command prefix that runs pg_ctl as the server's owner, the data folder)."""
    data = os.environ.get("COMET_OPTIMIZE_TEST_PG_DATA")
    binary = os.environ.get("COMET_OPTIMIZE_TEST_PG_BIN")
    if not data or not binary:
        reason = "needs the server that .ci/with-postgres starts (to restart it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    user = os.environ.get("COMET_OPTIMIZE_TEST_PG_USER", "")
    prefix = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    return [*prefix, os.path.join(binary, "pg_ctl")], data


def ended(url: str, optimizer_id: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM comet_optimize_events WHERE search = %s "
                            "AND body LIKE '%%\"type\":\"end\"%%'", (optimizer_id,)).fetchone()[0]


def workers_in(url: str, optimizer_id: str) -> int:
    """Processes that have been assigned an experiment."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(DISTINCT body::json ->> 'process') "
                            "FROM comet_optimize_events WHERE search = %s "
                            "AND body::json ->> 'type' = 'assign'", (optimizer_id,)).fetchone()[0]


def test_a_server_restart_during_a_run_loses_no_result(postgres_store, tmp_path):
    pg_ctl, data = server_control()
    script = tmp_path / "train.py"
    script.write_text(WORKER)
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 120, "seed": 7},
                     "parameters": {"x": {"type": "double", "min": -1.0, "max": 1.0}}},
                    verbose=0, store=postgres_store)
    run = subprocess.Popen(
        [sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "4", str(script), opt.id,
         "--store", postgres_store],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COMET_OPTIMIZE_PG_RETRY": "120"})
    try:
        deadline = time.monotonic() + 120
        # Well under way, with all four workers in (on a loaded machine one may still be
        # starting, and a process whose first connection fails stops at once, by design).
        while ended(postgres_store, opt.id) < 20 or workers_in(postgres_store, opt.id) < 4:
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        restart = subprocess.run([*pg_ctl, "-D", data, "restart", "-m", "fast", "-w", "-t", "60",
                                  "-l", os.path.join(os.path.dirname(data), "server.log")],
                                 capture_output=True, text=True, timeout=120)
        assert restart.returncode == 0, restart.stderr
        out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, err
    assert "Traceback" not in err, err
    assert "lost the connection to the store" in err  # the workers noticed, and said so once
    for line in err.splitlines():
        assert "retrying" not in line or line.count("lost the connection") == 1

    final = Optimizer(opt.id, verbose=0, store=postgres_store)
    status = final.status()
    experiments = final.experiments()
    assert status["status"] == "completed", status
    assert (status["completed"], status["running"], status["failed"]) == (120, 0, 0), status
    for experiment in experiments:
        assert experiment["status"] == "completed", experiment
        assert experiment["score"] == experiment["parameters"]["x"] ** 2, experiment
    assert sorted(e["count"] for e in experiments) == list(range(1, 121))
    assert len({e["pid"] for e in experiments}) == 120  # no parameter set handed out twice
