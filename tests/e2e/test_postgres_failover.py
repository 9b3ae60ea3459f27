"""A failover from a PostgreSQL primary to its standby during ``comet optimize -j 2``.

A real primary and a real streaming standby (``pg_basebackup -R``) on loopback
ports; the URL lists both hosts, as users of a replicated server write it. Once
the run is under way the primary stops, and later the standby is promoted. In
between, a worker that reaches the standby finds it read-only: that is an
outage to wait out (the standby is about to become the primary), not an error
that loses the result in hand. With no ``target_session_attrs`` in the URL,
writers ask libpq for the primary, so a standby listed first is passed over.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from comet_optimize import Optimizer

pytest.importorskip("psycopg", reason="psycopg is in the 'postgres' extra")

COUNT = 50
WORKER = """
import sys, time
from comet_optimize import Optimizer

opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    time.sleep(0.03)  # the work
    experiment.log_metric("loss", experiment.params["x"] ** 2)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One PostgreSQL server of the pair, run as the unprivileged server user."""

    def __init__(self, folder: str, name: str, run_as: list[str], binaries: str):
        self.data = os.path.join(folder, name)
        self.log = self.data + ".log"
        self.port = free_port()
        self.run_as, self.binaries = run_as, binaries
        self.socket_folder = folder

    def tool(self, name: str, *args: str) -> None:
        done = subprocess.run([*self.run_as, os.path.join(self.binaries, name), *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"

    def start(self) -> None:
        self.tool("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start", "-o",
                  f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                  f"-c unix_socket_directories={self.socket_folder} -c max_connections=100")

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def failed_transactions(self) -> int:
        """Transactions rolled back on this server (a write refused by a standby is one)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True,
                             target_session_attrs="any") as conn:
            return conn.execute("SELECT xact_rollback FROM pg_stat_database "
                                "WHERE datname = 'postgres'").fetchone()[0]


@pytest.fixture
def replicated_pair():
    binaries = os.environ.get("COMET_OPTIMIZE_TEST_PG_BIN")
    if not binaries:
        reason = "needs the PostgreSQL binaries that .ci/with-postgres finds"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    user = os.environ.get("COMET_OPTIMIZE_TEST_PG_USER", "")
    run_as = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
    folder = tempfile.mkdtemp(prefix="comet-pg-pair.")
    os.chmod(folder, 0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, user)
    primary = Server(folder, "primary", run_as, binaries)
    standby = Server(folder, "standby", run_as, binaries)
    try:
        primary.tool("initdb", "-N", "-D", primary.data, "-U", "postgres", "--auth=trust")
        primary.start()
        primary.tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U",
                     "postgres", "-D", standby.data, "-R")
        standby.start()
        yield primary, standby
    finally:
        for server in (primary, standby):
            subprocess.run([*run_as, os.path.join(binaries, "pg_ctl"), "-D", server.data,
                            "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def assigned_processes(url: str, optimizer_id: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(DISTINCT body::json ->> 'process') "
                            "FROM comet_optimize_events WHERE search = %s "
                            "AND body::json ->> 'type' = 'assign'", (optimizer_id,)).fetchone()[0]


@pytest.mark.parametrize("hosts", ["standby listed first", "target_session_attrs=any"])
def test_a_failover_to_the_standby_loses_no_result(replicated_pair, tmp_path, hosts):
    primary, standby = replicated_pair
    if hosts == "standby listed first":
        url = (f"postgresql://postgres@127.0.0.1:{standby.port},127.0.0.1:{primary.port}"
               f"/postgres")
    else:  # libpq takes the first host that answers: the standby, once the primary stops
        url = (f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
               f"/postgres?target_session_attrs=any")
    script = tmp_path / "train.py"
    script.write_text(WORKER)
    opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": COUNT, "seed": 5},
                     "parameters": {"x": {"type": "double", "min": -1.0, "max": 1.0}}},
                    verbose=0, store=url)
    run = subprocess.Popen(
        [sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "2", str(script), opt.id,
         "--store", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COMET_OPTIMIZE_PG_RETRY": "120"})
    try:
        deadline = time.monotonic() + 120
        while assigned_processes(primary.url(), opt.id) < 2:  # both workers connected
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        refused_before = standby.failed_transactions()
        primary.tool("pg_ctl", "-D", primary.data, "-m", "fast", "-w", "stop")
        if hosts == "target_session_attrs=any":
            # Promote only once a worker has come to the standby and been refused a write.
            while standby.failed_transactions() == refused_before:
                assert run.poll() is None and time.monotonic() < deadline, run.communicate()
                time.sleep(0.05)
        standby.tool("pg_ctl", "-D", standby.data, "-w", "promote")
        out, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, err
    assert "Traceback" not in err, err

    final = Optimizer(opt.id, verbose=0, store=url)
    status = final.status()
    assert (status["completed"], status["running"], status["failed"]) == (COUNT, 0, 0), status
    for experiment in final.experiments():
        assert experiment["score"] == experiment["parameters"]["x"] ** 2, experiment
